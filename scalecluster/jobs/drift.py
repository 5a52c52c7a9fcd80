"""Drift: how new transactions compare with the data a segmentation was fitted on.

:func:`drift` labels the new customers with the model (as ``apply`` does) and
reports, per published segment:

* its **share** of customers then (at training) and now, and the change;
* its **medians** then and now (recency, frequency, spend), and each median's
  **shift** in the model's scaled units (log1p, then divided by the training
  standard deviation: 0.25 is a quarter of the spread of all customers);
* of the **returning customers** (in both the training data and the new data)
  who were in the segment then, the share now in another segment;

and, per feature, the **population-stability index** (PSI) of the new
customers against the training customers over the training deciles:
``sum((now - then) * ln(now / then))``; below 0.1 little change, 0.1 to 0.25
a moderate one, above 0.25 a major one (the usual reading).

A segment is **flagged** when its share moved by ``share_threshold`` or more
(absolute: 0.05 is five percentage points) or one of its medians shifted by
``shift_threshold`` or more.  A dataset compared with itself shows no drift:
the same labels, shares, medians and bins, PSI 0.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np
import pandas as pd

from ._columns import library_errors
from ._load import is_dask_frame
from ._run import LOG_NAME, Steps, check_out_folder, final_paths, job_client, job_folder
from .apply import ApplyResult, assign_customers, job_info, model_reading
from .segment import RFM, date_text, quality_table, read_input, run_on

#: PSI levels: (lower bound, word), checked from the top.
PSI_LEVELS = ((0.25, "major"), (0.1, "moderate"), (0.0, "little"))


@dataclass
class DriftResult:
    """What :func:`drift` found and wrote."""

    segments: pd.DataFrame  #: per segment: shares, medians and shifts then and now, returning and changed, flag
    psi: pd.DataFrame  #: per feature: PSI and its level
    transitions: pd.DataFrame  #: returning customers: segment then (rows) x segment now (columns)
    returning: int  #: customers in both the training and the new data
    changed: int  #: of them, now in another segment
    flagged: list[int]  #: segments that moved beyond a threshold
    assignment: ApplyResult  #: the new customers' segments (as ``apply`` gives them)
    share_threshold: float = 0.05
    shift_threshold: float = 0.25
    notes: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def drifted(self) -> bool:
        """Whether any segment was flagged or any feature's PSI reached 0.1."""
        return bool(self.flagged) or bool((self.psi["psi"] >= 0.1).any())

    def summary(self) -> str:
        if not self.drifted:
            head = "No drift: no segment moved beyond the thresholds and every feature's PSI is below 0.1."
        else:
            moved = ", ".join(f"{s} ({self.segments.loc[s, 'name']})" for s in self.flagged) or "none"
            head = f"Drift: segments that moved: {moved}."
        lines = [head]
        for segment, row in self.segments.iterrows():
            lines.append(f"  {segment}: {row['name']:<12} share {row['share_then']:.1%} -> {row['share_now']:.1%}"
                         + (f", {row['changed_share']:.0%} of {int(row['returning']):,} returning customers changed "
                            "segment" if row["returning"] else "")
                         + ("  [moved]" if row["flagged"] else ""))
        lines.append("  PSI: " + ", ".join(f"{r['feature']} {r['psi']:.3f} ({r['level']})" for _, r in self.psi.iterrows()))
        return "\n".join(lines)


