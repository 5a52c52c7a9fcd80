"""Markdown tables for ``RESULTS.md`` and PNG charts from pytest-benchmark JSON files.

Usage (from the repository root)::

    python -m benchmarks.report benchmarks/results/regular.json            # tables to stdout, charts next to it
    python -m benchmarks.report fast.json regular.json large.json --charts DIR --out tables.md

Every benchmark file of the suite is understood: the GPU rows (the device's
yardsticks, Lloyd against its roofline, plain CuPy and cuML, DBSCAN and the
exact silhouette on CuPy against NumPy), KMeans (GEMM, NumPy Lloyd, CuPy
Lloyd, Dask, peak memory), MiniBatchKMeans, the sampled silhouette, the
Davies–Bouldin / Calinski–Harabasz indices, the small-data overheads and DBSCAN; sections without rows
are left out.  Each table gives the ratio of every row's time to the peer's
measured in the same run (scikit-learn, or dask-ml on Dask).  Several files
(e.g. one per profile) are merged, so that the charts of time against n have
several sizes even where one profile has one.  Charts (matplotlib, Agg, log-log
axes, one line per implementation and backend) are drawn for every benchmark
with at least two sizes; they go next to the first JSON file unless
``--charts DIR`` (or ``--no-charts``) is given.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

DASH = "—"


# ----------------------------------------------------------------- loading
def load(paths: list[str]) -> dict:
    """The benchmarks of all ``paths`` in one dict, with the first file's machine description."""
    merged: dict = {"benchmarks": [], "machine_info": {}}
    for path in paths:
        with open(path) as fh:
            data = json.load(fh)
        if "benchmarks" not in data:
            raise SystemExit(f"{path}: not a pytest-benchmark JSON file (no 'benchmarks')")
        merged["benchmarks"] += data["benchmarks"]
        merged["machine_info"] = merged["machine_info"] or data.get("machine_info", {})
        merged.setdefault("datetime", data.get("datetime"))
    return merged


def _rows(data: dict, prefix: str) -> list[dict]:
    """``extra_info`` of the benchmarks whose name starts with ``prefix``; ``backend`` defaults to numpy."""
    out = []
    for b in data["benchmarks"]:
        if b["name"].split("[")[0] == prefix:
            row = {k: v for k, v in b.get("extra_info", {}).items() if k != "machine"}
            row.setdefault("backend", "numpy")
            out.append(row)
    return out


def machine(data: dict) -> dict:
    """The suite's machine description (``machine_info.scalecluster``, else a row's ``extra_info.machine``)."""
    info = dict(data.get("machine_info", {}).get("scalecluster") or {})
    if not info:
        for b in data["benchmarks"]:
            if "machine" in b.get("extra_info", {}):
                info = dict(b["extra_info"]["machine"])
                break
    if not info.get("cpu_model"):
        cpu = data.get("machine_info", {}).get("cpu", {})
        info["cpu_model"] = cpu.get("brand_raw") or data.get("machine_info", {}).get("processor")
        info.setdefault("logical_cores", cpu.get("count"))
    return info


# -------------------------------------------------------------- formatting
def _table(header: list[str], lines: list[list]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(x) for x in line) + " |" for line in lines]
    return "\n".join(out)


def _f(value, spec: str = ".3f") -> str:
    """``value`` formatted, or a dash when it is missing."""
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    return format(value, spec)


def _ratio(row: dict, key: str, peer: str = "sklearn") -> str:
    return _f(row.get(f"ratio_{key}_vs_{peer}"), ".2f")


def _ours(rows: list[dict], row: dict) -> dict:
    """The scalecluster NumPy row measured at ``row``'s size (rows of several files may be merged)."""
    n = row.get("n_samples", row.get("n"))
    return next((r for r in rows if r.get("impl") == "scalecluster" and r.get("backend") == "numpy"
                 and r.get("n_samples", r.get("n")) == n), {})  # fmt: skip


