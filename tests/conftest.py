"""Shared fixtures: the backends that can run here, and conversions to them.

Without a GPU, numba's CUDA simulator is switched on for the whole run (before
anything imports numba), so the CUDA kernels — tests marked ``cudasim`` — run
in CI on small data.  Set ``NUMBA_ENABLE_CUDASIM=0`` to opt out.
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest


def _gpu_available() -> bool:
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no driver, no device
        return False


GPU = _gpu_available()
needs_gpu = pytest.mark.skipif(not GPU, reason="needs CuPy and a CUDA GPU")

if not GPU:
    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
    import numba.core.config

    numba.core.config.reload_config()  # in case a plugin imported numba before this file

#: Whether CUDA kernels can run at all here: on a GPU, or in numba's simulator.
CUDA_KERNELS = GPU or os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
needs_cuda_kernels = pytest.mark.skipif(
    not CUDA_KERNELS, reason="needs a CUDA GPU or numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1)"
)


def cuda_kernel_backend():
    """The backend CUDA kernels are tested on: CuPy on a GPU; NumPy arrays through numba's simulator without one.

    Its name, ``cuda-test``, is in no kernel table: tests call the CUDA
    implementations directly with it.
    """
    from scalecluster.backends._array import ArrayBackend

    if GPU:
        import cupy

        backend = ArrayBackend(cupy, "cuda-test")
        backend.to_host = cupy.asnumpy  # type: ignore[method-assign]
        return backend
    return ArrayBackend(np, "cuda-test")

BACKENDS = [
    "numpy",
    "dask",
    pytest.param("cupy", marks=[needs_gpu, pytest.mark.gpu]),
    pytest.param("dask-cupy", marks=[needs_gpu, pytest.mark.gpu]),
]


def to_backend(X: np.ndarray, name: str, chunk_rows: int | None = None):
    """``X`` (NumPy) as an array of backend ``name``."""
    if name == "numpy":
        return X
    if name == "cupy":
        import cupy

        return cupy.asarray(X)
    import dask.array as da

    rows = chunk_rows or max(1, -(-X.shape[0] // 4))
    chunks = (rows,) + X.shape[1:]
    if name == "dask":
        return da.from_array(X, chunks=chunks)
    if name == "dask-cupy":
        import cupy

        return da.from_array(X, chunks=chunks).map_blocks(cupy.asarray)
    raise ValueError(name)


def to_numpy(a) -> np.ndarray:
    """Any backend's array (or a Dask array) as NumPy."""
    if hasattr(a, "compute"):
        a = a.compute()
    if type(a).__module__.startswith("cupy"):
        import cupy

        return cupy.asnumpy(a)
    return np.asarray(a)


@pytest.fixture(params=BACKENDS)
def backend_name(request) -> str:
    return request.param


@pytest.fixture(autouse=True, scope="session")
def _synchronous_dask():
    """Tests use Dask's threaded scheduler unless they start a cluster themselves."""
    import dask

    with dask.config.set(scheduler="threads"):
        yield


def pytest_collection_modifyitems(config, items):
    """On a GPU the kernel-parity tests (``cudasim``) run on the device: ``-m gpu`` selects them too."""
    if not GPU:
        return
    for item in items:
        if item.get_closest_marker("cudasim") is not None:
            item.add_marker(pytest.mark.gpu)