def drift(
    model: Any,
    data: Any,
    *,
    out: str | os.PathLike | None = None,
    overwrite: bool = False,
    share_threshold: float = 0.05,
    shift_threshold: float = 0.25,
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
) -> DriftResult:
    """Compare new transactions with a saved segmentation's training data (see the module docstring).

    Parameters
    ----------
    model : SegmentModel, str or path-like
        A model, or the folder of one (a ``segment`` run's ``--out`` or its ``model/``).
    data : str, path-like, pandas.DataFrame or dask.dataframe.DataFrame
        New transactions.
    out : str or path-like, default=None
        Output folder: ``drift.csv`` (per segment), ``psi.csv``,
        ``transitions.csv``, ``quality.csv``, ``summary.json``, ``drift.png``,
        ``report.md`` / ``report.html`` and ``run.log``; written atomically.
    share_threshold : float, default=0.05
        Flag a segment whose share of customers moved by this much (absolute).
    shift_threshold : float, default=0.25
        Flag a segment one of whose medians moved by this much (scaled units).
    Other parameters
        As :func:`~scalecluster.jobs.apply_model`.

    Returns
    -------
    DriftResult
    """
    from .model import load_segment_model

    for name, value in (("share_threshold", share_threshold), ("shift_threshold", shift_threshold)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"{name} must be a positive number; got {value!r}.")
    started = time.time()
    steps = Steps("drift", verbose=verbose, stream=stream)
    model = load_segment_model(model, use="drift compares customer segments with their training data (to score "
                               "new flows with an anomaly model, use 'scalecluster apply')")
    roles, reading = model_reading(model, reference_date, customer, timestamp, amount, order, keep_duplicates,
                                   dayfirst, date_format)
    check_out_folder(out, overwrite=overwrite)
    info = job_info("drift", model, data, roles, reading, started)
    info["settings"].update(share_threshold=share_threshold, shift_threshold=shift_threshold)
    written: dict[str, str] = {}
    distributed = client is not None or cluster is not None
    with job_folder(out, overwrite=overwrite, uses_distributed=distributed) as folder, \
            job_client(client, cluster, steps, log=folder and os.path.join(folder, LOG_NAME)) as active:
        lazy = active is not None or is_dask_frame(data)
        info["run_on"] = run_on(active, lazy)
        with library_errors("customers"):
            assigned = assign_customers(model, lambda: read_input(data, roles, reading, lazy), lazy, active, steps,
                                        roles, reading, info, random_state)
            with steps.step("Comparing") as stage:
                result = _compare(model, assigned, lazy, active, steps, share_threshold, shift_threshold, info)
                stage.describe(f"{result.returning:,} returning customers")
                stage.result("no drift" if not result.drifted else f"{len(result.flagged)} segments moved")
        info["seconds"] = round(time.time() - started, 1)
        if folder is not None:
            with steps.step("Writing outputs") as stage:
                written = _write(result, folder, plots, steps)
                stage.count(len(written) + 1, "files and folders")
    result.paths = final_paths(written, folder, out)
    return steps.finish(result)


