"""Customer segmentation: transactions → clean → RFM → scale → choose k → KMeans → named segments → model.

One function, :func:`segment`, runs the whole job in memory (pandas/NumPy) or
on a Dask cluster, and (with ``out=``) writes its outputs atomically,
``model/`` included (see :mod:`scalecluster.jobs.model`).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np
import pandas as pd

from .. import __version__
from ._columns import library_errors
from ._load import describe_input, is_dask_frame, load_table
from ._run import LOG_NAME, Steps, check_out_folder, final_paths, job_client, job_folder
from ._stability import DEFAULT_K_VALUES, choose_k, pool, stability_sweep
from ._transactions import Reading, Roles, read_customers
from .naming import action_of, name_segments

RFM = ("recency", "frequency", "monetary")


@dataclass
class SegmentResult:
    """What :func:`segment` found and wrote."""

    labels: Any  #: segment number per customer (pandas Series indexed by customer; a Dask Series on Dask)
    customers: Any  #: per customer: recency, frequency, monetary, segment, outlier (pandas, or Dask persisted)
    profile: pd.DataFrame  #: one row per segment, original units, with its name and action (see :func:`segment`)
    names: dict[int, str]  #: segment number -> name
    k: int  #: number of segments
    k_reason: str  #: how k was chosen
    sweep: pd.DataFrame | None  #: the stability sweep, one row per k (None when k was given)
    overall: dict[str, float]  #: medians of recency, frequency, monetary over the segmented customers
    n_customers: int  #: customers segmented
    n_outliers: int  #: customers outside the IQR fences (log scale): not used to fit, but labelled
    model: Any  #: the :class:`~scalecluster.jobs.model.SegmentModel`: its ``predict`` gives *published* numbers
    scaling: Any  #: the fitted :class:`scalecluster.features.Scaling`
    sample: pd.DataFrame  #: up to 5000 customers (scaled features, segment) for plots
    paths: dict[str, str] = field(default_factory=dict)  #: output name -> path written
    timings: dict[str, float] = field(default_factory=dict)  #: step -> seconds
    notes: list[str] = field(default_factory=list)
    #: what the run read and how: input, rows, first and last transaction, reference date, settings, version
    info: dict[str, Any] = field(default_factory=dict)
    currency: str | None = None  #: shown with amounts in the summary and the report
    quality: dict[str, Any] = field(default_factory=dict)  #: the data-quality counts (rows read, set aside, ...)
    set_aside: pd.DataFrame | None = None  #: customers not segmented, with the reason
    actions: dict[int, str] = field(default_factory=dict)  #: segment number -> recommended action
    #: the fitted KMeans, in *its own* cluster numbering: cluster i is segment ``segment_of_cluster[i]``.
    #: Use ``model.predict`` for segment numbers.
    estimator: Any = None
    segment_of_cluster: np.ndarray | None = None

    def summary(self) -> str:
        """A few lines: k and why, then each segment's name, size, medians and action."""
        from .report import money

        aside = self.quality.get("no_valid_rows", 0) + self.quality.get("not_positive", 0)
        extra = f"; {aside:,} set aside" if aside else ""
        lines = [f"{self.k} segments of {self.n_customers:,} customers{extra} (k: {self.k_reason})."]
        for segment, row in self.profile.iterrows():
            lines.append(
                f"  {segment}: {row['name']:<12} {int(row['customers']):>9,} customers ({row['share']:.0%}), "
                f"median {row['recency_median']:.0f} days since the last order, "
                f"{_plural(row['frequency_median'], 'order')}, {money(row['monetary_median'], self.currency, 0)} spent; "
                f"{row['revenue_share']:.0%} of revenue. {row['action']}"
            )
        return "\n".join(lines)


def _plural(count: float, noun: str) -> str:
    return f"{count:,.0f} {noun}{'' if round(count) == 1 else 's'}"


