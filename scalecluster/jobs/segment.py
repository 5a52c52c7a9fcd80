"""Customer segmentation: transactions → RFM → scale → choose k → KMeans → named segments.

One function, :func:`segment`, runs the whole job in memory (pandas/NumPy) or
on a Dask cluster, and (with ``out=``) writes its outputs atomically.
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
from ._columns import dates, library_errors, numbers, text
from ._load import describe_input, is_dask_frame, load_table
from ._run import LOG_NAME, Steps, check_out_folder, final_paths, job_client, job_folder
from .naming import name_segments

RFM = ("recency", "frequency", "monetary")


@dataclass
class SegmentResult:
    """What :func:`segment` found and wrote."""

    labels: Any  #: segment number per customer (pandas Series indexed by customer; a Dask Series on Dask)
    customers: Any  #: per customer: recency, frequency, monetary, segment, outlier (pandas, or Dask persisted)
    profile: pd.DataFrame  #: one row per segment, original units (see :func:`segment`)
    names: dict[int, str]  #: segment number -> name
    k: int  #: number of segments
    k_reason: str  #: how k was chosen
    sweep: pd.DataFrame | None  #: the k-sweep table (None when k was given)
    overall: dict[str, float]  #: medians of recency, frequency, monetary over all customers
    n_customers: int
    n_outliers: int  #: customers outside the IQR fences (log scale): not used to fit, but labelled
    model: Any  #: the fitted KMeans (on the scaled, logged features)
    scaling: Any  #: the fitted :class:`scalecluster.features.Scaling`
    sample: pd.DataFrame  #: up to 5000 customers (scaled features, segment) for plots
    paths: dict[str, str] = field(default_factory=dict)  #: output name -> path written
    timings: dict[str, float] = field(default_factory=dict)  #: step -> seconds
    notes: list[str] = field(default_factory=list)
    #: what the run read and how: input, rows, first and last transaction, reference date, settings, version
    info: dict[str, Any] = field(default_factory=dict)
    currency: str | None = None  #: shown with amounts in the summary and the report

    def summary(self) -> str:
        """A few lines: k and why, then each segment's name, size and medians."""
        from .report import money

        lines = [f"{self.k} segments of {self.n_customers:,} customers (k: {self.k_reason})."]
        for segment, row in self.profile.iterrows():
            lines.append(
                f"  {segment}: {row['name']:<12} {int(row['customers']):>9,} customers ({row['share']:.0%}), "
                f"median {row['recency_median']:.0f} days since the last order, "
                f"{_plural(row['frequency_median'], 'order')}, {money(row['monetary_median'], self.currency, 0)} spent; "
                f"{row['revenue_share']:.0%} of revenue"
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
    k_values: Any = range(2, 11),
    client: Any = None,
    cluster: Any = None,
    out: str | os.PathLike | None = None,
    overwrite: bool = False,
    reference_date: Any = None,
    currency: str | None = None,
    sample_size: int = 10_000,
    n_init: int = 3,
    random_state: int = 0,
    plots: bool = True,
    verbose: bool = True,
    stream: TextIO | None = None,
) -> SegmentResult:
    """Segment customers by recency, frequency and monetary value (RFM) with KMeans.

    Steps: RFM per customer (:func:`scalecluster.features.rfm`) → customers
    outside Tukey's fences on the log scale are set aside for fitting
    (:func:`~scalecluster.features.drop_outliers` with ``log=True``; raw
    fences would drop the best customers, spend being heavy-tailed) →
    ``log1p`` and standardisation → k from a sweep over ``k_values`` unless
    given → KMeans (k-means||) → every customer, outliers included, assigned
    to its nearest centre → a profile per segment in original units → names
    by the rules of :mod:`scalecluster.jobs.naming`.

    Segments are numbered by decreasing mean spend of their centre (0: the
    biggest spenders), so the numbering does not depend on the backend.

    Parameters
    ----------
    data : str, path-like, pandas.DataFrame or dask.dataframe.DataFrame
        Transactions: Parquet (file, folder, glob) or CSV, one row per
        transaction or order line.  CSV files are read as text and the three
        columns used are converted here: ids stay text (an id column that
        holds ``1001`` in one row and ``C-1001`` in another is fine), amounts
        must be plain numbers, times must parse as dates (a value that does
        not is named, with its line).
    customer, timestamp, amount : str
        Column names: the customer id, the transaction time (dates, or
        strings that parse as dates; several time-zone offsets are read in
        UTC), the amount spent (numbers; refunds may be negative: a customer
        whose refunds exceed their purchases counts as spending 0, noted).
    order : str, default=None
        Order id column: frequency then counts orders, not rows.
    k : "auto" or int, default="auto"
        Number of segments.  ``"auto"``: the k of ``k_values`` with the best
        mean rank over the sampled silhouette (higher is better) and the
        Davies–Bouldin index (lower is better); ties go to the higher
        silhouette.
    k_values : iterable of int, default=range(2, 11)
    client : distributed.Client, default=None
        Run on this Dask cluster (read with dask.dataframe; only the profile
        and a sample come back to the client).
    cluster : str, path or mapping, default=None
        A cluster config for :func:`scalecluster.connect` (e.g. ``"local"``):
        started for this job and closed at its end.  Without ``client``,
        ``cluster`` or a Dask frame, the job runs in memory (pandas/NumPy).
    out : str or path-like, default=None
        Output folder: ``labels/`` (Parquet: customer, segment, segment_name,
        recency, frequency, monetary, outlier), ``profile.csv``, ``sweep.csv``,
        ``summary.json``, PNG plots (``k_sweep.png``, ``pca.png``,
        ``profile_heatmap.png``), ``report.md`` / ``report.html`` and
        ``run.log`` (every stage, and what Dask and the other libraries said).
        Written into a temporary folder beside it and renamed at the end: a
        failed or interrupted job leaves nothing.
    overwrite : bool, default=False
        Replace an existing ``out``.
    reference_date : date, default=None
        "Today" for recency (default: one day after the last transaction).
        Transactions on or after it are left out (and counted in a note).
    currency : str, default=None
        Shown with amounts in the summary and the report: a symbol (``€``) or
        a code (``EUR``, ``USD``, ``GBP``, ``JPY`` become their symbols; other
        codes are written before the amount).
    sample_size : int, default=10000
        Rows for each sampled silhouette of the sweep.
    n_init : int, default=3
        k-means|| starts of the final KMeans (the best inertia is kept; the
        sweep uses one start per k).  One start can land in a poor local
        optimum, and which one depends on the row order, which differs
        between pandas and Dask.
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
        A value that is not a number or a date (named), a bad ``k`` /
        ``k_values``, too few customers, an existing ``out``
        (FileExistsError, a subclass of OSError) …
    """
    started = time.time()
    steps = Steps("segment", verbose=verbose, stream=stream)
    ks = _check_k(k, k_values)
    reference = _check_reference(reference_date)
    check_out_folder(out, overwrite=overwrite)
    roles = {"customer": customer, "timestamp": timestamp, "amount": amount}
    if order is not None:
        roles["order"] = order
    info: dict[str, Any] = {
        "job": "segment", "input": describe_input(data), "version": __version__,
        "started": time.strftime("%Y-%m-%d %H:%M", time.localtime(started)),
        "columns": dict(roles),
        "settings": {"k": k if k != "auto" else f"auto, from {ks[0]} to {ks[-1]}", "n_init": n_init,
                     "sample_size": sample_size, "random_state": random_state, "currency": currency},
    }
    def read(lazy: bool) -> Any:
        return load_table(data, lazy=lazy, require=roles, columns=list(dict.fromkeys(roles.values())), as_text=True)

    written: dict[str, str] = {}
    distributed = client is not None or cluster is not None
    with job_folder(out, overwrite=overwrite, uses_distributed=distributed) as folder, \
            job_client(client, cluster, steps, log=folder and os.path.join(folder, LOG_NAME)) as active:
        lazy = active is not None or is_dask_frame(data)
        info["run_on"] = _run_on(active, lazy)
        with library_errors("customers"):
            result = _run(lambda: read(lazy), lazy, active, steps, customer, timestamp, amount, order, k, ks, reference,
                          sample_size, n_init, random_state, info)
        result.currency = currency
        info["seconds"] = round(time.time() - started, 1)
        if folder is not None:
            with steps.step("Writing outputs") as stage:
                written = _write(result, folder, plots, lazy, steps)
                stage.count(len(written) + 1, "files and folders")
    result.paths = final_paths(written, folder, out)
    return steps.finish(result)


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