def label(row: dict) -> str:
    """``impl``, with the backend when it is not NumPy: ``scalecluster (dask)``."""
    impl = row.get("impl", "scalecluster")
    return impl if row.get("backend", "numpy") == "numpy" else f"{impl} ({row['backend']})"


def header(data: dict) -> str:
    """Machine, profile, date and versions, for the top of ``RESULTS.md``."""
    m = machine(data)
    cores = f"{m.get('logical_cores')} logical cores"
    if m.get("usable_cores") not in (None, m.get("logical_cores")):
        cores += f" ({m['usable_cores']} usable)"
    gpu = m.get("gpu") or "none"
    blas = ", ".join(f"{b.get('internal_api')} {b.get('version')} ({b.get('num_threads')} threads)"
                     for b in m.get("blas", []) if b.get("internal_api"))  # fmt: skip
    versions = ", ".join(f"{pkg} {m[pkg]}" for pkg in (
        "scalecluster", "numpy", "scikit-learn", "numba", "dask", "distributed", "dask-ml", "faiss-cpu",
        "scikit-learn-intelex", "cupy-cuda12x", "cupy-cuda11x", "cupy", "cuml", "cuml-cu12", "dask-cuda",
    ) if m.get(pkg))
    memory = _f(m.get("memory_gib"), ".1f")
    date = m.get("date_utc") or data.get("datetime")
    python = f"**Python:** {m.get('python', DASH)} on {m.get('platform', DASH)}."
    lines = [
        f"**Machine:** {m.get('cpu_model') or 'unknown CPU'}, {cores}, {memory} GiB RAM, GPU: {gpu}.",
        f"**Profile:** `{m.get('profile', 'unknown')}`. **Date (UTC):** {date}. {python}",
    ]
    if versions:
        lines.append(f"**Versions:** {versions}" + (f"; BLAS: {blas}." if blas else "."))
    if m.get("scalecluster_source_sha256"):
        lines.append(f"**scalecluster source hash:** `{m['scalecluster_source_sha256']}`.")
    return "\n".join(lines)


# ------------------------------------------------------------------ KMeans
def numpy_tables(data: dict) -> str:
    parts = []
    gemm = _rows(data, "test_gemm_peak")
    if gemm:
        parts.append(f"float32 GEMM {gemm[0]['n']}×{gemm[0]['n']}: median {gemm[0]['seconds']:.3f} s = "
                     f"**{gemm[0]['gflops']:.0f} GFLOP/s** (the peak below).")
    lloyd = _rows(data, "test_numpy_lloyd") + _rows(data, "test_cupy_lloyd")
    for k in sorted({r["k"] for r in lloyd}):
        rows = [r for r in lloyd if r["k"] == k]
        lines = [[
            label(r), r.get("n_samples", DASH), f"{r['seconds']:.3f}", r["n_iter"], f"{1e3 * r['s_per_iter']:.1f}",
            DASH if r["impl"] == "scalecluster" or r["backend"] != "numpy"
            else _ratio(_ours(rows, r), "s_per_iter", r["impl"]),
            DASH if r["impl"] == "sklearn" and r["backend"] == "numpy" else _ratio(r, "s_per_iter"),
            f"{r['inertia_f64']:.7g}", _f(0.0 if r["impl"] == "sklearn" else r.get("inertia_rel_diff_vs_sklearn"), "+.1e"),
            _f(r.get("gflops"), ".1f"),
            DASH if r.get("fraction_of_gemm") is None else f"{100 * r['fraction_of_gemm']:.1f} %",
        ] for r in rows]  # fmt: skip
        parts.append(f"**k = {k}**\n\n" + _table(
            ["impl", "n", "fit s (median)", "n_iter", "ms / iter", "scalecluster / impl", "time / sklearn",
             "inertia (f64)", "rel. diff vs sklearn", "GFLOP/s", "of GEMM peak"], lines))
        for ours in rows:
            if "paired_ratio_s_per_iter_vs_sklearn" in ours:
                parts.append(f"Paired ratio scalecluster / sklearn at n = {ours['n_samples']:,} (back-to-back runs, "
                             f"median of rounds): **{ours['paired_ratio_s_per_iter_vs_sklearn']:.2f}**")
    return "\n\n".join(parts)