def segment(
    data: Any,
    *,
    customer: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str = "revenue",
    order: str | None = None,
    k: int | str = "auto",
    k_values: Any = DEFAULT_K_VALUES,
    client: Any = None,
    cluster: Any = None,
    out: str | os.PathLike | None = None,
    overwrite: bool = False,
    reference_date: Any = None,
    currency: str | None = None,
    keep_duplicates: bool = False,
    dayfirst: bool = False,
    date_format: str | None = None,
    sample_size: int = 4_000,
    stability_fits: int = 5,
    subsample: int = 20_000,
    n_init: int = 3,
    random_state: int = 0,
    plots: bool = True,
    verbose: bool = True,
    stream: TextIO | None = None,
) -> SegmentResult:
    """Segment customers by recency, frequency and monetary value (RFM) with KMeans.

    Steps: the transactions are read and cleaned, every row accounted for
    (:mod:`scalecluster.jobs._transactions`: ids as text, exact duplicates,
    missing values, refunds, the reference date) → RFM per customer; customers
    with no valid row or a net spend of 0 or less are set aside → customers
    outside Tukey's fences on the log scale are left out of the fit
    (:func:`~scalecluster.features.drop_outliers` with ``log=True``; raw
    fences would drop the best customers, spend being heavy-tailed) →
    ``log1p`` and standardisation → k by stability under resampling unless
    given (:mod:`scalecluster.jobs._stability`) → KMeans (k-means||) → every
    segmented customer, outliers included, assigned to its nearest centre →
    a profile per segment in original units → names and actions by the rules
    of :mod:`scalecluster.jobs.naming` → the model (:mod:`scalecluster.jobs.model`).

    Segments are numbered by decreasing mean spend of their centre (0: the
    biggest spenders), so the numbering does not depend on the backend; the
    model stores its centres in that order.

    Parameters
    ----------
    data : str, path-like, pandas.DataFrame or dask.dataframe.DataFrame
        Transactions: Parquet (file, folder, glob), CSV or TSV (the separator
        is found from the header: comma, tab, semicolon or bar), one row per
        transaction or order line.  CSV and TSV files are read as text and
        converted here: ids stay text, amounts must be plain numbers, times
        must parse as dates (a value that does not stops the job, naming it,
        its line and how many there are).
    customer, timestamp, amount : str
        Column names: the customer id (read as text: ``"C10859"`` and
        ``"10859"`` are two customers), the transaction time, the amount
        (refunds negative: they lower the net spend).
    order : str, default=None
        Order id column: frequency then counts orders with a positive net
        amount, not rows.
    k : "auto" or int, default="auto"
        Number of segments.  ``"auto"``: among ``k_values``, the stable k
        (refits on subsamples agree: mean pairwise adjusted Rand index ≥ 0.9)
        with the highest silhouette (see :func:`scalecluster.jobs.choose_k`).
    k_values : iterable of int, default=range(3, 9)
        The candidates of ``"auto"``.
    client : distributed.Client, default=None
        Run on this Dask cluster (read with dask.dataframe; only the profile,
        a sample and the customers the sweep uses come back to the client).
    cluster : str, path or mapping, default=None
        A cluster config for :func:`scalecluster.connect` (e.g. ``"local"``):
        started for this job and closed at its end.  Without ``client``,
        ``cluster`` or a Dask frame, the job runs in memory (pandas/NumPy).
    out : str or path-like, default=None
        Output folder: ``labels/`` (Parquet: customer, segment, segment_name,
        recency, frequency, monetary, outlier), ``profile.csv`` (with names and
        actions), ``quality.csv`` (the data-quality table), ``set_aside.csv``
        (customers not segmented, when there are any), ``sweep.csv``,
        ``summary.json``, ``model/``, PNG plots (``k_sweep.png``, ``pca.png``,
        ``profile_heatmap.png``), ``report.md`` / ``report.html`` and
        ``run.log``.  Written into a temporary folder beside it and renamed at
        the end: a failed or interrupted job leaves nothing.
    overwrite : bool, default=False
        Replace an existing ``out``.
    reference_date : date, default=None
        "Today" for recency (default: one day after the last valid
        transaction; the model keeps the rule).  Rows on or after it are set
        aside (counted).
    currency : str, default=None
        Shown with amounts in the summary and the report: a symbol (``€``) or
        a code (``EUR``, ``USD``, ``GBP``, ``JPY`` become their symbols; other
        codes are written before the amount).
    keep_duplicates : bool, default=False
        Keep rows that repeat an earlier row of the same customer exactly
        (every column); by default they are dropped and counted.
    dayfirst : bool, default=False
        Read dates like ``03/04/2024`` as 3 April.  Without it, dates whose
        first number is above 12 stop the job with a line saying to pass it.
    date_format : str, default=None
        The times' format (``"%d.%m.%Y %H:%M"``): faster, and no guessing.
    sample_size : int, default=4000
        Customers of the common evaluation sample of the stability sweep
        (silhouettes are exact on it).
    stability_fits : int, default=5
        Refits per k in the sweep.
    subsample : int, default=20000
        Customers per refit of the sweep (80 % of them, at most this).
    n_init : int, default=3
        k-means|| starts of the final KMeans (the best inertia is kept; each
        refit of the sweep keeps the best of 10).
    random_state : int, default=0
    plots : bool, default=True
    verbose : bool, default=True
        Print one line per stage to ``stream`` (stdout).

    Returns
    -------
    SegmentResult

    Raises
    ------
    FileNotFoundError
        A missing input path.
    KeyError
        A missing column (named, with the closest and the available columns;
        also a ValueError).
    TypeError
        A non-numeric ``amount`` or a ``timestamp`` that is not dates.
    ValueError
        One line naming the column, the count and the fix: values that are
        not numbers or dates, day-first dates without ``dayfirst``, no valid
        row, no customer with a positive net spend; or a bad ``k`` /
        ``k_values``, too few customers, an existing ``out``
        (FileExistsError, a subclass of OSError) …

    Notes
    -----
    Cost: one pass over the transactions (on Dask: one shuffle by customer),
    then work on the customer table (far smaller); the sweep works on at most
    100,000 customers on the driver (``len(k_values) * stability_fits``
    fits of ``subsample`` rows), the final KMeans on all of them.
    """
    started = time.time()
    steps = Steps("segment", verbose=verbose, stream=stream)
    ks = _check_k(k, k_values)
    reference = check_reference(reference_date)
    check_out_folder(out, overwrite=overwrite)
    roles = Roles(customer, timestamp, amount, order)
    reading = Reading(bool(keep_duplicates), bool(dayfirst), date_format, reference)
    info: dict[str, Any] = {
        "job": "segment", "input": describe_input(data), "version": __version__,
        "started": time.strftime("%Y-%m-%d %H:%M", time.localtime(started)),
        "columns": roles.as_dict(),
        "settings": {"k": k if k != "auto" else f"auto, from {ks[0]} to {ks[-1]}", "n_init": n_init,
                     "sample_size": sample_size, "stability_fits": stability_fits, "subsample": subsample,
                     "random_state": random_state, "currency": currency, "keep_duplicates": bool(keep_duplicates),
                     "dayfirst": bool(dayfirst), "date_format": date_format},
    }

    written: dict[str, str] = {}
    distributed = client is not None or cluster is not None
    with job_folder(out, overwrite=overwrite, uses_distributed=distributed) as folder, \
            job_client(client, cluster, steps, log=folder and os.path.join(folder, LOG_NAME)) as active:
        lazy = active is not None or is_dask_frame(data)
        info["run_on"] = run_on(active, lazy)
        with library_errors("customers"):
            result = _run(lambda: read_input(data, roles, reading, lazy), lazy, active, steps, roles, reading, k,
                          ks, sample_size, stability_fits, subsample, n_init, random_state, currency, info)
        info["seconds"] = round(time.time() - started, 1)
        if folder is not None:
            with steps.step("Writing outputs") as stage:
                written = _write(result, folder, plots, lazy, steps)
                stage.count(len(written) + 1, "files and folders")
    result.paths = final_paths(written, folder, out)
    if "model_dir" in result.paths:
        result.model.path = result.paths["model_dir"]
    return steps.finish(result)