def _check_reference(value: Any) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        reference = pd.Timestamp(value)
    except (ValueError, TypeError):
        reference = None
    if reference is None or pd.isna(reference):
        raise ValueError(f"reference_date must be a date (like 2024-06-30); got {value!r}.")
    return reference


def _run_on(client: Any, lazy: bool) -> str:
    if client is not None:
        n = len(client.scheduler_info().get("workers", {}))
        return f"Dask cluster, {n} worker{'s' if n != 1 else ''}"
    return "Dask, local threads" if lazy else "in memory (pandas, NumPy)"


def choose_k(table: pd.DataFrame) -> tuple[int, str]:
    """The k with the best mean rank of silhouette (high) and Davies–Bouldin (low); ties: higher silhouette."""
    ranks = (table["silhouette"].rank(ascending=False) + table["davies_bouldin"].rank(ascending=True)) / 2
    order = pd.DataFrame({"rank": ranks, "silhouette": -table["silhouette"], "k": table["k"]})
    best = order.sort_values(["rank", "silhouette", "k"]).index[0]
    row = table.loc[best]
    reason = (
        f"best mean rank of sampled silhouette ({row['silhouette']:.3f}) and Davies–Bouldin "
        f"({row['davies_bouldin']:.3f}) over k = {', '.join(str(int(v)) for v in table['k'])}"
    )
    return int(row["k"]), reason