def dask_tables(data: dict) -> str:
    parts = []
    dask = _rows(data, "test_dask_fit") + _rows(data, "test_dask_cupy_fit")
    for init in ("k-means||", "array"):
        rows = [r for r in dask if r["init"] == init]
        if not rows:
            continue
        lines = [[
            label(r), r.get("n_samples", DASH), f"{r['seconds']:.2f}", r["n_iter"], f"{1e3 * r['s_per_iter']:.0f}",
            DASH if r["impl"] == "scalecluster" or r["backend"] != "numpy"
            else _ratio(_ours(rows, r), "seconds", r["impl"]),
            DASH if r["impl"] == "dask-ml" else _ratio(r, "seconds", "dask-ml"),
            f"{r['inertia_f64']:.7g}", f"{r['inertia_reported']:.7g}",
        ] for r in rows]  # fmt: skip
        parts.append(f"**init = {init}**\n\n" + _table(
            ["impl", "n", "fit s (median)", "n_iter", "ms / iter (incl. init)", "scalecluster / impl",
             "time / dask-ml", "inertia (f64, recomputed)", "inertia_ as reported"], lines))
    return "\n\n".join(parts)


def memory_table(data: dict) -> str:
    rows = _rows(data, "test_peak_memory")
    if not rows:
        return ""
    lines = [[
        r["case"], r["impl"], f"{r['x_mib']:.1f}", f"{r['extra_rss_mib']:.1f}", f"{r['extra_rss_over_x']:.2f}",
        f"{r['traced_peak_mib']:.1f}", _ratio(r, "extra_rss_mib") if r["impl"] != "sklearn" else DASH,
    ] for r in rows]
    return _table(["case", "impl", "X MiB", "extra peak RSS MiB", "extra / X", "tracemalloc peak MiB",
                   "scalecluster / sklearn"], lines)


def minibatch_table(data: dict) -> str:
    rows = _rows(data, "test_minibatch_in_memory") + _rows(data, "test_minibatch_backend")
    if not rows:
        return ""
    lines = [[
        label(r), r["n_samples"], r["n_steps"], f"{r['seconds']:.3f}", f"{r['rows_per_second'] / 1e6:.2f}",
        DASH if r["impl"] == "sklearn" else _f(r.get("throughput_vs_sklearn"), ".2f"),
        f"{r['inertia_f64']:.7g}", f"{r['inertia_vs_full_kmeans']:.4f}",
    ] for r in rows]
    return _table(["impl", "n", "steps", "fit s (median)", "M rows / s", "throughput / sklearn", "inertia (f64)",
                   "inertia / full KMeans"], lines)


# ----------------------------------------------------------------- metrics
def silhouette_table(data: dict) -> str:
    rows = _rows(data, "test_sampled_silhouette") + _rows(data, "test_sampled_silhouette_backend")
    if not rows:
        return ""
    lines = [[
        r["part"], r["backend"], r["n_samples"], r["sample_size"], r["seeds"],
        f"{1e3 * r['sklearn_seconds_median']:.1f}", f"{1e3 * r['scalecluster_seconds_median']:.1f}",
        f"{r['time_ratio_of_medians']:.2f}", _f(r.get("exact"), ".5f"),
        _f(r.get("sklearn_mean_abs_error"), ".2e"), _f(r.get("scalecluster_mean_abs_error"), ".2e"),
        _f(r.get("error_ratio"), ".2f"), _f(r.get("coverage"), ".2f"),
    ] for r in rows]
    return _table(["part", "backend", "n", "sample", "seeds", "sklearn ms (median)", "scalecluster ms (median)",
                   "time / sklearn", "exact", "sklearn mean abs. error", "scalecluster mean abs. error",
                   "error / sklearn's", "interval coverage"], lines)