def read_input(data: Any, roles: Roles, reading: Reading, lazy: bool) -> Any:
    """The input with every column when exact duplicates are looked for (they compare whole rows), else the
    columns of ``roles``; CSV/TSV as text."""
    wanted = roles.as_dict()
    columns = None if not reading.keep_duplicates else list(dict.fromkeys(wanted.values()))
    return load_table(data, lazy=lazy, require=wanted, columns=columns, as_text=True)


def _check_k(k: Any, k_values: Any) -> list[int]:
    if k == "auto":
        try:
            ks = sorted({int(v) for v in k_values})
        except (TypeError, ValueError) as error:
            raise ValueError(f"k_values must be integers of at least 2; got {k_values!r}.") from error
        if not ks or ks[0] < 2:
            raise ValueError(f"k_values must be integers of at least 2; got {k_values!r}.")
        return ks
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be 'auto' or a positive integer; got {k!r}.")
    return [int(k)]


def check_reference(value: Any) -> pd.Timestamp | None:
    """A reference date as a Timestamp without a zone (one with a zone is converted to UTC), or None."""
    if value is None:
        return None
    try:
        reference = pd.Timestamp(value)
    except (ValueError, TypeError):
        reference = None
    if reference is None or pd.isna(reference):
        raise ValueError(f"reference_date must be a date (like 2024-06-30); got {value!r}.")
    if reference.tzinfo is not None:
        reference = reference.tz_convert("UTC").tz_localize(None)
    return reference