def _read_rfm(frame, lazy, client, steps, customer, timestamp, amount, order, reference, info, stage):
    """Per-customer RFM (refunds beyond purchases counted as 0), with the input's rows and date range."""
    from ..features import rfm

    what = info["input"] if info["input"].startswith("a ") else repr(info["input"])
    frame = text(frame, [customer] + ([order] if order is not None else []))
    frame = numbers(frame, {amount: "amount"}, what=what)
    frame = frame.assign(**{timestamp: dates(frame, timestamp, "timestamp", what=what)})
    features = rfm(frame, customer=customer, timestamp=timestamp, amount=amount, order=order,
                   reference_date=reference)
    times = frame[timestamp]
    stats = [frame.index.size if lazy else len(frame), times.min(), times.max(), times.isna().sum(),
             (features["monetary"] < 0).sum(), features.index.size if lazy else len(features)]
    if reference is not None:
        stats.append((times >= _same_zone(reference, times.dtype)).sum())
    features = features.assign(monetary=features["monetary"].clip(lower=0.0))
    if lazy:
        (features,), stats = steps.persist_and_compute(client, [features], stats)
    n_rows, first, last, no_time, negative, n_customers = stats[:6]
    late = int(stats[6]) if reference is not None else 0
    if int(n_customers) == 0:
        raise ValueError(
            f"No customer has a transaction{' before the reference date' if reference is not None else ''}: "
            f"{int(n_rows):,} rows, {int(no_time):,} of them without a time"
            + (f", {late:,} on or after reference_date={reference.date()}" if reference is not None else "")
            + "."
        )
    reference_value = reference if reference is not None else last + pd.Timedelta(days=1)
    info.update(
        rows=int(n_rows), first=_date_text(first), last=_date_text(last), reference_date=_date_text(reference_value),
        reference_rule="given" if reference is not None else "one day after the last transaction",
    )
    notes = []
    if int(no_time):
        notes.append(f"{int(no_time):,} rows without a time in {timestamp!r} were left out.")
    if late:
        notes.append(f"{late:,} rows on or after the reference date {_date_text(reference_value)} were left out.")
    if int(negative):
        notes.append(f"{int(negative):,} customers whose refunds exceed their purchases (a negative total of "
                     f"{amount!r}) count as spending 0.")
    stage.describe(f"{int(n_rows):,} rows, {int(n_customers):,} customers")
    return features, int(n_customers), notes