def indices_table(data: dict) -> str:
    rows = _rows(data, "test_index_vs_sklearn") + _rows(data, "test_index_backend")
    if not rows:
        return ""
    lines = [[
        r["index"], r["backend"], r["n_samples"], r["rounds"], f"{1e3 * r['sklearn_seconds_median']:.1f}",
        f"{1e3 * r['scalecluster_seconds_median']:.1f}", f"{r['time_ratio_of_medians']:.2f}",
        f"{r['time_ratio_paired_median']:.2f}", f"{r['scalecluster_value']:.7g}", f"{r['relative_difference']:.1e}",
    ] for r in rows]
    return _table(["index", "backend", "n", "rounds", "sklearn ms (median)", "scalecluster ms (median)",
                   "time / sklearn", "paired ratio", "value", "rel. diff vs sklearn"], lines)


def overheads_table(data: dict) -> str:
    """``test_overheads.py``: small inputs, where fixed costs weigh most."""
    rows = _rows(data, "test_small_data_overheads")
    if not rows:
        return ""
    lines = [[
        r["case"], r["n_samples"], r["seeds"], f"{1e3 * r['sklearn_seconds_median']:.1f}",
        f"{1e3 * r['scalecluster_seconds_median']:.1f}", f"{r['time_ratio_of_medians']:.2f}",
        f"{r['time_ratio_paired_median']:.2f}", _f(r.get("time_ratio_paired_median_sklearn_first"), ".2f"),
        _f(r.get("time_ratio_paired_median_scalecluster_first"), ".2f"),
    ] for r in rows]
    return _table(["case", "n", "seeds", "sklearn ms (median)", "scalecluster ms (median)", "time / sklearn",
                   "paired ratio", "paired, sklearn first", "paired, scalecluster first"], lines)


# ------------------------------------------------------------------ hierarchical
def agglomerative_table(data: dict) -> str:
    """``test_hierarchical.py``: Ward fits, exact and two-stage, against scikit-learn in the same run."""
    rows = _rows(data, "test_agglomerative")
    if not rows:
        return ""
    lines = [[
        r["impl"], r["mode"], r["n"], _f(r.get("n_micro"), "d") if r.get("n_micro") else "-", f"{r['seconds']:.3f}",
        _f(r.get("ratio_seconds_vs_sklearn"), ".3f"), _f(r.get("ari_vs_sklearn"), ".4f"),
        "-" if "labels_equal_sklearn" not in r else ("yes" if r["labels_equal_sklearn"] else "NO"),
        _f(r.get("max_height_diff_vs_sklearn"), ".1e"),
    ] for r in sorted(rows, key=lambda r: (r["n"], r["impl"] != "sklearn", r["mode"]))]
    return _table(["impl", "mode", "n", "n_micro", "seconds (median)", "time / sklearn", "ARI vs sklearn",
                   "labels equal", "max height diff"], lines)


# ------------------------------------------------------------------ DBSCAN
def dbscan_tables(data: dict) -> str:
    rows = _rows(data, "test_dbscan_fit") + _rows(data, "test_dbscan_backend")
    parts = []
    for d in sorted({r["d"] for r in rows}):
        lines = []
        for n in sorted({r["n"] for r in rows if r["d"] == d}):
            group = [r for r in rows if r["d"] == d and r["n"] == n]
            lines += [[
                n, label(r), f"{r['seconds']:.3f}",
                DASH if r["impl"] == "sklearn" else _ratio(r, "seconds"),
                DASH if r["impl"] == "scalecluster" else _ratio(_ours(group, r), "seconds", r["impl"]),
                f"{r['ari_vs_sklearn']:.6f}", _f(r["labels_equal_sklearn"]), r["noise_mismatch"],
                r["n_clusters"], r["n_noise"],
            ] for r in group]  # fmt: skip
        parts.append(f"**{d}-D**\n\n" + _table(
            ["n", "impl", "fit s (median)", "time / sklearn", "scalecluster / impl", "ARI vs sklearn",
             "labels = sklearn's", "noise mismatch", "clusters", "noise"], lines))
    memory = _rows(data, "test_dbscan_peak_memory")
    if memory:
        lines = [[r["n"], r["impl"], f"{r['x_mib']:.1f}", f"{r['extra_rss_mib']:.1f}",
                  DASH if r["impl"] == "sklearn" else _ratio(r, "extra_rss_mib")] for r in memory]  # fmt: skip
        parts.append("**Peak memory (2-D, largest n)**\n\n" + _table(
            ["n", "impl", "X MiB", "extra peak RSS MiB", "impl / sklearn"], lines))
    return "\n\n".join(parts)


