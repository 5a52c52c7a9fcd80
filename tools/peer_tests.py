"""Run scikit-learn's and dask-ml's own test files against scalecluster, and count.

A user switching imports from scikit-learn or dask-ml to scalecluster runs the peers'
expectations on our code; this does the same with the peers' own tests.

Method
------
1. Copy, at run time, the peers' test files into a temporary folder: scikit-learn's
   ``cluster/tests/test_k_means.py``, ``cluster/tests/test_dbscan.py``,
   ``cluster/tests/test_hierarchical.py`` and
   ``metrics/cluster/tests/test_unsupervised.py`` from the *installed* ``sklearn``
   package (located with ``importlib``), and dask-ml's ``tests/test_kmeans.py`` with
   the ``conftest.py`` beside it (its fixtures): from the installed dask-ml if its
   distribution lists the file (its wheel and sdist do not so far), else from a dask-ml
   checkout given with ``--dask-ml-tests``.  None of the peers' code is kept here.
2. Swap the imports of the code under test.  In each ``from M import ...`` where ``M``
   is a public module of the peer (``sklearn.cluster``, ``sklearn.metrics``,
   ``sklearn.metrics.cluster``; ``dask_ml.cluster``), each name of ``SWAPPED`` that
   scalecluster exports (from ``scalecluster.cluster``, ``scalecluster.metrics`` or
   ``scalecluster``, or a subpackage of that name such as
   ``scalecluster.cluster.dbscan``) is imported from scalecluster instead, under the
   same local name; qualified uses such as ``dask_ml.cluster.KMeans(...)`` are
   re-pointed too.  A name scalecluster lacks stays the peer's, and the report says so.
3. Everything else stays the peer's, because it is the yardstick and not the code
   under test: private helpers (``sklearn.cluster._kmeans``, ``_k_means_common``,
   ``_unsupervised``, ``_agglomerative``, ``_hierarchical_fast``; ``dask_ml.cluster.k_means``
   is a module, never swapped), the peer's features scalecluster deliberately lacks
   (``FeatureAgglomeration``, ``ward_tree``: not in ``SWAPPED``; a test that passes
   ``connectivity=`` to our ``AgglomerativeClustering`` fails, and is counted so), test
   utilities, data generators, and the oracles a test compares with (in dask-ml's file
   ``from sklearn.cluster import KMeans as SKKMeans`` stays scikit-learn's: only
   ``dask_ml.cluster`` is under test there).  A test that uses only those checks the
   peer itself; the report counts the passes that never reach a swapped name.
4. Run pytest on each file in its own subprocess, in a folder with an empty
   ``pytest.ini`` (no project's settings apply), with ``-p no:cacheprovider`` and a
   JUnit XML report; scikit-learn's files with scikit-learn's ``conftest`` loaded as a
   plugin (its ``global_random_seed`` and ``global_dtype`` fixtures) and its float32
   cases on (``SKLEARN_RUN_FLOAT32_TESTS=1`` unless set otherwise).  Print per file
   passed / failed / errors / skipped / xfailed and the failing test ids grouped by
   cause: the exception type and the first line of its message, numbers as ``N``.

Usage, from the repository root::

    python tools/peer_tests.py [--dask-ml-tests PATH] [-k EXPR] [--json FILE] [--keep DIR]
"""

from __future__ import annotations

import argparse
import ast
import datetime
import importlib
import importlib.metadata
import importlib.util
import inspect
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from pathlib import Path

SWAPPED = ("KMeans", "MiniBatchKMeans", "DBSCAN", "AgglomerativeClustering", "k_means", "kmeans_plusplus", "dbscan",
           "silhouette_score", "silhouette_samples", "davies_bouldin_score", "calinski_harabasz_score")
OURS = ("scalecluster.cluster", "scalecluster.metrics", "scalecluster")
SKLEARN_PUBLIC = ("sklearn.cluster", "sklearn.metrics", "sklearn.metrics.cluster")
SKLEARN_FILES = ("cluster/tests/test_k_means.py", "cluster/tests/test_dbscan.py",
                 "cluster/tests/test_hierarchical.py", "metrics/cluster/tests/test_unsupervised.py")
DASK_ML_FILE = "tests/test_kmeans.py"


