"""Small generated data sets on disk, and one in-process Dask cluster per module."""

from __future__ import annotations

import pandas as pd
import pytest

from scalecluster.datasets import make_flows, make_transactions

N_CUSTOMERS = 5_000
N_FLOWS = 30_000


@pytest.fixture(scope="session")
def transactions(tmp_path_factory):
    """(transactions folder, true behaviour per customer id) for 5000 customers in 3 Parquet parts.

    The ids of ``truth`` are text, as the jobs read customer ids."""
    root = tmp_path_factory.mktemp("transactions") / "data"
    lines, customers = make_transactions(N_CUSTOMERS, path=root, n_partitions=3, random_state=0)
    truth = pd.read_parquet(customers).set_index("customer_id")["behaviour"]
    truth.index = truth.index.astype(str)
    return lines, truth


@pytest.fixture(scope="session")
def flows(tmp_path_factory):
    """The folder of 30000 generated flows (1 % anomalies) in 3 Parquet parts."""
    root = tmp_path_factory.mktemp("flows") / "data"
    (path,) = make_flows(N_FLOWS, path=root, n_partitions=3, random_state=0)
    return path


@pytest.fixture(scope="module")
def client():
    """An in-process LocalCluster (2 workers, 1 thread each), closed after the module."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as cluster, distributed.Client(cluster) as client:
        yield client