def run_on(client: Any, lazy: bool) -> str:
    if client is not None:
        n = len(client.scheduler_info().get("workers", {}))
        return f"Dask cluster, {n} worker{'s' if n != 1 else ''}"
    return "Dask, local threads" if lazy else "in memory (pandas, NumPy)"


def date_text(value: Any) -> str:
    """A timestamp as a date (and time when it has one), never as nanoseconds."""
    stamp = pd.Timestamp(value)
    if pd.isna(stamp):
        return "-"
    text = stamp.strftime("%Y-%m-%d" if stamp == stamp.normalize() else "%Y-%m-%d %H:%M")
    return f"{text} {stamp.tzname()}" if stamp.tzinfo is not None else text


def input_words(info: dict[str, Any]) -> str:
    """The input as messages name it: ``'tx.csv'`` (quoted), or ``a pandas DataFrame``."""
    return info["input"] if info["input"].startswith("a ") else repr(info["input"])


def describe_reading(table: Any, info: dict[str, Any]) -> None:
    """The header block's facts about the rows read (``info``: rows, first, last, reference date and rule);
    times that had a zone are in UTC, and say so."""
    zone = " UTC" if table.quality.get("zoned_times") else ""
    info.update(rows=int(table.quality["rows"]), first=date_text(table.first) + zone,
                last=date_text(table.last) + zone, reference_date=date_text(table.reference) + zone,
                reference_rule=table.reference_rule)