# --------------------------------------------------------------------- GPU
def _pct(value) -> str:
    return DASH if value is None else f"{100 * value:.1f} %"


def gpu_tables(data: dict) -> str:
    """``test_gpu.py``: the device, its yardsticks, and each row against its floor and its peers."""
    yard = _rows(data, "test_gpu_yardsticks")
    lloyd = _rows(data, "test_gpu_lloyd")
    versus = _rows(data, "test_gpu_lloyd_vs_numpy")
    dbscan = _rows(data, "test_gpu_dbscan")
    silhouette = _rows(data, "test_gpu_silhouette")
    rows = yard + lloyd + versus + dbscan + silhouette
    if not rows:
        return ""
    parts = []
    device = next((r["device"] for r in rows if r.get("device")), "unknown GPU")
    if yard:
        y = yard[0]
        parts.append(
            f"**Device:** {device}, {_f(y.get('device_memory_gib'), '.0f')} GiB, CuPy {y.get('cupy_version', DASH)}, "
            f"CUDA runtime {y.get('cuda_runtime_version', DASH)} (TF32 for float32 matmul: "
            f"{'on' if str(y.get('cupy_tf32')) == '1' else 'off'}).\n\n"
            f"**Yardsticks (same run):** float32 GEMM {y['gemm_n']}×{y['gemm_n']}: **{y['gemm_tflops']:.1f} TFLOP/s**; "
            f"device-to-device copy of {y['copy_bytes'] / 2**30:.2f} GiB: **{y['copy_gbps']:.0f} GB/s** (read + write). "
            "Floor = max(flops / GEMM rate, bytes read / copy rate); × floor = time / floor."
        )
    else:
        r = next((r for r in rows if r.get("gemm_tflops_measured")), {})
        parts.append(f"**Device:** {device}. **Yardsticks (same run):** float32 GEMM "
                     f"{_f(r.get('gemm_tflops_measured'), '.1f')} TFLOP/s, copy {_f(r.get('copy_gbps_measured'), '.0f')} GB/s.")  # fmt: skip
    for k in sorted({r["k"] for r in lloyd}):
        group = [r for r in lloyd if r["k"] == k]
        lines = [[
            r["impl"], r["n_samples"], r["n_iter"], f"{r['ms_per_iter']:.2f}", _f(r.get("tflops"), ".2f"),
            _pct(r.get("fraction_of_gemm")), _f(r.get("gbps"), ".0f"), _pct(r.get("fraction_of_bandwidth")),
            _f(r.get("floor_ms"), ".3f"), _f(r.get("times_floor"), ".1f"),
            DASH if r["impl"] == "plain-cupy" else _ratio(r, "s_per_iter", "plain-cupy"),
            _ratio(r, "s_per_iter", "cuml"), f"{r['inertia_f64']:.7g}",
            DASH if r["impl"] == "plain-cupy" else _f(r.get("inertia_rel_diff_vs_plain-cupy"), "+.1e"),
        ] for r in group]  # fmt: skip
        parts.append(f"**KMeans Lloyd, k = {k}** (per iteration, same centres and iterations)\n\n" + _table(
            ["impl", "n", "n_iter", "ms / iter", "TFLOP/s", "of GEMM", "GB/s", "of copy", "floor ms", "× floor",
             "time / plain CuPy", "time / cuML", "inertia (f64)", "rel. diff vs plain"], lines))
    if versus:
        lines = [[
            r["n_samples"], r["k"], f"{r['ms_per_iter']:.2f}", f"{r['ms_per_iter_numpy']:.2f}",
            f"{r['ratio_s_per_iter_vs_numpy']:.3f}", f"{r['speedup_vs_numpy']:.1f}", _f(r.get("times_floor"), ".1f"),
            _f(r.get("inertia_rel_diff_vs_numpy"), "+.1e"),
        ] for r in versus]  # fmt: skip
        parts.append("**KMeans Lloyd: scalecluster on CuPy vs on NumPy (this machine's CPUs)**\n\n" + _table(
            ["n", "k", "CuPy ms / iter", "NumPy ms / iter", "CuPy / NumPy", "speed-up", "× floor (CuPy)",
             "inertia rel. diff"], lines))
    if dbscan:
        lines = [[
            r["n"], r["d"], f"{r['eps']:.4g}", f"{r['seconds']:.3f}", f"{r['seconds_numpy']:.3f}",
            f"{r['ratio_seconds_vs_numpy']:.3f}", f"{r['speedup_vs_numpy']:.1f}", _f(r.get("labels_equal_numpy")),
            r["n_clusters"], r["n_noise"], _f(r.get("gpu_pool_peak_mib"), ".0f"), _f(r.get("on_device")),
        ] for r in dbscan]  # fmt: skip
        parts.append(f"**DBSCAN** (min_samples = {dbscan[0]['min_samples']}, ~40 neighbours per point; "
                     "time to NumPy labels)\n\n" + _table(
            ["n", "d", "eps", "CuPy s", "NumPy s", "CuPy / NumPy", "speed-up", "labels equal", "clusters", "noise",
             "GPU pool peak MiB (≤)", "on the device"], lines))  # fmt: skip
    if silhouette:
        lines = [[
            r["n_samples"], r["n_labels"], f"{r['seconds']:.3f}", f"{r['seconds_plain']:.3f}",
            f"{r['ratio_seconds_vs_plain-cupy']:.3f}", f"{r['floor_ms']:.1f}", f"{r['times_floor']:.1f}",
            f"{r['times_floor_plain']:.1f}", _f(r.get("tflops"), ".2f"), r["numpy_n_samples"],
            f"{r['seconds_numpy']:.2f}", f"{r['seconds_cupy_at_numpy_n']:.3f}", f"{r['speedup_vs_numpy']:.1f}",
            _f(r.get("max_abs_diff_vs_plain"), ".1e"), _f(r.get("max_abs_diff_vs_numpy"), ".1e"),
        ] for r in silhouette]  # fmt: skip
        parts.append("**Exact silhouette** (floor: n² d FMAs at the GEMM rate; NumPy on its n rows, the first of the "
                     "data)\n\n" + _table(
            ["n", "labels", "CuPy s", "plain CuPy s", "CuPy / plain", "floor ms", "× floor", "× floor (plain)",
             "TFLOP/s", "NumPy n", "NumPy s", "CuPy s at NumPy n", "speed-up", "max abs. diff vs plain",
             "vs NumPy"], lines))  # fmt: skip
    return "\n\n".join(parts)


