"""scikit-learn's own estimator contract, run on AgglomerativeClustering (exact and two-stage)."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from scalecluster import AgglomerativeClustering


@parametrize_with_checks(
    [
        AgglomerativeClustering(),
        AgglomerativeClustering(linkage="average", n_clusters=3),
        # Beyond 10 rows the checks' data goes through the two-stage path.
        AgglomerativeClustering(n_clusters=2, n_micro=10, random_state=0),
    ]
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