def our_home(name: str) -> str | None:
    """The public scalecluster module exporting the class or function ``name``, or None."""
    for module in OURS:
        found = getattr(importlib.import_module(module), name, None)
        if inspect.ismodule(found):  # a subpackage of that name: the function may live in it
            module, found = found.__name__, getattr(found, name, None)
        if callable(found) and not inspect.ismodule(found):
            return module
    return None


def is_under_test(module: str, name: str) -> bool:
    """``name`` is one of SWAPPED and, in the peer's ``module``, a class or function (not a submodule)."""
    found = getattr(importlib.import_module(module), name, None)
    return name in SWAPPED and found is not None and not inspect.ismodule(found)


def spell(alias: ast.alias) -> str:
    return alias.name + (f" as {alias.asname}" if alias.asname else "")


def rewrite(source: str, public: tuple[str, ...]) -> tuple[str, dict, list, set]:
    """Swap the imports: the new source, {name: our module}, names kept the peer's, local names now ours."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    swapped, kept, local, edits, qualified = {}, set(), set(), [], set()
    for node in ast.walk(tree):  # nested imports too, indented as they were
        if not (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in public):
            continue
        stay, move = [], []
        for alias in node.names:
            home = our_home(alias.name) if is_under_test(node.module, alias.name) else None
            if home is not None:
                swapped[alias.name] = home
                local.add(alias.asname or alias.name)
                move.append((home, alias))
                continue
            stay.append(alias)
            if is_under_test(node.module, alias.name):
                kept.add(alias.name)
        if move:
            pad = " " * node.col_offset
            new = [f"{pad}from {node.module} import {', '.join(map(spell, stay))}\n"] if stay else []
            new += [f"{pad}from {home} import {spell(a)}  # was {node.module}\n" for home, a in move]
            edits.append((node.lineno, node.end_lineno, new))
    for start, end, new in sorted(edits, reverse=True):
        lines[start - 1:end] = new
    text = "".join(lines)
    for module in public:  # qualified uses: dask_ml.cluster.KMeans(...)
        for name in SWAPPED:
            pattern = rf"(?<![\w.]){re.escape(module)}\.{name}\b"
            if not (re.search(pattern, text) and is_under_test(module, name)):
                continue
            home = our_home(name)
            if home is None:
                kept.add(name)
                continue
            text, swapped[name] = re.sub(pattern, f"{home}.{name}", text), home
            qualified.add(home)
    if qualified:  # one import line, before the file's first import
        first = next(n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))
                     and getattr(n, "module", None) != "__future__")
        out = text.splitlines(keepends=True)
        out.insert(first.lineno - 1, f"import {', '.join(sorted(qualified))}  # added by peer_tests\n")
        text = "".join(out)
        local.add("scalecluster")
    return text, swapped, sorted(kept), local


def touching(source: str, local: set) -> set:
    """The tests (``test_x``, ``Class::test_x``) that reach a name bound to scalecluster.

    A test reaches one if its body, decorators or arguments (fixtures) name it, directly
    or through a module-level function or fixture of the file that does.
    """
    tree = ast.parse(source)

    def refs(node: ast.AST) -> set:  # the names it reads, and its arguments (fixtures)
        walk = list(ast.walk(node))
        return ({n.id for n in walk if isinstance(n, ast.Name)}
                | {a.arg for n in walk if isinstance(n, ast.arguments) for a in n.args + n.kwonlyargs})

    funcs = {n.name: refs(n) for n in tree.body if isinstance(n, ast.FunctionDef)}
    reach, grown = set(), set(local)
    while grown != reach:
        reach, grown = grown, grown | {name for name, r in funcs.items() if r & grown}
    hits = {name for name, r in funcs.items() if r & reach and name.startswith("test")}
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        around = {i for d in cls.decorator_list for i in refs(d)}
        hits |= {f"{cls.name}::{m.name}" for m in cls.body if isinstance(m, ast.FunctionDef)
                 and m.name.startswith("test") and (refs(m) | around) & reach}
    return hits


def cause(element: ET.Element) -> str:
    """A short cause: the exception type and the first line of its message, numbers as N."""
    message = (element.get("message") or element.text or "").strip()
    message = re.sub(r'^failed on (setup|teardown) with "(.*)"?$', r"\2", message, flags=re.DOTALL)
    lines = [line.strip() for line in message.splitlines() if line.strip()] or ["(no message)"]
    joined = lines[0][-1:] == ":" and len(lines) > 1  # "AssertionError:" alone, the text below it
    first, rest = (f"{lines[0]} {lines[1]}", lines[2:]) if joined else (lines[0], lines[1:])
    if "Not equal to tolerance" in first and rest and not rest[0].startswith("Mismatch"):
        first += f" — {rest[0]}"  # numpy's err_msg: what was compared
    if first.endswith("did not match."):  # the message given instead tells more than the regex
        first += " " + next((line for line in lines if line.startswith("Actual message")), "")
    where = next((line for line in lines if line.startswith("+  where")), "")
    if first.startswith("assert") and re.search(r"\.\w+$", where):  # assert 2 == 1 (….n_iter_)
        first += f" (….{where.rsplit('.', 1)[1]})"
    first = re.sub(r"^(?:\w+\.)+(\w+:)", r"\1", first)  # pkg.mod.SomeError: -> SomeError:
    first = re.sub(r"0x[0-9a-fA-F]+", "0x…", first)
    return re.sub(r"(?<!\w)[-+]?\d+(\.\d+)?(e[-+]?\d+)?", "N", first)[:160]


def run_file(name: str, source: str, public: tuple, conftest: str | None, plugins: list, extra: list,
             workdir: Path) -> dict:
    """Rewrite one file, run pytest on it in a subprocess, and read its JUnit report."""
    text, swapped, kept, local = rewrite(source, public)
    folder = workdir / Path(name).stem
    folder.mkdir(parents=True, exist_ok=True)
    (folder / Path(name).name).write_text(text)
    if conftest is not None:
        (folder / "conftest.py").write_text(conftest)
    (folder / "pytest.ini").write_text("[pytest]\n")
    xml = folder / "junit.xml"
    cmd = [sys.executable, "-m", "pytest", Path(name).name, "-q", "-p", "no:cacheprovider",
           "-c", "pytest.ini", "--rootdir", ".", f"--junitxml={xml.name}", *plugins, *extra]
    if importlib.util.find_spec("pytest_timeout"):  # one hanging test must not hang the run
        cmd.append("--timeout=900")
    env = {**os.environ, "SKLEARN_RUN_FLOAT32_TESTS": os.environ.get("SKLEARN_RUN_FLOAT32_TESTS", "1")}
    proc = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True, check=False)
    (folder / "pytest.log").write_text(proc.stdout + proc.stderr)
    counts = Counter(dict.fromkeys(("passed", "failed", "errors", "skipped", "xfailed"), 0))
    groups, reaching, blind_passes = defaultdict(list), touching(text, local), 0
    for case in ET.parse(xml).getroot().iter("testcase") if xml.exists() else ():
        cls = case.get("classname", "").split(".")[-1]
        test = f"{cls}::{case.get('name')}" if cls[:1].isupper() else case.get("name")
        bad = next((e for e in (case.find("failure"), case.find("error")) if e is not None), None)
        skip = case.find("skipped")
        if bad is not None:
            counts["failed" if bad.tag == "failure" else "errors"] += 1
            groups[("error: " if bad.tag == "error" else "") + cause(bad)].append(test)
        elif skip is not None:
            counts["xfailed" if skip.get("type") == "pytest.xfail" else "skipped"] += 1
        else:
            counts["passed"] += 1
            blind_passes += test.split("[")[0] not in reaching
    return {"swapped": swapped, "kept_from_peer": kept, "counts": dict(counts),
            "passed_without_scalecluster": blind_passes, "pytest_exit": proc.returncode,
            "failures": dict(sorted(groups.items(), key=lambda kv: -len(kv[1]))),
            "log_tail": "" if xml.exists() else (proc.stdout + proc.stderr)[-2000:]}


def version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def dask_ml_sources(path: str | None) -> tuple[str | None, str | None, str]:
    """dask-ml's test file, its conftest, and where they came from (or why they did not)."""
    if path is not None:  # a checkout: its root, its tests/ folder, or the file
        p = Path(path)
        test = p if p.is_file() else next((c for c in (p / DASK_ML_FILE, p / Path(DASK_ML_FILE).name)
                                           if c.is_file()), None)
        if test is None:
            sys.exit(f"--dask-ml-tests: no {DASK_ML_FILE} under {path}")
        origin = "a dask-ml checkout given with --dask-ml-tests"
    elif version("dask-ml") is None:
        return None, None, "not run: dask-ml is not installed"
    else:
        shipped = [f for f in importlib.metadata.files("dask-ml") or () if f.name == Path(DASK_ML_FILE).name]
        if not shipped:
            return None, None, ("not run: the installed dask-ml package ships no tests;"
                                " pass --dask-ml-tests PATH (a dask-ml checkout)")
        test, origin = Path(shipped[0].locate()), "the installed dask-ml package"
    conf = test.parent / "conftest.py"
    return test.read_text(), conf.read_text() if conf.is_file() else None, f"run, from {origin}"