def _run(read, lazy, client, steps, roles, reading, k, ks, sample_size, stability_fits, subsample, n_init,
         random_state, currency, info) -> SegmentResult:
    from .. import KMeans
    from ..features import drop_outliers, scale

    with steps.step("Reading, RFM") as stage:
        table = read_customers(read(), lazy=lazy, client=client, steps=steps, roles=roles, reading=reading,
                               what=input_words(info), stage=stage)
    features, n_customers, notes = table.features, int(table.quality["segmented"]), list(table.notes)
    describe_reading(table, info)
    with steps.step("Outliers") as stage:
        kept, report = drop_outliers(features, "iqr", log=True)
        report = report.compute()
        stage.describe(f"{report.n_dropped:,} of {n_customers:,} customers set aside")
    with steps.step("Scaling") as stage:
        scaled, scaling = scale(kept, log=True)
        if lazy:  # persist the frame, then view it as an array (chunks = its partitions)
            (scaled,) = steps.persist(client, scaled)
        X = _as_array(scaled, lazy)
        stage.count(X.shape[0], "customers")
    n_fit = X.shape[0]
    if n_fit < max(ks) + 1:
        raise ValueError(
            f"{n_fit:,} customers (outliers set aside) are too few for {max(ks)} segments; ask for fewer "
            "segments with k=."
        )

    sweep = None
    if k == "auto":
        with steps.step("Choosing k", total=len(ks), unit="k") as stage:
            candidates = pool(scaled, lazy=lazy, client=client, steps=steps)
            stage.describe(f"{len(candidates):,} customers, {stability_fits} refits per k")

            def progress(value: int, row: dict[str, float]) -> None:
                steps.detail(f"k={value}: stability {row['stability']:.3f} (min {row['stability_min']:.3f}), "
                             f"silhouette {row['silhouette']:.3f}, Davies–Bouldin {row['davies_bouldin']:.3f}, "
                             f"inertia {row['inertia']:.4g}")
                stage.advance()

            sweep = stability_sweep(candidates, ks, n_fits=stability_fits, subsample=subsample,
                                    eval_size=sample_size, random_state=random_state, progress=progress)
            chosen, reason = choose_k(sweep)
            stage.result(f"k = {chosen}")
    else:
        chosen, reason = ks[0], "given"
    with steps.step("KMeans") as stage:
        stage.describe(f"{n_fit:,} customers, k = {chosen}, {n_init} starts")
        estimator = KMeans(n_clusters=chosen, n_init=n_init, random_state=random_state).fit(X)

    with steps.step("Profiling") as stage:
        model, segment_of_cluster = _published_model(estimator, scaling, report.bounds, roles, reading, table,
                                                     currency)
        labelled = _label(features, model, lazy)
        if lazy:
            (labelled,) = steps.persist(client, labelled)
        profile, overall, sample = profile_segments(labelled, lazy, chosen, client, steps, random_state)
        names = name_segments(profile, overall)
        actions = {s: action_of(n) for s, n in names.items()}
        profile.insert(0, "name", [names[s] for s in profile.index])
        profile.insert(1, "action", [actions[s] for s in profile.index])
        sample["name"] = sample["segment"].map(names)
        scaled_sample = scaling.transform(sample[list(RFM)])
        sample = pd.concat([scaled_sample.add_suffix("_scaled"), sample], axis=1)
        model.segments = _segments_table(profile)
        if not lazy:
            model.training = labelled["segment"]
        model.overall = overall
        model.psi_bins = _psi_bins(features, lazy, client, steps)
        stage.describe(f"{n_customers:,} customers, {chosen} segments")
        stage.result(", ".join(names[s] for s in sorted(names)))

    if report.n_dropped:
        notes.append(f"{report.n_dropped:,} of {n_customers:,} customers outside the IQR fences (log scale) were "
                     "left out of the fit and assigned to their nearest segment.")
    return SegmentResult(
        labels=labelled["segment"], customers=labelled, profile=profile, names=names, k=chosen, k_reason=reason,
        sweep=sweep, overall=overall, n_customers=n_customers, n_outliers=int(report.n_dropped), model=model,
        scaling=scaling, sample=sample, notes=notes, info=info, currency=currency, quality=dict(table.quality),
        set_aside=table.set_aside, actions=actions, estimator=estimator, segment_of_cluster=segment_of_cluster,
    )


def _published_model(estimator, scaling, bounds, roles, reading, table, currency):
    """The model with the estimator's centres in published order (by decreasing centre spend), and the mapping."""
    from .model import SegmentModel, new_id

    centres = _to_numpy(estimator.cluster_centers_).astype(np.float64)
    units = scaling.inverse_transform(centres)
    ranking = np.argsort(-units["monetary"].to_numpy(), kind="stable")
    segment_of_cluster = np.empty(len(ranking), dtype=np.int64)
    segment_of_cluster[ranking] = np.arange(len(ranking))
    k = len(ranking)
    placeholder = pd.DataFrame({"name": [f"segment {s}" for s in range(k)], "action": [""] * k},
                               index=pd.RangeIndex(k, name="segment"))
    reference = {"rule": "given" if reading.reference is not None else "last",
                 "date": str(pd.Timestamp(table.reference).isoformat())}
    model = SegmentModel(
        id=new_id(), columns=roles.as_dict(),
        reading={"keep_duplicates": reading.keep_duplicates, "dayfirst": reading.dayfirst,
                 "date_format": reading.date_format},
        reference=reference, features=list(RFM), scaling=scaling, centres=centres[ranking],
        segments=placeholder, outlier_bounds={c: (float(lo), float(hi)) for c, (lo, hi) in bounds.items()},
        overall={}, psi_bins={}, n_customers=int(table.quality["segmented"]), currency=currency,
        created=time.strftime("%Y-%m-%dT%H:%M:%S"), version=__version__,
    )
    return model, segment_of_cluster


