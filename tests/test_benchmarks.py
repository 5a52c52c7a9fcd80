"""Smoke test of the benchmark suite: every benchmark at the ``fast`` profile, then the report.

The fast profile's sizes are small on purpose (seconds per benchmark): this
checks that the suite and ``benchmarks/report.py`` work, not how fast anything
is.  Peers that are not installed and the GPU rows without a GPU skip.  All
output (the JSON, the silhouette's exact-value cache, the Markdown, the charts)
goes to a temporary directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Every benchmark function of the suite; each must produce a row on a CPU-only machine.
CPU_BENCHMARKS = {
    "test_gemm_peak", "test_numpy_lloyd", "test_dask_fit", "test_peak_memory",
    "test_minibatch_in_memory", "test_minibatch_backend",
    "test_index_vs_sklearn", "test_index_backend",
    "test_sampled_silhouette", "test_sampled_silhouette_backend",
    "test_dbscan_fit", "test_dbscan_backend", "test_dbscan_peak_memory",
    "test_small_data_overheads",
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_fast_profile_and_report(tmp_path):
    for module in ("pytest_benchmark", "psutil", "threadpoolctl", "matplotlib"):
        pytest.importorskip(module, reason=f"the benchmarks need {module} (pip install -e .[test])")
    out = tmp_path / "fast.json"
    env = dict(os.environ, SCALECLUSTER_BENCHMARK_RESULTS=str(tmp_path / "results"), PYTHONDONTWRITEBYTECODE="1",
               MPLBACKEND="Agg")  # fmt: skip
    bench = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "benchmarks"), "--profile", "fast", "--benchmark-only",
         f"--benchmark-json={out}", "-q", "-x", "-p", "no:cacheprovider"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=840, check=False,
    )  # fmt: skip
    assert bench.returncode == 0, bench.stdout[-6000:] + bench.stderr[-3000:]

    data = json.loads(out.read_text())
    ran = {b["name"].split("[")[0] for b in data["benchmarks"]}
    assert CPU_BENCHMARKS <= ran, f"no row from {sorted(CPU_BENCHMARKS - ran)}"
    assert data["machine_info"]["scalecluster"]["profile"] == "fast"
    assert data["machine_info"]["scalecluster"]["cpu_model"]

    report, charts = tmp_path / "report.md", tmp_path / "charts"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.report", str(out), "--charts", str(charts), "--out", str(report)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    text = report.read_text()
    for heading in ("**Machine:**", "## KMeans: NumPy", "## KMeans: Dask", "## KMeans: peak memory", "## MiniBatchKMeans",
                    "## Sampled silhouette", "## Davies–Bouldin", "## DBSCAN", "time / sklearn"):  # fmt: skip
        assert heading in text, heading
    png = charts / "fast_dbscan_2d.png"  # the fast profile has two 2-D DBSCAN sizes
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