def _same_zone(reference: pd.Timestamp, dtype: Any) -> pd.Timestamp:
    zone = getattr(dtype, "tz", None)
    if zone is not None and reference.tzinfo is None:
        return reference.tz_localize(zone)
    if zone is None and reference.tzinfo is not None:
        return reference.tz_convert(None)
    return reference


def _date_text(value: Any) -> str:
    """A timestamp as a date (and time when it has one), never as nanoseconds."""
    stamp = pd.Timestamp(value)
    if pd.isna(stamp):
        return "-"
    text = stamp.strftime("%Y-%m-%d" if stamp == stamp.normalize() else "%Y-%m-%d %H:%M")
    return f"{text} {stamp.tzname()}" if stamp.tzinfo is not None else text


def _run(read, lazy, client, steps, customer, timestamp, amount, order, k, ks, reference,
         sample_size, n_init, random_state, info) -> SegmentResult:
    from .. import KMeans
    from ..features import drop_outliers, scale
    from ..metrics import k_sweep

    with steps.step("Reading, RFM") as stage:
        features, n_customers, notes = _read_rfm(read(), lazy, client, steps, customer, timestamp, amount, order,
                                                 reference, info, stage)
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
            stage.count(n_fit, "customers")
            rows = []
            for value in ks:
                try:
                    one = k_sweep(X, [value], metrics=("inertia", "silhouette", "davies_bouldin"),
                                  sample_size=sample_size, random_state=random_state)
                except ValueError as error:
                    if "every row in one cluster" not in str(error):
                        raise
                    raise ValueError(
                        f"The customers' recency, frequency and spend take fewer than {value} distinct values, "
                        f"so {value} segments cannot be told apart; ask for fewer segments with k=."
                    ) from None
                rows.append(one.table)
                row = one.table.iloc[0]
                steps.detail(f"k={value}: silhouette {row['silhouette']:.3f} "
                             f"[{row['silhouette_low']:.3f}, {row['silhouette_high']:.3f}], "
                             f"Davies–Bouldin {row['davies_bouldin']:.3f}, inertia {row['inertia']:.6g}")
                stage.advance()
            sweep = pd.concat(rows, ignore_index=True)
            chosen, reason = choose_k(sweep)
            stage.result(f"k = {chosen}")
    else:
        chosen, reason = ks[0], "given"
    with steps.step("KMeans") as stage:
        stage.describe(f"{n_fit:,} customers, k = {chosen}, {n_init} starts")
        model = KMeans(n_clusters=chosen, n_init=n_init, random_state=random_state).fit(X)

    with steps.step("Profiling") as stage:
        centres = scaling.inverse_transform(_to_numpy(model.cluster_centers_))
        ranking = np.argsort(-centres["monetary"].to_numpy(), kind="stable")
        mapping = np.empty(chosen, dtype=np.int64)
        mapping[ranking] = np.arange(chosen)
        if report.n_dropped:
            labels = model.predict(_as_array(scaling.transform(features), lazy))
        else:
            labels = model.labels_
        if lazy:
            labels = labels.map_blocks(lambda b: mapping[b], dtype=np.int64)
        else:
            labels = mapping[np.asarray(labels)]
        labelled = _attach(features, labels, report.bounds, lazy)
        if lazy:
            (labelled,) = steps.persist(client, labelled)
        profile, overall, sample = _profile(labelled, lazy, chosen, client, steps, random_state)
        names = name_segments(profile, overall)
        profile.insert(0, "name", [names[s] for s in profile.index])
        sample["name"] = sample["segment"].map(names)
        scaled_sample = scaling.transform(sample[list(RFM)])
        sample = pd.concat([scaled_sample.add_suffix("_scaled"), sample], axis=1)
        stage.describe(f"{n_customers:,} customers, {chosen} segments")
        stage.result(", ".join(names[s] for s in sorted(names)))

    series = labelled["segment"]
    if report.n_dropped:
        notes.append(f"{report.n_dropped:,} of {n_customers:,} customers outside the IQR fences (log scale) were "
                     "left out of the fit and assigned to their nearest segment.")
    return SegmentResult(
        labels=series, customers=labelled, profile=profile, names=names, k=chosen, k_reason=reason, sweep=sweep,
        overall=overall, n_customers=n_customers, n_outliers=int(report.n_dropped), model=model,
        scaling=scaling, sample=sample, notes=notes, info=info,
    )