def _label(features: Any, model: Any, lazy: bool) -> Any:
    """``features`` with ``segment`` (published numbers, from ``model.predict``) and ``outlier``."""
    if lazy:
        return features.map_partitions(_label_part, model, meta=_label_part(features._meta, model))
    return _label_part(features, model)


def _label_part(part: pd.DataFrame, model: Any) -> pd.DataFrame:
    segments = model.predict(part) if len(part) else np.array([], dtype=np.int64)
    outside = np.zeros(len(part), dtype=bool)
    for column, (low, high) in model.outlier_bounds.items():
        values = part[column].to_numpy(dtype=np.float64)
        outside |= (values < low) | (values > high)
    return part.assign(segment=np.asarray(segments, dtype=np.int64), outlier=outside)


def _segments_table(profile: pd.DataFrame) -> pd.DataFrame:
    columns = ["name", "action", "customers", "share", "recency_median", "frequency_median", "monetary_median",
               "recency_mean", "frequency_mean", "monetary_mean", "revenue", "revenue_share"]
    table = profile[columns].copy()
    table.index.name = "segment"
    return table


def _psi_bins(features: Any, lazy: bool, client: Any, steps: Steps) -> dict:
    from .model import psi_bins

    return psi_bins(features, list(RFM))


def _as_array(scaled: Any, lazy: bool) -> Any:
    if lazy:
        return scaled.to_dask_array(lengths=True)
    return scaled.to_numpy(dtype=np.float64)


def _to_numpy(values: Any) -> np.ndarray:
    if hasattr(values, "get") and type(values).__module__.startswith("cupy"):
        return values.get()
    return np.asarray(values)


def profile_segments(labelled: Any, lazy: bool, k: int, client: Any, steps: Steps, random_state: int):
    """Per-segment counts, means, medians, revenue; overall medians; a sample for plots."""
    from ..features._quantiles import column_quantiles

    grouped = labelled.groupby("segment")
    stats = grouped[list(RFM)].agg(["mean", "sum"])
    counts = grouped.size()
    outliers = grouped["outlier"].sum()
    n_rows = labelled.index.size if lazy else len(labelled)
    if lazy:
        stats, counts, outliers, n_rows = steps.compute(client, stats, counts, outliers, n_rows)
        n_rows = int(n_rows)
    medians = {s: column_quantiles(labelled[labelled["segment"] == s][list(RFM)], [0.5]).iloc[0] for s in range(k)}
    overall_q = column_quantiles(labelled[list(RFM)], [0.5]).iloc[0]
    overall = {c: float(overall_q[c]) for c in RFM}
    total_revenue = float(stats[("monetary", "sum")].sum())
    rows = []
    for s in range(k):
        count = int(counts.get(s, 0))
        row = {"segment": s, "customers": count, "share": count / n_rows if n_rows else 0.0}
        for c in RFM:
            row[f"{c}_mean"] = float(stats.loc[s, (c, "mean")]) if s in stats.index else np.nan
            row[f"{c}_median"] = float(medians[s][c])
        row["revenue"] = float(stats.loc[s, ("monetary", "sum")]) if s in stats.index else 0.0
        row["revenue_share"] = row["revenue"] / total_revenue if total_revenue else 0.0
        row["outliers"] = int(outliers.get(s, 0))
        rows.append(row)
    profile = pd.DataFrame(rows).set_index("segment")
    fraction = min(1.0, 5000 / max(n_rows, 1))
    sample = labelled.sample(frac=fraction, random_state=random_state) if fraction < 1 else labelled
    if lazy:
        sample = steps.compute(client, sample)[0]
    sample = sample.sort_index().head(5000)
    return profile, overall, sample[list(RFM) + ["segment"]].copy()


