"""Applying a saved segmentation to new transactions: the published segment numbers and names, next month.

:func:`apply_model` reads new transactions exactly as the training run read
its own (the model's columns, duplicates and date settings, the same
cleaning), computes recency, frequency and spend with the model's
reference-date rule, and gives each customer the nearest published segment
(:meth:`~scalecluster.jobs.model.SegmentModel.predict`).  On the training data
it reproduces the training labels exactly.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

import pandas as pd

from .. import __version__
from ._columns import library_errors
from ._load import describe_input, is_dask_frame
from ._run import LOG_NAME, Steps, check_out_folder, final_paths, job_client, job_folder
from ._transactions import Reading, Roles, read_customers
from .segment import (
    check_reference,
    date_text,
    describe_reading,
    input_words,
    profile_segments,
    quality_table,
    read_input,
    run_on,
    write_labels,
    write_set_aside,
)


@dataclass
class ApplyResult:
    """What :func:`apply_model` found and wrote."""

    labels: Any  #: published segment number per customer (pandas Series; a Dask Series on Dask)
    customers: Any  #: per customer: recency, frequency, monetary, segment, segment_name, outlier
    profile: pd.DataFrame  #: per segment of the model: name, action, customers, share now and at training, medians
    names: dict[int, str]
    model: Any  #: the :class:`~scalecluster.jobs.model.SegmentModel` applied
    n_customers: int  #: customers labelled
    quality: dict[str, Any] = field(default_factory=dict)
    set_aside: pd.DataFrame | None = None
    overall: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    currency: str | None = None

    def summary(self) -> str:
        head = (f"{self.n_customers:,} customers given the model's {len(self.names)} segments "
                f"(model {self.model.id[:8]}, reference date {self.info.get('reference_date', '-')}).")
        lines = [head]
        for segment, row in self.profile.iterrows():
            lines.append(f"  {segment}: {row['name']:<12} {int(row['customers']):>9,} customers ({row['share']:.0%}; "
                         f"{row['share_then']:.0%} at training)")
        return "\n".join(lines)


def apply_model(
    model: Any,
    data: Any,
    *,
    out: str | os.PathLike | None = None,
    overwrite: bool = False,
    client: Any = None,
    cluster: Any = None,
    reference_date: Any = None,
    customer: str | None = None,
    timestamp: str | None = None,
    amount: str | None = None,
    order: str | None = None,
    keep_duplicates: bool | None = None,
    dayfirst: bool | None = None,
    date_format: str | None = None,
    plots: bool = True,
    random_state: int = 0,
    verbose: bool = True,
    stream: TextIO | None = None,
) -> ApplyResult:
    """Give the customers of new transactions the published segments of a saved model.

    Parameters
    ----------
    model : SegmentModel, str or path-like
        A model (:func:`~scalecluster.jobs.load_model`), or the folder of one:
        a ``segment`` run's ``--out`` folder or its ``model/``.
    data : str, path-like, pandas.DataFrame or dask.dataframe.DataFrame
        New transactions, as :func:`~scalecluster.jobs.segment` reads them.
    out : str or path-like, default=None
        Output folder: ``labels/`` (Parquet: customer, segment, segment_name,
        recency, frequency, monetary, outlier), ``profile.csv``, ``quality.csv``,
        ``set_aside.csv`` (when some are), ``summary.json``, ``report.md`` /
        ``report.html``, a plot and ``run.log``; written atomically.
    overwrite : bool, default=False
    client, cluster
        As for :func:`~scalecluster.jobs.segment`.
    reference_date : date, default=None
        "Today" for recency.  By default the model's rule: one day after the
        last valid transaction *of the new data* (the usual case), or the
        training's date when it was given.
    customer, timestamp, amount, order : str, default=None
        The new data's columns where their names differ from the model's.
    keep_duplicates, dayfirst, date_format : default=None
        How to read the new data where it differs from the training data's
        (by default, the model's settings).
    plots : bool, default=True
    random_state : int, default=0
        For the sample of the plot.
    verbose : bool, default=True
    stream : text stream, default=None

    Returns
    -------
    ApplyResult

    Raises
    ------
    FileNotFoundError, ModelError (a ValueError)
        No model there, or one that cannot be used (named, one line).
    KeyError, TypeError, ValueError
        As :func:`~scalecluster.jobs.segment` (columns, values, no customer left).
    """
    from .model import load_segment_model

    started = time.time()
    steps = Steps("apply", verbose=verbose, stream=stream)
    model = load_segment_model(model, use="apply_model labels customers (score flows with an anomaly model's "
                               "score(), or apply_anomaly_model)")
    roles, reading = model_reading(model, reference_date, customer, timestamp, amount, order, keep_duplicates,
                                   dayfirst, date_format)
    check_out_folder(out, overwrite=overwrite)
    info = job_info("apply", model, data, roles, reading, started)
    written: dict[str, str] = {}
    distributed = client is not None or cluster is not None
    with job_folder(out, overwrite=overwrite, uses_distributed=distributed) as folder, \
            job_client(client, cluster, steps, log=folder and os.path.join(folder, LOG_NAME)) as active:
        lazy = active is not None or is_dask_frame(data)
        info["run_on"] = run_on(active, lazy)
        with library_errors("customers"):
            result = assign_customers(model, lambda: read_input(data, roles, reading, lazy), lazy, active, steps,
                                      roles, reading, info, random_state)
        info["seconds"] = round(time.time() - started, 1)
        if folder is not None:
            with steps.step("Writing outputs") as stage:
                written = _write(result, folder, plots, lazy, steps)
                stage.count(len(written) + 1, "files and folders")
    result.paths = final_paths(written, folder, out)
    return steps.finish(result)


def model_reading(model: Any, reference_date: Any, customer: str | None, timestamp: str | None, amount: str | None,
                  order: str | None, keep_duplicates: bool | None, dayfirst: bool | None,
                  date_format: str | None) -> tuple[Roles, Reading]:
    """The columns and reading settings for new data: the model's, where not given."""
    columns = model.columns
    roles = Roles(customer or columns["customer"], timestamp or columns["timestamp"], amount or columns["amount"],
                  order if order is not None else columns.get("order"))
    saved = model.reading
    reference = check_reference(reference_date)
    if reference is None and model.reference.get("rule") == "given":
        reference = check_reference(model.reference.get("date"))
    reading = Reading(
        keep_duplicates=bool(saved.get("keep_duplicates", False)) if keep_duplicates is None else bool(keep_duplicates),
        dayfirst=bool(saved.get("dayfirst", False)) if dayfirst is None else bool(dayfirst),
        date_format=date_format if date_format is not None else saved.get("date_format"),
        reference=reference,
    )
    return roles, reading


def job_info(job: str, model: Any, data: Any, roles: Roles, reading: Reading, started: float) -> dict[str, Any]:
    return {
        "job": job, "input": describe_input(data), "version": __version__,
        "started": time.strftime("%Y-%m-%d %H:%M", time.localtime(started)), "columns": roles.as_dict(),
        "model": {"path": model.path, "id": model.id, "created": model.created, "k": model.k,
                  "scalecluster": model.version},
        "settings": {"keep_duplicates": reading.keep_duplicates, "dayfirst": reading.dayfirst,
                     "date_format": reading.date_format, "currency": model.currency},
    }


def assign_customers(model: Any, read: Any, lazy: bool, client: Any, steps: Steps, roles: Roles, reading: Reading,
                     info: dict[str, Any], random_state: int) -> ApplyResult:
    """Read, clean, RFM, label with the model, profile: the work of ``apply`` (and of ``drift``)."""
    with steps.step("Reading, RFM") as stage:
        table = read_customers(read(), lazy=lazy, client=client, steps=steps, roles=roles, reading=reading,
                               what=input_words(info), stage=stage)
    describe_reading(table, info)
    with steps.step("Assigning") as stage:
        labelled = model.label(table.features)
        if lazy:
            (labelled,) = steps.persist(client, labelled)
        stage.describe(f"{int(table.quality['segmented']):,} customers, {model.k} segments")
    with steps.step("Profiling") as stage:
        profile, overall, _ = profile_segments(labelled, lazy, model.k, client, steps, random_state)
        profile.insert(0, "name", [model.names[s] for s in profile.index])
        profile.insert(1, "action", [model.actions[s] for s in profile.index])
        profile.insert(4, "share_then", model.segments["share"].reindex(profile.index).astype("float64").to_numpy())
        stage.describe(f"{int(table.quality['segmented']):,} customers")
    notes = list(table.notes)
    if model.reference.get("rule") == "given" and info.get("reference_rule") == "given" and reading.reference == \
            check_reference(model.reference.get("date")):
        notes.append(f"The reference date is the training run's ({date_text(reading.reference)}), as that run "
                     "was given one; pass reference_date= for new data.")
    return ApplyResult(labels=labelled["segment"], customers=labelled, profile=profile, names=model.names, model=model,
                       n_customers=int(table.quality["segmented"]), quality=dict(table.quality),
                       set_aside=table.set_aside, overall=overall, notes=notes, info=info, currency=model.currency)


def _write(result: ApplyResult, folder: str, plots: bool, lazy: bool, steps: Steps) -> dict[str, str]:
    from . import report

    written = {"labels": write_labels(result.customers.drop(columns="segment_name"), result.names, folder, lazy)}
    written["profile"] = os.path.join(folder, "profile.csv")
    result.profile.to_csv(written["profile"])
    written["quality"] = os.path.join(folder, "quality.csv")
    quality_table(result.quality, result.info).to_csv(written["quality"], index=False)
    written.update(write_set_aside(result.set_aside, folder))
    written.update(report.apply_report(result, folder, plots=plots, say=steps.say))
    written["summary"] = os.path.join(folder, "summary.json")
    summary = {"model_id": result.model.id, "n_customers": result.n_customers,
               "segments": {str(s): {"name": row["name"], "customers": int(row["customers"]),
                                     "share": float(row["share"]), "share_then": float(row["share_then"])}
                            for s, row in result.profile.iterrows()},
               "quality": {k: (date_text(v) if k in ("first", "last") else int(v)) for k, v in result.quality.items()},
               "notes": result.notes, "run": result.info}
    with open(written["summary"], "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2, default=str)
    return written

