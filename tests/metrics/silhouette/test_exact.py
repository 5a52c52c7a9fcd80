"""The exact silhouette (``scalecluster/metrics/silhouette/_exact.py``) equals scikit-learn's on every backend."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.datasets import make_blobs

from scalecluster import config_context
from scalecluster.metrics import silhouette_samples, silhouette_score
from tests.conftest import to_backend
from tests.metrics._data import CHUNK, DATASETS, IDS, _labels_for


@pytest.mark.parametrize("name, X, y", DATASETS, ids=IDS)
def test_exact_silhouette_equals_sklearn(backend_name, name, X, y):
    Xb, yb = to_backend(X, backend_name, CHUNK), _labels_for(backend_name, y)
    with config_context(working_memory=0.5):  # many small blocks
        ours = silhouette_samples(Xb, yb)
        score = silhouette_score(Xb, yb)
    np.testing.assert_allclose(ours, skm.silhouette_samples(X, y), rtol=1e-6, atol=1e-9)
    assert score == pytest.approx(skm.silhouette_score(X, y), abs=1e-6)


def test_silhouette_with_string_labels_and_singletons():
    X, y = make_blobs(60, 2, centers=3, random_state=1)
    labels = np.array(["a", "b", "c"])[y]
    labels[0] = "alone"
    np.testing.assert_allclose(silhouette_samples(X, labels), skm.silhouette_samples(X, labels), atol=1e-9)

