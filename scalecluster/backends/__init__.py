"""Backend dispatch: find the backend of an input from its type, once.

A backend describes the data and moves it (see :mod:`._base`); it holds no
algorithm.  Each algorithm's folder picks its own kernels for a backend.

>>> import numpy as np
>>> from scalecluster.backends import get_backend
>>> get_backend(np.zeros((3, 2))).name
'numpy'

The type is read from ``type(x).__module__`` so that asking about a NumPy
array never imports CuPy or Dask: a library the user did not use is never
loaded.  NumPy inputs beside Dask ones are allowed (they are small, e.g.
sample weights, and are moved into the Dask array's chunks); any other mix of
backends is a ``TypeError``.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from typing import Any

import numpy as np

from ._base import Backend

__all__ = ["Backend", "backend_name_of", "get_backend"]


def _module_root(obj: Any) -> str:
    return type(obj).__module__.split(".", 1)[0]


def backend_name_of(x: Any) -> str | None:
    """Name of the backend an input belongs to, without importing anything.

    Returns ``None`` for ``None``.  Lists, tuples, scalars, pandas objects and
    SciPy sparse matrices and other objects with ``__array__`` count as NumPy (they are converted on the host).

    Raises
    ------
    TypeError
        For an object that no backend accepts.
    """
    if x is None:
        return None
    if isinstance(x, (np.ndarray, np.generic, list, tuple, int, float)):
        return "numpy"
    root = _module_root(x)
    if root in ("scipy", "pandas"):
        return "numpy"
    if root in ("cupy", "cupyx"):
        return "cupy"
    if root == "dask" or root == "dask_expr":
        meta = getattr(x, "_meta", None)
        inner = "cupy" if meta is not None and _module_root(meta) in ("cupy", "cupyx") else "numpy"
        return f"dask[{inner}]"
    if root == "cudf":
        raise TypeError("cuDF inputs are not supported yet: convert with `.to_cupy()` first.")
    if hasattr(x, "__array__") or hasattr(x, "__array_interface__"):
        return "numpy"  # any other host array-like NumPy can convert
    raise TypeError(
        f"Expected a NumPy, CuPy or Dask array, a list, or a pandas or Dask DataFrame; got an object of type "
        f"{type(x).__module__}.{type(x).__qualname__}."
    )


def get_backend(*arrays: Any) -> Backend:
    """The backend shared by every non-``None`` input.

    Parameters
    ----------
    *arrays : array-likes or None
        ``X`` first, then anything that must live beside it (weights, init).

    Returns
    -------
    backend : Backend

    Raises
    ------
    TypeError
        When an input is of no known kind, or inputs belong to different
        backends (other than NumPy beside Dask over NumPy).
    """
    names = [n for n in (backend_name_of(a) for a in arrays) if n is not None]
    if not names:
        raise TypeError("No array was given.")
    kinds = set(names)
    if len(kinds) > 1 and kinds == {"numpy", "dask[numpy]"}:
        kinds = {"dask[numpy]"}
    if len(kinds) > 1:
        found = ", ".join(sorted(kinds))
        raise TypeError(
            f"Multiple backends for array inputs: {found}. Move every input to one backend "
            "(e.g. all CuPy, or all Dask) before calling."
        )
    return _backend(kinds.pop())


@lru_cache(maxsize=None)
def _backend(name: str) -> Backend:
    if name == "numpy":
        from .numpy_backend import NumpyBackend

        return NumpyBackend()
    if name == "cupy":
        from .cupy_backend import CupyBackend

        return CupyBackend()
    if name.startswith("dask["):
        from .dask_backend import DaskBackend

        return DaskBackend(_backend(name[5:-1]))
    raise ValueError(f"Unknown backend {name!r}.")


def cupy_is_loaded() -> bool:
    """Whether CuPy has been imported by anyone in this process."""
    return "cupy" in sys.modules
