"""What a job's input is, found without reading its data (and without pandas): its files, their format,
their columns.  The command line checks the columns a job will ask for here, before it imports
scikit-learn, pandas or Dask, so a misspelt column is answered at once; the jobs resolve their input
with :func:`resolve` too.
"""

from __future__ import annotations

import csv
import difflib
import glob
import gzip
import os

from ._files import folder_files

_PARQUET = (".parquet", ".parq", ".pq")
_CSV = (".csv", ".csv.gz")
_TSV = (".tsv", ".tsv.gz")
#: Field separator of each text format, when the file does not say otherwise (see :func:`separator`).
SEPARATORS = {"csv": ",", "tsv": "\t"}
#: Separators :func:`separator` recognises, in order of preference when the evidence ties.
CANDIDATES = (",", "\t", ";", "|")
_SNIFF_LINES = 20


class MissingColumn(KeyError, ValueError):
    """A column that is not in the input (both a KeyError and a ValueError)."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0])


def missing_message(column: str, role: str, available: list[str], what: str = "the input") -> str:
    """``Column 'x' (role=) not found in 'file'; available columns: [...]. Did you mean 'y'? ...``."""
    by_lower = {c.lower(): c for c in available}
    close = difflib.get_close_matches(str(column).lower(), list(by_lower), n=1, cutoff=0.6)
    hint = f" Did you mean {by_lower[close[0]]!r}?" if close else ""
    shown = available if len(available) <= 30 else [*available[:30], f"... ({len(available) - 30} more)"]
    return (f"Column {column!r} ({role}=) not found in {what}; available columns: {shown}.{hint} "
            f"Name the column with {role}=.")


def check_columns(path: str, roles: dict[str, str | list[str]]) -> None:
    """Each ``parameter: column`` (or list of columns) is in the header or schema of the first file of ``path``.

    Answers only what it can tell without reading data: an input it cannot
    read this way (no pyarrow, an empty file, a path that does not resolve) is
    left to the job, which says what is wrong.

    Raises
    ------
    MissingColumn
        Naming the column, the parameter, the closest and the available columns.
    """
    try:
        files, kind = resolve(path)
        available = _columns(files[0], kind)
    except (OSError, ValueError, ImportError):
        return
    if available is None:
        return
    for role, wanted in roles.items():
        for column in [wanted] if isinstance(wanted, str) else wanted:
            if column not in available:
                raise MissingColumn(missing_message(column, role, available, repr(files[0])))


def _columns(file: str, kind: str) -> list[str] | None:
    if kind == "parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(file).names)
    opener = gzip.open if file.lower().endswith(".gz") else open
    with opener(file, "rt", encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle, delimiter=separator(file, kind)), None)
    return list(header) if header else None


def separator(file: str, kind: str) -> str:
    """The field separator of a CSV or TSV file: the one of ``,``, tab, ``;``, ``|`` that splits the header
    and the first lines into the same number of fields (more than one), the most fields winning; else the
    extension's (comma for .csv, tab for .tsv).  A ``.tsv`` written with commas, or a European
    ``.csv`` with semicolons, is read as it is written."""
    default = SEPARATORS.get(kind, ",")
    opener = gzip.open if file.lower().endswith(".gz") else open
    try:
        with opener(file, "rt", encoding="utf-8", newline="", errors="replace") as handle:
            lines = [line for _, line in zip(range(_SNIFF_LINES), handle)]
    except OSError:
        return default
    lines = [line for line in lines if line.strip()]
    if not lines:
        return default
    best, best_fields = default, 1
    for candidate in (default, *[c for c in CANDIDATES if c != default]):
        counts = {len(row) for row in csv.reader(lines, delimiter=candidate)}
        if len(counts) == 1 and (fields := counts.pop()) > best_fields:
            best, best_fields = candidate, fields
    return best


def resolve(path: str) -> tuple[list[str], str]:
    """The files a path names, and their format ("parquet", "csv" or "tsv")."""
    if os.path.isfile(path):  # before globbing: a file named "weird[1].parquet" is that file
        files = [path]
    elif os.path.isdir(path):
        files = [f for f in folder_files(path) if f.lower().endswith(_PARQUET + _CSV + _TSV)]
        if not files:
            raise ValueError(f"The folder {path!r} holds no Parquet, CSV or TSV files.")
    elif glob.has_magic(path):
        files = sorted(f for f in glob.glob(path, recursive=True) if os.path.isfile(f))
        if not files:
            raise FileNotFoundError(f"No files match {path!r}.")
    else:
        raise FileNotFoundError(f"No such file or folder: {path!r}.")
    kinds = {_kind(f) for f in files}
    if kinds == {"?"} and len(files) == 1:
        kinds = {_sniff(files[0])}
    if "?" in kinds or len(kinds) > 1:
        raise ValueError(
            f"{path!r}: expected Parquet (.parquet), CSV (.csv) or TSV (.tsv) files of one kind, "
            "not a mix or other files."
        )
    return files, kinds.pop()


def _kind(file: str) -> str:
    name = file.lower()
    if name.endswith(_PARQUET):
        return "parquet"
    if name.endswith(_CSV):
        return "csv"
    return "tsv" if name.endswith(_TSV) else "?"


def _sniff(path: str) -> str:
    """A file without a known extension: Parquet if it starts with the Parquet magic, else '?'."""
    with open(path, "rb") as handle:
        return "parquet" if handle.read(4) == b"PAR1" else "?"