SECTIONS = [
    ("KMeans: NumPy (and CuPy) Lloyd", numpy_tables),
    ("KMeans: Dask", dask_tables),
    ("KMeans: peak memory", memory_table),
    ("MiniBatchKMeans", minibatch_table),
    ("Sampled silhouette", silhouette_table),
    ("Davies–Bouldin and Calinski–Harabasz", indices_table),
    ("Small-data overheads", overheads_table),
    ("DBSCAN", dbscan_tables),
    ("AgglomerativeClustering (Ward)", agglomerative_table),
    ("GPU: against the device's yardsticks and plain CuPy", gpu_tables),
]


def markdown(data: dict) -> str:
    """The header and every section that has rows."""
    out = [header(data)]
    for title, make in SECTIONS:
        body = make(data)
        if body:
            out.append(f"## {title}\n\n{body}")
    return "\n\n".join(out) + "\n"


# ------------------------------------------------------------------ charts
def series(data: dict) -> dict[tuple[str, str], dict[str, dict[int, float]]]:
    """``{(chart file name, title): {line label: {n: seconds}}}`` for every benchmark with a size."""
    out: dict = defaultdict(lambda: defaultdict(dict))
    for r in _rows(data, "test_dbscan_fit") + _rows(data, "test_dbscan_backend"):
        out[f"dbscan_{r['d']}d", f"DBSCAN, {r['d']}-D, min_samples={r['min_samples']}"][label(r)][r["n"]] = r["seconds"]
    for r in _rows(data, "test_numpy_lloyd") + _rows(data, "test_cupy_lloyd"):
        out[f"kmeans_lloyd_k{r['k']}", f"KMeans Lloyd, k={r['k']}, {r['n_iter']} iterations"][label(r)][
            r["n_samples"]] = r["seconds"]
    for r in _rows(data, "test_dask_fit") + _rows(data, "test_dask_cupy_fit"):
        out[f"kmeans_dask_{r['init'].replace('|', '')}", f"KMeans fit on Dask, k={r['k']}, init={r['init']}"][
            label(r)][r["n_samples"]] = r["seconds"]
    for r in _rows(data, "test_minibatch_in_memory") + _rows(data, "test_minibatch_backend"):
        out["minibatch", "MiniBatchKMeans, 3 epochs"][label(r)][r["n_samples"]] = r["seconds"]
    for r in _rows(data, "test_index_vs_sklearn") + _rows(data, "test_index_backend"):
        lines = out[f"index_{r['index']}", r["index"].replace("_", "–").title() + " index"]
        if r["backend"] == "numpy":
            lines["sklearn"][r["n_samples"]] = r["sklearn_seconds_median"]
        lines[label({"impl": "scalecluster", "backend": r["backend"]})][r["n_samples"]] = r["scalecluster_seconds_median"]
    for r in _rows(data, "test_sampled_silhouette") + _rows(data, "test_sampled_silhouette_backend"):
        if r["part"] != "time":
            continue
        lines = out["silhouette_sampled", "Sampled silhouette, one seed"]
        if r["backend"] == "numpy":
            lines[f"sklearn (s={r['sample_size']})"][r["n_samples"]] = r["sklearn_seconds_median"]
        lines[label({"impl": "scalecluster", "backend": r["backend"]})][r["n_samples"]] = r["scalecluster_seconds_median"]
    return out