def _compare(model: Any, assigned: ApplyResult, lazy: bool, client: Any, steps: Steps, share_threshold: float,
             shift_threshold: float, info: dict[str, Any]) -> DriftResult:
    from .model import bin_shares, psi

    profile = assigned.profile
    then = model.segments
    rows = []
    for segment in range(model.k):
        row = {"segment": segment, "name": model.names[segment],
               "customers_then": int(then.loc[segment, "customers"]), "customers_now": int(profile.loc[segment, "customers"]),
               "share_then": float(then.loc[segment, "share"]), "share_now": float(profile.loc[segment, "share"])}
        row["share_change"] = row["share_now"] - row["share_then"]
        shifts = []
        for feature in RFM:
            before = _number(then.loc[segment, f"{feature}_median"])
            after = float(profile.loc[segment, f"{feature}_median"])
            row[f"{feature}_median_then"], row[f"{feature}_median_now"] = before, after
            shift = abs(_scaled(model, feature, after) - _scaled(model, feature, before))
            row[f"{feature}_shift"] = shift
            shifts.append(shift)
        row["largest_shift"] = float(np.nanmax(shifts)) if not np.all(np.isnan(shifts)) else np.nan
        rows.append(row)
    table = pd.DataFrame(rows).set_index("segment")

    now = assigned.labels
    if lazy:
        (now,) = steps.compute(client, now)
    now = pd.Series(np.asarray(now, dtype=np.int64), index=pd.Index(now.index.astype("string")))
    training = model.training_customers()
    notes = list(assigned.notes)
    if training is None:
        notes.append("The model has no list of its training customers (model/customers/): who changed segment "
                     "is not known.")
        common = pd.Index([], dtype="string")
    else:
        common = training.index.intersection(now.index)
    before = training.loc[common] if training is not None else pd.Series([], dtype=np.int64)
    after = now.loc[common]
    moved = before.to_numpy() != after.to_numpy()
    returning = pd.Series(before.to_numpy()).value_counts().reindex(range(model.k), fill_value=0)
    changed = pd.Series(before.to_numpy()[moved]).value_counts().reindex(range(model.k), fill_value=0)
    table["returning"] = returning.to_numpy()
    table["changed"] = changed.to_numpy()
    table["changed_share"] = np.where(table["returning"] > 0, table["changed"] / table["returning"].clip(lower=1), 0.0)
    transitions = pd.crosstab(pd.Categorical(before.to_numpy(), categories=range(model.k)),
                              pd.Categorical(after.to_numpy(), categories=range(model.k)), dropna=False)
    transitions.index.name, transitions.columns.name = "then", "now"

    reasons = []
    for segment, row in table.iterrows():
        why = []
        if abs(row["share_change"]) >= share_threshold:
            why.append(f"share {row['share_then']:.1%} -> {row['share_now']:.1%}")
        for feature in RFM:
            if row[f"{feature}_shift"] >= shift_threshold:
                why.append(f"median {feature} {_short(row[f'{feature}_median_then'])} -> "
                           f"{_short(row[f'{feature}_median_now'])}")
        reasons.append("; ".join(why))
    table["flagged"] = [bool(r) for r in reasons]
    table["why"] = reasons

    shares = bin_shares(assigned.customers, {f: model.psi_bins[f]["edges"] for f in RFM})
    psi_rows = []
    for feature in RFM:
        value = psi(model.psi_bins[feature]["shares"], shares[feature])
        psi_rows.append({"feature": feature, "psi": value, "level": psi_level(value),
                         "bins": len(model.psi_bins[feature]["shares"])})
    return DriftResult(segments=table, psi=pd.DataFrame(psi_rows), transitions=transitions,
                       returning=len(common), changed=int(moved.sum()),
                       flagged=[int(s) for s in table.index[table["flagged"]]], assignment=assigned,
                       share_threshold=share_threshold, shift_threshold=shift_threshold, notes=notes, info=info)


def psi_level(value: float) -> str:
    for bound, word in PSI_LEVELS:
        if value >= bound:
            return word
    return PSI_LEVELS[-1][1]


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _scaled(model: Any, feature: str, value: float) -> float:
    if not np.isfinite(value):
        return float("nan")
    x = np.log1p(max(value, 0.0)) if feature in model.scaling.log else value
    return float((x - model.scaling.center[feature]) / model.scaling.scale[feature])


def _short(value: float) -> str:
    return "-" if not np.isfinite(value) else f"{value:,.0f}" if abs(value) >= 10 else f"{value:,.2g}"


def _write(result: DriftResult, folder: str, plots: bool, steps: Steps) -> dict[str, str]:
    from . import report

    written = {"drift": os.path.join(folder, "drift.csv"), "psi": os.path.join(folder, "psi.csv"),
               "transitions": os.path.join(folder, "transitions.csv"), "quality": os.path.join(folder, "quality.csv")}
    result.segments.to_csv(written["drift"])
    result.psi.to_csv(written["psi"], index=False)
    result.transitions.to_csv(written["transitions"])
    quality_table(result.assignment.quality, result.info).to_csv(written["quality"], index=False)
    written.update(report.drift_report(result, folder, plots=plots, say=steps.say))
    written["summary"] = os.path.join(folder, "summary.json")
    summary = {
        "model_id": result.assignment.model.id, "drifted": result.drifted, "flagged": result.flagged,
        "returning": result.returning, "changed": result.changed,
        "thresholds": {"share": result.share_threshold, "shift": result.shift_threshold},
        "psi": {r["feature"]: r["psi"] for _, r in result.psi.iterrows()},
        "quality": {k: (date_text(v) if k in ("first", "last") else int(v))
                    for k, v in result.assignment.quality.items()},
        "notes": result.notes, "run": result.info,
    }
    with open(written["summary"], "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2, default=str)
    return written
