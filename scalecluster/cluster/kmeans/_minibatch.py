"""MiniBatchKMeans: Sculley-style per-centre learning rates, and streaming over Dask chunks.

Each step assigns one batch to the nearest centres (one sweep of the KMeans
operations) and
moves every centre that received rows to the weighted mean of its old
position, counted ``counts[j]`` times, and its new rows: the per-centre
learning rate ``w / (counts[j] + w)`` of Sculley (WWW 2010), as in
scikit-learn.  Centres that keep receiving too little are moved onto random
rows of a batch, and early stopping watches an exponentially weighted average
of the batch inertia.

In memory (NumPy, CuPy) batches are drawn at random with replacement, as in
scikit-learn, so a fit with the same seed follows scikit-learn's steps.  On Dask
the chunks are streamed in a new random order each epoch: one chunk at a time
is brought to the driver, shuffled and cut into batches, so the data never has
to fit in memory.  (Precisely: a few chunks at a time are shuffled together,
see ``_CHUNKS_MIXED``, because sorted data makes one-chunk batches biased.)  ``partial_fit`` takes one batch of any backend (or a chunk).
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.utils import check_random_state

from ..._param_validation import ARRAY_LIKE, BOOLEAN, CALLABLE, NONE, RANDOM_STATE, Interval, Options, validate_params
from ..._validation import check_sample_weight, check_X
from ...backends import Backend, get_backend
from ._estimator import KMeans
from ._ops import KMeansOps, kmeans_ops


class MiniBatchKMeans(KMeans):
    """K-Means on mini-batches, in memory or streamed from Dask chunks.

    Parameters
    ----------
    n_clusters : int, default=8
    init : {"k-means||", "k-means++", "random"}, callable or array of shape (n_clusters, n_features), default="k-means||"
        Seeding, run on ``init_size`` rows drawn at random (a callable gets
        those rows, in memory, as in scikit-learn; see :class:`KMeans`).
    max_iter : int, default=100
        Epochs: passes over the data (the number of steps is
        ``max_iter * n_samples // batch_size``).
    batch_size : int, default=1024
    verbose : int or bool, default=0
        Print scikit-learn's messages: each seeding and its held-out inertia,
        every step's batch inertia and its smoothed average, reassignments,
        and why the fit stopped.
    compute_labels : bool, default=True
        Compute ``labels_`` and ``inertia_`` on the whole data at the end.
    random_state : int, RandomState instance or None, default=None
    tol : float, default=0.0
        Stop when the squared change of the centres in a step is at most
        ``tol`` times the mean feature variance (0 disables it).
    max_no_improvement : int or None, default=10
        Stop after this many steps without improvement of the smoothed inertia.
    init_size : int, default=None
        Rows the seeding sees: ``3 * batch_size`` by default, or
        ``3 * n_clusters`` when that is fewer than ``n_clusters`` (as in
        scikit-learn). A value below ``n_clusters`` warns (``RuntimeWarning``)
        and is replaced by ``3 * n_clusters``; never more than the rows of ``X``.
    n_init : "auto" or int, default="auto"
        Seedings tried (1, or 3 for ``"random"`` and a callable); the best on
        a held-out sample wins.
    reassignment_ratio : float, default=0.01
        Centres whose count falls below this fraction of the largest are moved
        onto random rows.
    oversampling_factor : float, default=2.0
    init_max_iter : int, default=5
        k-means|| parameters (see :class:`KMeans`).

    Attributes
    ----------
    cluster_centers_, labels_, inertia_, n_features_in_, feature_names_in_
        As in :class:`KMeans` (``labels_`` only with ``compute_labels``).
    n_steps_ : int
        Mini-batch steps run.
    n_iter_ : int
        Epochs started.

    Notes
    -----
    Per step O(batch_size · k · d) time.  In memory the data is held once; on
    Dask the driver holds one chunk at a time, and the final labels and
    inertia take one pass over the chunks.
    """

    _parameter_constraints: dict = {
        **KMeans._parameter_constraints,
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "compute_labels": [BOOLEAN],
        "max_no_improvement": [Interval(Integral, 0, None, closed="left"), NONE],
        "init_size": [Interval(Integral, 1, None, closed="left"), NONE],
        "reassignment_ratio": [Interval(Real, 0, None, closed="left")],
        "init": [Options("k-means||", "k-means++", "random"), CALLABLE, ARRAY_LIKE],
        "random_state": [RANDOM_STATE],
    }
    _parameter_constraints.pop("algorithm")
    _parameter_constraints.pop("copy_x")
    _parameter_constraints.pop("persist")  # batches are streamed: nothing is persisted

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: Any = "k-means||",
        max_iter: int = 100,
        batch_size: int = 1024,
        verbose: int = 0,
        compute_labels: bool = True,
        random_state: Any = None,
        tol: float = 0.0,
        max_no_improvement: int | None = 10,
        init_size: int | None = None,
        n_init: Any = "auto",
        reassignment_ratio: float = 0.01,
        oversampling_factor: float = 2.0,
        init_max_iter: int = 5,
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.verbose = verbose
        self.compute_labels = compute_labels
        self.random_state = random_state
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.init_size = init_size
        self.n_init = n_init
        self.reassignment_ratio = reassignment_ratio
        self.oversampling_factor = oversampling_factor
        self.init_max_iter = init_max_iter

    # ------------------------------------------------------------ helpers
    #: ``n_init="auto"`` for ``"random"`` and a callable ``init`` (scikit-learn's: 3 for MiniBatchKMeans).
    _default_n_init = 3

    def _sizes(self, n_samples: int) -> tuple[int, int]:
        """Batch size and init size for ``n_samples`` rows, as scikit-learn resolves them."""
        batch = min(self.batch_size, n_samples)
        init_size = self.init_size
        if init_size is None:
            init_size = 3 * batch
            if init_size < self.n_clusters:
                init_size = 3 * self.n_clusters
        elif init_size < self.n_clusters:
            init_size = 3 * self.n_clusters
        return batch, min(init_size, n_samples)

    def _warn_init_size(self) -> None:
        if self.init_size is not None and self.init_size < self.n_clusters:
            warnings.warn(
                f"init_size={self.init_size} should be larger than n_clusters={self.n_clusters}. "
                "Setting it to min(3*n_clusters, n_samples)",
                RuntimeWarning,
                stacklevel=3,
            )

    def _start(self, backend: Backend, X: Any, weights: Any, rng: np.random.RandomState) -> np.ndarray:
        """Seed on ``init_size`` random rows; keep the seeding with the best held-out inertia."""
        n = X.shape[0]
        _, init_size = self._sizes(n)
        explicit = self._explicit_init(X.shape[1])
        validation = rng.randint(0, n, init_size)
        X_valid, w_valid = _rows(backend, X, validation), _rows(backend, weights, validation)
        best, best_inertia = None, None
        n_init = self._n_init = self._resolved_n_init(explicit)
        for i in range(n_init):
            if self.verbose:
                print(f"Init {i + 1}/{n_init} with method {self.init}")
            centers = self._seed_on_sample(backend, X, weights, rng, explicit)
            inertia = kmeans_ops(get_backend(X_valid)).accumulate(X_valid, w_valid, centers).inertia
            if self.verbose:
                print(f"Inertia for init {i + 1}/{n_init}: {inertia}")
            if best_inertia is None or inertia < best_inertia:
                best, best_inertia = centers, inertia
        return np.asarray(best, dtype=np.float64)

    def _seed_on_sample(self, backend: Backend, X: Any, weights: Any, rng: Any, explicit: Any) -> np.ndarray:
        """Seed on ``init_size`` random rows (drawn even for explicit centres, as
        scikit-learn does, so that the random stream matches)."""
        n = X.shape[0]
        _, init_size = self._sizes(n)
        if init_size < n:
            pick = rng.randint(0, n, init_size)
            X, weights = _rows(backend, X, pick), _rows(backend, weights, pick)
        elif backend.lazy:  # a few Dask rows: seeded in memory, and checked on the way
            every = np.arange(n)
            X, weights = _rows(backend, X, every), _rows(backend, weights, every)
        # k-means|| sizes its recluster trials by the rows the centres are for: all n.
        centers = self._seed(kmeans_ops(get_backend(X)), X, weights, rng, explicit, data_rows=n)[0]
        return np.asarray(centers, dtype=np.float64)

    def _step(self, ops: KMeansOps, X: Any, weights: Any, rng: np.random.RandomState, batch: int) -> float:
        """One mini-batch step on ``X`` (in memory); returns the batch inertia before the move."""
        centers, counts = self._centers64, self._counts
        # Reassign every 10 * k rows seen, or whenever a centre has none yet
        # (decided before the step, as scikit-learn does).
        self._n_since_last_reassign += batch
        reassign = bool((counts == 0).any() or self._n_since_last_reassign >= 10 * self.n_clusters)
        if reassign:
            self._n_since_last_reassign = 0
        acc = ops.accumulate(X, weights, centers.astype(X.dtype))
        hit = acc.weight_sums > 0
        total = counts[hit] + acc.weight_sums[hit]
        centers[hit] = (centers[hit] * counts[hit, None] + acc.sums[hit]) / total[:, None]
        counts[hit] = total
        if reassign:
            self._reassign(ops, X, rng)
        self._centers64 = centers.astype(X.dtype).astype(np.float64)
        return acc.inertia

    def _reassign(self, ops: KMeansOps, X: Any, rng: np.random.RandomState) -> None:
        if self.reassignment_ratio <= 0:
            return
        counts = self._counts
        to_reassign = counts < self.reassignment_ratio * counts.max()
        if to_reassign.sum() > 0.5 * X.shape[0]:
            to_reassign[np.argsort(counts)[int(0.5 * X.shape[0]) :]] = False
        n_moves = int(to_reassign.sum())
        if n_moves:
            rows = rng.choice(X.shape[0], replace=False, size=n_moves)
            if self.verbose:
                print(f"[MiniBatchKMeans] Reassigning {n_moves} cluster centers.")
            self._centers64[to_reassign] = ops.take_rows(X, rows)
            counts[to_reassign] = np.min(counts[~to_reassign])

    def _converged(
        self, step: int, n_steps: int, n_samples: int, batch: int, shift: float, batch_inertia: float, may_stop: bool = True
    ) -> bool:
        """scikit-learn's early stopping: centre change, or no gain in the smoothed inertia (and its messages).

        ``may_stop=False`` keeps the running averages up to date without stopping.
        """
        batch_inertia /= batch
        if step == 0:  # the first batch's inertia is the seeding's
            if self.verbose:
                print(f"Minibatch step {step + 1}/{n_steps}: mean batch inertia: {batch_inertia}")
            return False
        if self._ewa_inertia is None:
            self._ewa_inertia = batch_inertia
        else:
            alpha = min(batch * 2.0 / (n_samples + 1), 1.0)
            self._ewa_inertia = self._ewa_inertia * (1 - alpha) + batch_inertia * alpha
        if self.verbose:
            print(
                f"Minibatch step {step + 1}/{n_steps}: mean batch inertia: {batch_inertia}, "
                f"ewa inertia: {self._ewa_inertia}"
            )
        if self._tol > 0.0 and shift <= self._tol and may_stop:
            if self.verbose:
                print(f"Converged (small centers change) at step {step + 1}/{n_steps}")
            return True
        if self._ewa_inertia_min is None or self._ewa_inertia < self._ewa_inertia_min:
            self._no_improvement = 0
            self._ewa_inertia_min = self._ewa_inertia
        else:
            self._no_improvement += 1
        if may_stop and self.max_no_improvement is not None and self._no_improvement >= self.max_no_improvement:
            if self.verbose:
                print(f"Converged (lack of improvement in inertia) at step {step + 1}/{n_steps}")
            return True
        return False

    def _reset_state(self, centers: np.ndarray) -> None:
        self._centers64 = centers.copy()
        self._counts = np.zeros(self.n_clusters)
        self._n_since_last_reassign = 0
        self._ewa_inertia = None
        self._ewa_inertia_min = None
        self._no_improvement = 0

    # ---------------------------------------------------------------- fit
    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> "MiniBatchKMeans":
        """Fit on mini-batches: random batches in memory, streamed chunks on Dask.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self
        """
        validate_params(self._parameter_constraints, self.get_params(deep=False), type(self).__name__)
        backend, X = check_X(self, X, reset=True)
        n = X.shape[0]
        if n < self.n_clusters:
            raise ValueError(f"n_samples={n} should be >= n_clusters={self.n_clusters}.")
        weights = check_sample_weight(backend, X, sample_weight)
        self._explicit_init(X.shape[1])  # a wrong init shape fails before any work
        self._warn_init_size()
        # On Dask nothing is persisted: chunks are streamed, and each is
        # checked for NaN/inf when it arrives.
        X, weights, summary = backend.describe(X, weights, need_variance=self.tol > 0, persist=False)
        if summary is not None:  # None: Dask chunks, each checked as it is streamed
            summary.check(X.dtype)
        self._tol = self.tol * summary.mean_variance if self.tol > 0 else 0.0
        rng = self._random_state = check_random_state(self.random_state)  # partial_fit may continue
        self._reset_state(self._start(backend, X, weights, rng))
        batch, self._init_size = self._sizes(n)
        self._batch_size = batch
        n_steps = (self.max_iter * n) // batch
        ops = kmeans_ops(backend)
        if backend.lazy:
            step = self._stream_epochs(ops, X, weights, batch, n_steps, rng)
        else:
            step = self._random_batches(ops, X, weights, batch, n_steps, rng)
        self.n_steps_ = step
        self.n_iter_ = int(np.ceil(step * batch / n))
        self._publish(backend, X.dtype)
        if self.compute_labels:
            labels, final = ops.assign(X, weights, self._centers64.astype(X.dtype))
            self.labels_, self.inertia_ = labels, float(final.inertia)
        else:
            self.inertia_ = float(self._ewa_inertia or 0.0) * float(backend.to_host(weights.sum()))
        return self

    def _random_batches(self, ops: KMeansOps, X: Any, weights: Any, batch: int, n_steps: int, rng: Any) -> int:
        backend = ops.backend
        w_host = np.asarray(backend.to_host(weights))
        p = w_host / w_host.sum()
        unit = backend.from_host(np.ones(batch))
        for i in range(n_steps):
            index = rng.choice(X.shape[0], batch, p=p, replace=True)
            before = self._centers64.copy()
            inertia = self._step(ops, X[backend.from_host(index)], unit, rng, batch)
            shift = float(((self._centers64 - before) ** 2).sum()) if self._tol > 0 else 0.0
            if self._converged(i, n_steps, X.shape[0], batch, shift, inertia):
                return i + 1
        return n_steps

    def _stream_epochs(self, ops: KMeansOps, X: Any, weights: Any, batch: int, n_steps: int, rng: Any) -> int:
        chunk_backend = ops.backend.chunk
        chunk_ops = kmeans_ops(chunk_backend)
        # Empty chunks (e.g. a filtered DataFrame's empty partitions) hold no
        # batch: they are left out, never computed.
        sizes = X.chunks[0]
        x_parts = [p for p, size in zip(X.to_delayed().ravel(), sizes) if size]
        w_parts = [p for p, size in zip(weights.to_delayed().ravel(), sizes) if size]
        step, epoch = 0, 0
        while step < n_steps:
            epoch += 1
            if epoch == 2:  # judge improvement only from the first full pass on
                self._ewa_inertia_min, self._no_improvement = None, 0
            chunks = rng.permutation(len(x_parts))
            for g in range(0, len(chunks), _CHUNKS_MIXED):
                group = chunks[g : g + _CHUNKS_MIXED]
                parts = _compute(*[x_parts[c] for c in group], *[w_parts[c] for c in group])
                xp = chunk_backend.xp
                X_chunk = xp.concatenate(parts[: len(group)])
                w_chunk = xp.concatenate(parts[len(group) :])
                chunk_backend.block_stats(X_chunk, spread=False).check(X.dtype, f"X (chunks {sorted(group.tolist())})")
                order = chunk_backend.from_host(rng.permutation(X_chunk.shape[0]))
                for start in range(0, X_chunk.shape[0], batch):
                    rows = order[start : start + batch]
                    size = int(rows.shape[0])  # the last batch of a chunk may be short
                    before = self._centers64.copy()
                    inertia = self._step(chunk_ops, X_chunk[rows], w_chunk[rows], rng, size)
                    shift = float(((self._centers64 - before) ** 2).sum()) if self._tol > 0 else 0.0
                    # Chunks are often sorted (by time, by key): no early stop
                    # before every chunk has been seen once.
                    if self._converged(step, n_steps, X.shape[0], size, shift, inertia, may_stop=epoch > 1):
                        return step + 1
                    step += 1
                    if step >= n_steps:
                        return step
        return step

    def _publish(self, backend: Backend, dtype: Any) -> None:
        self.cluster_centers_ = backend.from_host(self._centers64.astype(dtype))
        self._n_features_out = self.n_clusters

    def partial_fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> "MiniBatchKMeans":
        """One mini-batch step on ``X`` (a NumPy/CuPy batch, or one Dask chunk, brought in memory).

        The first call seeds the centres on ``X``.  An empty Dask chunk (say,
        a filtered partition) is no step: the call returns at once.  An
        empty in-memory batch is an error, as in scikit-learn.

        Returns
        -------
        self
        """
        first = not hasattr(self, "_counts")
        if first:
            validate_params(self._parameter_constraints, self.get_params(deep=False), type(self).__name__)
            self._warn_init_size()
        if _empty_dask_chunk(X):
            # An empty partition of a stream: no rows, no step (in-memory input
            # without rows is an error, as in scikit-learn).
            if not first and X.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {X.shape[1]} features, but {type(self).__name__} is expecting {self.n_features_in_} features as input."
                )
            return self
        backend, X = check_X(self, X, reset=first)
        weights = check_sample_weight(backend, X, sample_weight)
        if backend.lazy:  # a chunk (or a few): bring it into memory
            X, weights = _compute(X, weights)
            backend = get_backend(X)
        # Every batch is checked here, Dask chunks included (they arrive as NumPy or CuPy).
        backend.block_stats(X, spread=False).check(X.dtype)
        if first:
            if X.shape[0] < self.n_clusters:
                raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={self.n_clusters}.")
            self._random_state = check_random_state(self.random_state)
            explicit = self._explicit_init(X.shape[1])
            self._reset_state(self._seed_on_sample(backend, X, weights, self._random_state, explicit))
            self.n_steps_ = 0
        ops = kmeans_ops(backend)
        self._step(ops, X, weights, self._random_state, self._sizes(X.shape[0])[0])
        self.n_steps_ += 1
        self._publish(backend, X.dtype)
        if self.compute_labels:
            labels, final = ops.assign(X, weights, self._centers64.astype(X.dtype))
            self.labels_, self.inertia_ = labels, float(final.inertia)
        return self


#: Chunks shuffled together into one stream of batches.  Data is often sorted
#: (by time, by key), so one chunk alone makes unrepresentative batches; mixing
#: a few keeps the driver's memory at a few chunks.
_CHUNKS_MIXED = 4


def _empty_dask_chunk(X: Any) -> bool:
    """Whether ``X`` is a Dask array with no rows (an empty chunk of a stream)."""
    from ...backends import backend_name_of

    name = backend_name_of(X)
    if name is None or not name.startswith("dask") or not hasattr(X, "chunks") or hasattr(X, "columns"):
        return False
    return X.ndim == 2 and not np.isnan(X.shape[0]) and X.shape[0] == 0


def _rows(backend: Backend, a: Any, index: np.ndarray) -> Any:
    """Rows of ``a`` at host ``index``, in memory of the chunk type (a small sample).

    Streamed Dask data has not been checked yet when the seeding samples it:
    sampled rows of ``X`` are checked here (NaN/inf, range), before any use.
    """
    if backend.lazy:
        import dask

        (out,) = dask.compute(a[index])
        if out.ndim == 2:
            backend.chunk.block_stats(out, spread=False).check(out.dtype)
        return out
    return a[backend.from_host(index)]


def _compute(*arrays: Any) -> tuple:
    import dask

    return dask.compute(*arrays)
