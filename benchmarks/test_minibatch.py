"""MiniBatchKMeans in memory: throughput against scikit-learn's, same data, same run.

Both run a fixed number of epochs (``max_no_improvement=None``) with the same
batch size and seeding method, so both take the same number of steps; quality
is the final inertia (recomputed in float64) relative to full-batch KMeans on
the same data.  Nothing here asserts on time.
"""

from __future__ import annotations

import pytest
from sklearn.cluster import KMeans as SKKMeans
from sklearn.cluster import MiniBatchKMeans as SKMiniBatchKMeans

from benchmarks.test_kmeans import host, inertia64, measure
from scalecluster import MiniBatchKMeans

K, BATCH, EPOCHS = 16, 4096, 3


@pytest.fixture(scope="module")
def full_inertia(blobs):
    model = SKKMeans(K, n_init=1, random_state=0).fit(blobs)
    return inertia64(blobs, model.cluster_centers_)


@pytest.mark.parametrize("impl", ["sklearn", "scalecluster"])
def test_minibatch_in_memory(benchmark, blobs, full_inertia, profile, scoreboard, impl):
    cls = SKMiniBatchKMeans if impl == "sklearn" else MiniBatchKMeans
    make = lambda: cls(K, init="k-means++", batch_size=BATCH, max_iter=EPOCHS, max_no_improvement=None, random_state=0)  # noqa: E731
    make().fit(blobs[:50_000])  # warm-up (numba compilation)
    seconds, model = measure(lambda: make().fit(blobs), profile["rounds"], benchmark)
    rows_per_second = model.n_steps_ * BATCH / seconds
    scoreboard[("minibatch", impl)] = rows_per_second
    info = dict(
        impl=impl,
        n_samples=len(blobs),
        k=K,
        batch_size=BATCH,
        epochs=EPOCHS,
        n_steps=model.n_steps_,
        seconds=seconds,
        rows_per_second=rows_per_second,
        inertia_f64=inertia64(blobs, model.cluster_centers_),
        inertia_vs_full_kmeans=inertia64(blobs, model.cluster_centers_) / full_inertia,
    )
    peer = scoreboard.get(("minibatch", "sklearn"))
    if impl != "sklearn" and peer:
        info["throughput_vs_sklearn"] = rows_per_second / peer
    benchmark.extra_info.update(info)


@pytest.mark.parametrize("backend", ["dask", "cupy", "dask-cupy"])
def test_minibatch_backend(benchmark, request, blobs, full_inertia, profile, scoreboard, backend):
    """scalecluster's MiniBatchKMeans on the other backends (Dask streams its chunks), same settings."""
    X = request.getfixturevalue({"dask": "dask_blobs", "cupy": "cupy_blobs", "dask-cupy": "dask_cupy_blobs"}[backend])

    def make() -> MiniBatchKMeans:
        return MiniBatchKMeans(K, init="k-means++", batch_size=BATCH, max_iter=EPOCHS, max_no_improvement=None,
                               random_state=0)

    make().fit(X[:50_000])  # warm-up (numba compilation, kernels in every process)
    seconds, model = measure(lambda: make().fit(X), profile["rounds"], benchmark)
    centers = host(model.cluster_centers_)
    rows_per_second = model.n_steps_ * BATCH / seconds
    inertia = inertia64(blobs, centers)
    info = {
        "impl": "scalecluster", "backend": backend, "n_samples": len(blobs), "k": K, "batch_size": BATCH,
        "epochs": EPOCHS, "n_steps": model.n_steps_, "seconds": seconds, "rows_per_second": rows_per_second,
        "inertia_f64": inertia, "inertia_vs_full_kmeans": inertia / full_inertia,
    }
    for peer in ("sklearn", "scalecluster"):
        if scoreboard.get(("minibatch", peer)):
            info[f"throughput_vs_{peer}"] = rows_per_second / scoreboard[("minibatch", peer)]
    benchmark.extra_info.update(info)