def _as_array(scaled: Any, lazy: bool) -> Any:
    if lazy:
        return scaled.to_dask_array(lengths=True)
    return scaled.to_numpy(dtype=np.float64)


def _to_numpy(values: Any) -> np.ndarray:
    if hasattr(values, "get") and type(values).__module__.startswith("cupy"):
        return values.get()
    return np.asarray(values)


def _attach(frame: Any, labels: Any, bounds: dict[str, tuple[float, float]], lazy: bool) -> Any:
    """``frame`` with columns ``segment`` and ``outlier``, aligned partition by partition with the label chunks."""
    if not lazy:
        return _assign_part(frame, np.asarray(labels), bounds)
    import dask
    import dask.dataframe as dd

    parts = frame.to_delayed()
    blocks = labels.to_delayed().ravel()
    if len(blocks) != len(parts):
        raise RuntimeError(f"{len(blocks)} label chunks for {len(parts)} partitions.")
    meta = _assign_part(frame._meta, np.array([], dtype=np.int64), bounds)
    pieces = [dask.delayed(_assign_part)(part, block, bounds) for part, block in zip(parts, blocks)]
    return dd.from_delayed(pieces, meta=meta, verify_meta=False)


def _assign_part(part: pd.DataFrame, labels: np.ndarray, bounds: dict[str, tuple[float, float]]) -> pd.DataFrame:
    outside = np.zeros(len(part), dtype=bool)
    for column, (low, high) in bounds.items():
        values = part[column].to_numpy()
        outside |= (values < low) | (values > high)
    return part.assign(segment=labels.astype(np.int64), outlier=outside)


def _profile(labelled: Any, lazy: bool, k: int, client: Any, steps: Steps, random_state: int):
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


def _write(result: SegmentResult, folder: str, plots: bool, lazy: bool, steps: Steps) -> dict[str, str]:
    from . import report

    written: dict[str, str] = {}
    labels_dir = os.path.join(folder, "labels")
    frame = result.customers
    index_name = frame.index.name or "customer"
    names = result.names
    if lazy:
        full = frame.map_partitions(_label_columns, names, index_name, meta=_label_columns(frame._meta, names, index_name))
        full.to_parquet(labels_dir, write_index=False)
    else:
        os.makedirs(labels_dir)
        _label_columns(frame, names, index_name).to_parquet(os.path.join(labels_dir, "part-00000.parquet"), index=False)
    written["labels"] = labels_dir
    profile_path = os.path.join(folder, "profile.csv")
    result.profile.to_csv(profile_path)
    written["profile"] = profile_path
    if result.sweep is not None:
        written["sweep"] = os.path.join(folder, "sweep.csv")
        result.sweep.to_csv(written["sweep"], index=False)
    written.update(report.segment_report(result, folder, plots=plots, say=steps.say))
    summary = {
        "k": result.k, "k_reason": result.k_reason, "n_customers": result.n_customers,
        "n_outliers": result.n_outliers, "names": {str(s): n for s, n in result.names.items()},
        "overall_medians": result.overall, "notes": result.notes, "run": result.info,
    }
    written["summary"] = os.path.join(folder, "summary.json")
    with open(written["summary"], "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2, default=str)
    return written


def _label_columns(frame: pd.DataFrame, names: dict[int, str], index_name: str) -> pd.DataFrame:
    out = frame.rename_axis(index_name).reset_index()
    out["segment_name"] = out["segment"].map(names).astype("string")
    return out[[index_name, "segment", "segment_name", *RFM, "outlier"]]
