"""scikit-learn's own estimator contract, run on our KMeans."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from scalecluster import DBSCAN, KMeans

# Checks we cannot pass, with the reason. scikit-learn lists the same two for
# its own KMeans: the seeding draws rows at random, so weighting a row by 2 and
# repeating it twice consume the random stream differently.
_WEIGHT_EQUIVALENCE = "sample_weight is not equivalent to removing/repeating samples: the seeding is random."
EXPECTED_FAILED_CHECKS: dict[str, str] = {
    "check_sample_weight_equivalence_on_dense_data": _WEIGHT_EQUIVALENCE,
    "check_sample_weight_equivalence_on_sparse_data": _WEIGHT_EQUIVALENCE,
}


@parametrize_with_checks(
    [
        KMeans(n_clusters=3, random_state=0),
        KMeans(n_clusters=2, init="k-means++", max_iter=5, random_state=0),
        DBSCAN(),
        DBSCAN(algorithm="tree"),
    ],
    expected_failed_checks=lambda est: (
        EXPECTED_FAILED_CHECKS if isinstance(est, KMeans) else {}
    ),
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