def charts(data: dict, directory: Path, stem: str) -> list[Path]:
    """One log-log PNG of time against n per benchmark that has at least two sizes; the paths written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = machine(data)
    subtitle = f"{m.get('cpu_model') or 'unknown CPU'}, {m.get('logical_cores')} cores, GPU: {m.get('gpu') or 'none'}"
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for (name, title), lines in sorted(series(data).items()):
        if len({n for points in lines.values() for n in points}) < 2:
            continue
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for line, points in sorted(lines.items()):
            ns = sorted(points)
            ax.plot(ns, [points[n] for n in ns], marker="o", label=line)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("n (rows)")
        ax.set_ylabel("seconds (median)")
        ax.set_title(f"{title}\n{subtitle}", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = directory / f"{stem}_{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__.split("\n")[0])
    parser.add_argument("json", nargs="+", help="pytest-benchmark JSON file(s) (--benchmark-json); merged")
    parser.add_argument("--charts", type=Path, default=None, help="directory for the PNG charts "
                        "(default: the first JSON file's directory)")  # fmt: skip
    parser.add_argument("--no-charts", action="store_true", help="tables only")
    parser.add_argument("--out", type=Path, default=None, help="write the Markdown here instead of stdout")
    args = parser.parse_args(argv)
    data = load(args.json)
    text = markdown(data)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text)
    if not args.no_charts:
        first = Path(args.json[0])
        for path in charts(data, args.charts or first.parent, first.stem):
            print(f"chart: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
