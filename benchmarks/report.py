"""Print the Markdown tables of ``RESULTS.md`` from a pytest-benchmark JSON file.

Usage::

    python benchmarks/report.py benchmarks/results/regular.json
"""

from __future__ import annotations

import json
import sys


def _rows(data: dict, prefix: str) -> list[dict]:
    return [b["extra_info"] for b in data["benchmarks"] if b["name"].startswith(prefix)]


def _table(header: list[str], lines: list[list]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(x) for x in line) + " |" for line in lines]
    return "\n".join(out)


def _ratio(row: dict, key: str, peer: str = "sklearn") -> str:
    value = row.get(f"ratio_{key}_vs_{peer}")
    return "—" if value is None else f"{value:.2f}"


def numpy_tables(data: dict) -> str:
    parts = []
    gemm = _rows(data, "test_gemm_peak")
    if gemm:
        parts.append(f"float32 GEMM {gemm[0]['n']}×{gemm[0]['n']}: median {gemm[0]['seconds']:.3f} s = "
                     f"**{gemm[0]['gflops']:.0f} GFLOP/s** (the peak below).")
    for k in (16, 64):
        rows = [r for r in _rows(data, "test_numpy_lloyd") if r["k"] == k]
        ours = next((r for r in rows if r["impl"] == "scalecluster"), {})
        lines = [[
            r["impl"], f"{r['seconds']:.3f}", r["n_iter"], f"{1e3 * r['s_per_iter']:.1f}",
            "—" if r is ours else _ratio(ours, "s_per_iter", r["impl"]),
            f"{r['inertia_f64']:.7g}", f"{r.get('inertia_rel_diff_vs_sklearn', 0.0):+.1e}",
            f"{r['gflops']:.1f}", f"{100 * r['fraction_of_gemm']:.1f} %",
        ] for r in rows]
        parts.append(f"**k = {k}**\n\n" + _table(
            ["impl", "fit s (median)", "n_iter", "ms / iter", "scalecluster / impl", "inertia (f64)",
             "rel. diff vs sklearn", "GFLOP/s", "of GEMM peak"], lines))
        if "paired_ratio_s_per_iter_vs_sklearn" in ours:
            parts.append(f"Paired ratio scalecluster / sklearn (back-to-back runs, median of rounds): "
                         f"**{ours['paired_ratio_s_per_iter_vs_sklearn']:.2f}**")
    return "\n\n".join(parts)


def dask_tables(data: dict) -> str:
    parts = []
    for init in ("k-means||", "array"):
        rows = [r for r in _rows(data, "test_dask_fit") if r["init"] == init]
        ours = next((r for r in rows if r["impl"] == "scalecluster"), {})
        lines = [[
            r["impl"], f"{r['seconds']:.2f}", r["n_iter"], f"{1e3 * r['s_per_iter']:.0f}",
            "—" if r is ours else _ratio(ours, "seconds", r["impl"]),
            f"{r['inertia_f64']:.7g}", f"{r['inertia_reported']:.7g}",
        ] for r in rows]
        parts.append(f"**init = {init}**\n\n" + _table(
            ["impl", "fit s (median)", "n_iter", "ms / iter (incl. init)", "scalecluster / impl",
             "inertia (f64, recomputed)", "inertia_ as reported"], lines))
    return "\n\n".join(parts)


def memory_table(data: dict) -> str:
    rows = _rows(data, "test_peak_memory")
    lines = [[
        r["case"], r["impl"], f"{r['x_mib']:.1f}", f"{r['extra_rss_mib']:.1f}", f"{r['extra_rss_over_x']:.2f}",
        f"{r['traced_peak_mib']:.1f}", _ratio(r, "extra_rss_mib") if r["impl"] != "sklearn" else "—",
    ] for r in rows]
    return _table(["case", "impl", "X MiB", "extra peak RSS MiB", "extra / X", "tracemalloc peak MiB",
                   "scalecluster / sklearn"], lines)


if __name__ == "__main__":
    data = json.load(open(sys.argv[1]))
    print("## NumPy Lloyd\n\n" + numpy_tables(data))
    print("\n## Dask\n\n" + dask_tables(data))
    print("\n## Peak memory\n\n" + memory_table(data))
