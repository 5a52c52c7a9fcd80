"""Finding the backend of an input, and refusing mixes."""

from __future__ import annotations

import subprocess
import sys

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from scalecluster.backends import backend_name_of, get_backend


@pytest.mark.parametrize(
    "x, name",
    [
        (np.zeros((2, 2)), "numpy"),
        ([[1.0, 2.0]], "numpy"),
        (pd.DataFrame({"a": [1.0]}), "numpy"),
        (sp.csr_matrix(np.eye(2)), "numpy"),
        (da.zeros((4, 2), chunks=2), "dask[numpy]"),
        (None, None),
    ],
)
def test_backend_name_of(x, name):
    assert backend_name_of(x) == name


def test_dask_dataframe_is_dask_over_numpy():
    import dask.dataframe as dd

    assert backend_name_of(dd.from_pandas(pd.DataFrame({"a": [1.0, 2.0]}), npartitions=1)) == "dask[numpy]"


def test_numpy_beside_dask_is_dask():
    assert get_backend(da.zeros((4, 2), chunks=2), np.ones(4)).name == "dask[numpy]"


def test_mixed_backends_are_a_type_error():
    class FakeCupyArray:
        pass

    FakeCupyArray.__module__ = "cupy._core.core"
    with pytest.raises(TypeError, match="Multiple backends for array inputs: cupy, numpy"):
        get_backend(np.zeros(3), FakeCupyArray())
    with pytest.raises(TypeError, match="Multiple backends"):
        get_backend(da.zeros(3, chunks=1), FakeCupyArray())


def test_unknown_object_is_a_type_error():
    with pytest.raises(TypeError, match="got an object of type builtins.dict"):
        get_backend({"a": 1})
    with pytest.raises(TypeError, match="No array"):
        get_backend(None)


def test_import_loads_no_gpu_cluster_or_plotting_library():
    code = (
        "import sys, numpy as np, scalecluster\n"
        "X = np.random.rand(100, 3)\n"
        "scalecluster.KMeans(n_clusters=2, random_state=0).fit(X)\n"
        "scalecluster.DBSCAN(eps=0.3).fit(X)\n"
        "scalecluster.metrics.silhouette_score(X, np.arange(100) % 3)\n"
        "bad = [m for m in ('cupy', 'numba.cuda', 'distributed', 'matplotlib') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