def source_state() -> str:
    """The commit of the checkout scalecluster is imported from, and whether its code has local edits."""
    root = str(Path(importlib.util.find_spec("scalecluster").origin).parent.parent)

    def git(*args: str) -> str:  # read-only queries
        return subprocess.run(["git", "-C", root, *args], capture_output=True, text=True, check=False).stdout.strip()

    try:
        head, edits = git("rev-parse", "--short", "HEAD"), git("status", "--porcelain", "--", "scalecluster")
    except OSError:  # no git on this machine
        head = edits = ""
    return (head + (" + uncommitted changes in scalecluster/" if edits else "")) if head else "not a git checkout"


def report(result: dict) -> None:
    v = result["versions"]
    print(f"\nscalecluster {v['scalecluster']} ({result['scalecluster_source']}) against scikit-learn"
          f" {v['scikit-learn']}, dask-ml {v['dask-ml'] or '-'}; Python {result['python']}, {result['date']}")
    print(f"dask-ml tests: {result['dask_ml_tests']}")
    for name, r in result["files"].items():
        print(f"\n== {name}: " + ", ".join(f"{n} {k}" for k, n in r["counts"].items())
              + f" ({r['passed_without_scalecluster']} of the passes never reach a swapped name)")
        ours = ", ".join(f"{n} ({m})" for n, m in sorted(r["swapped"].items()))
        print(f"   from scalecluster: {ours or '-'}")
        if r["kept_from_peer"]:
            print(f"   kept the peer's (scalecluster has none): {', '.join(r['kept_from_peer'])}")
        if r["log_tail"]:
            print(f"   pytest wrote no report (exit {r['pytest_exit']}):\n{r['log_tail']}")
        for why, ids in r["failures"].items():
            shown = ", ".join(ids[:3]) + (f", … (+{len(ids) - 3})" if len(ids) > 3 else "")
            print(f"   [{len(ids)}] {why}\n        {shown}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dask-ml-tests", metavar="PATH", help="a dask-ml checkout (its packages ship no tests)")
    ap.add_argument("-k", metavar="EXPR", help="passed on to pytest's -k")
    ap.add_argument("--json", metavar="FILE", help="also save the result as JSON")
    ap.add_argument("--keep", metavar="DIR", help="keep the rewritten files and pytest's logs in DIR")
    args = ap.parse_args(argv)
    extra = ["-k", args.k] if args.k else []
    sklearn_root = Path(importlib.util.find_spec("sklearn").submodule_search_locations[0])
    sklearn_conftest = ["-p", "sklearn.conftest"]  # its fixtures: global_random_seed, global_dtype
    jobs = [(f"sklearn/{f}", (sklearn_root / f).read_text(), SKLEARN_PUBLIC, None, sklearn_conftest)
            for f in SKLEARN_FILES]
    dask_ml_test, dask_ml_conftest, dask_ml_state = dask_ml_sources(args.dask_ml_tests)
    if dask_ml_test is not None:
        jobs.append((f"dask_ml/{DASK_ML_FILE}", dask_ml_test, ("dask_ml.cluster",), dask_ml_conftest, []))
    result = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "python": platform.python_version(), "machine": f"{platform.machine()} {platform.system()}",
              "scalecluster_source": source_state(),
              "versions": {d: version(d) for d in ("scalecluster", "scikit-learn", "dask-ml", "numpy", "dask")},
              "dask_ml_tests": dask_ml_state, "files": {}}
    workdir = Path(args.keep or tempfile.mkdtemp(prefix="peer_tests_"))
    try:
        for name, source, public, conftest, plugins in jobs:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            result["files"][name] = run_file(name, source, public, conftest, plugins, extra, workdir)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    report(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 1 if any(r["log_tail"] for r in result["files"].values()) else 0  # 1: a file did not run at all


if __name__ == "__main__":
    sys.exit(main())