def quality_table(quality: dict[str, Any], info: dict[str, Any]) -> pd.DataFrame:
    """The data-quality counts as a table (what, rows, customers) for quality.csv."""
    from ._transactions import CUSTOMER_REASONS, ROW_REASONS

    rows = [("rows read", quality["rows"], None)]
    rows += [(f"rows set aside: {words}", quality[key], None) for key, words in ROW_REASONS.items() if key in quality]
    rows += [("valid rows", quality["valid_rows"], None), ("refund rows (among valid rows)", quality["refund_rows"], None),
             ("customers", None, quality["customers"])]
    rows += [(f"customers set aside: {words}", None, quality[key]) for key, words in CUSTOMER_REASONS.items()]
    rows += [("customers segmented", None, quality["segmented"]),
             ("ids that are another id with a letter in front", None, quality.get("prefixed_ids", 0))]
    return pd.DataFrame(rows, columns=["what", "rows", "customers"]).astype({"rows": "Int64", "customers": "Int64"})


def write_labels(frame: Any, names: dict[int, str], folder: str, lazy: bool) -> str:
    """``labels/`` (Parquet): customer, segment, segment_name, recency, frequency, monetary, outlier."""
    labels_dir = os.path.join(folder, "labels")
    index_name = frame.index.name or "customer"
    if lazy:
        full = frame.map_partitions(_label_columns, names, index_name, meta=_label_columns(frame._meta, names, index_name))
        full.to_parquet(labels_dir, write_index=False)
    else:
        os.makedirs(labels_dir)
        _label_columns(frame, names, index_name).to_parquet(os.path.join(labels_dir, "part-00000.parquet"), index=False)
    return labels_dir


def write_set_aside(set_aside: pd.DataFrame | None, folder: str) -> dict[str, str]:
    if set_aside is None or not len(set_aside):
        return {}
    path = os.path.join(folder, "set_aside.csv")
    set_aside.to_csv(path)
    return {"set_aside": path}


def _write(result: SegmentResult, folder: str, plots: bool, lazy: bool, steps: Steps) -> dict[str, str]:
    from . import report

    written: dict[str, str] = {"labels": write_labels(result.customers, result.names, folder, lazy)}
    profile_path = os.path.join(folder, "profile.csv")
    result.profile.to_csv(profile_path)
    written["profile"] = profile_path
    written["quality"] = os.path.join(folder, "quality.csv")
    quality_table(result.quality, result.info).to_csv(written["quality"], index=False)
    written.update(write_set_aside(result.set_aside, folder))
    if result.sweep is not None:
        written["sweep"] = os.path.join(folder, "sweep.csv")
        result.sweep.to_csv(written["sweep"], index=False)
    written.update(result.model.save(os.path.join(folder, "model"), customers=result.customers))
    written["model_dir"] = os.path.join(folder, "model")
    written.update(report.segment_report(result, folder, plots=plots, say=steps.say))
    summary = {
        "k": result.k, "k_reason": result.k_reason, "n_customers": result.n_customers,
        "n_outliers": result.n_outliers, "names": {str(s): n for s, n in result.names.items()},
        "actions": {str(s): a for s, a in result.actions.items()},
        "overall_medians": result.overall, "quality": _plain(result.quality), "notes": result.notes,
        "run": result.info, "model_id": result.model.id,
    }
    written["summary"] = os.path.join(folder, "summary.json")
    with open(written["summary"], "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2, default=str)
    return written


def _plain(quality: dict[str, Any]) -> dict[str, Any]:
    return {k: (date_text(v) if k in ("first", "last") else int(v)) for k, v in quality.items()}


def _label_columns(frame: pd.DataFrame, names: dict[int, str], index_name: str) -> pd.DataFrame:
    out = frame.rename_axis(index_name).reset_index()
    out["segment_name"] = out["segment"].map(names).astype("string")
    return out[[index_name, "segment", "segment_name", *RFM, "outlier"]]

