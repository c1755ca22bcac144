"""Models for implicit feedback: confidence-weighted ALS (Hu, Koren and Volinsky 2008) and BPR (Rendle et al. 2009)."""

import sys
import time

import numpy as np
import scipy.sparse as sp

from ..data.ids import IdMap
from ..data.ratings import as_ratings
from ..exceptions import FitError
from ..kernels.bpr import bpr_epoch, bpr_fold_in, bpr_fold_in_traced, items_by_group
from ..kernels.implicit_als import gram, implicit_cg_rows, implicit_cholesky_rows
from ..kernels.predict import predict_pairs
from ..kernels.sgd import balanced_groups, group_by_block
from ..kernels.threads import numba_threads, resolve_threads
from ..kernels.topk import topk_blocked, topk_cosine
from ..persist import decode_ids, encode_ids, save
from .base import Estimator, check_choice, check_float, check_int, resolve_rng
from .recommender import Recommender, clip_bounds

__all__ = ["ImplicitALS", "BPR"]

ALS_SOLVERS = ("cg", "cholesky")
NEGATIVES = ("uniform", "popularity")
UNKNOWN = ("cold_start", "nan", "raise")
BPR_GROUPS = 8
BPR_MIN_GROUP_ITEMS = 64
"""Fewest items per item group: a block column draws its negatives from one group."""
SERIAL_GRAM_FMAS = 1 << 24
SERIAL_ROWS = 64
BPR_POSITIVES_PER_THREAD = 100_000


class _ImplicitModel:
    """What the implicit-feedback models share: input, the recommender hooks that only need factors, persistence."""

    _explicit = False

    # ------------------------------------------------------------------ input
    def _binarize(self):
        return check_float(self.binarize, "binarize", allow_none=True)

    def _training_data(self, X, y):
        if y is not None:
            raise TypeError(
                f"{type(self).__name__}.fit takes no y: pass the values inside X (mf.Ratings, a scipy sparse "
                f"matrix or a (users, items[, values]) tuple)"
            )
        data = as_ratings(X, "X")
        user_items = data.to_csr()
        train = positives(user_items, self._binarize(), "X")
        return data, user_items, train

    def _positives(self, indptr, indices, data, name="ratings"):
        csr = sp.csr_matrix((data, indices, indptr), shape=(indptr.size - 1, len(self.item_map_)), copy=False)
        return positives(csr, self._binarize(), name, allow_empty=True)

    def _set_fitted(self, data, user_items, history):
        self.user_map_ = data.user_map
        self.item_map_ = data.item_map
        self.user_items_ = user_items
        self.history_ = history

    def _print(self, line):
        if check_int(self.verbose, "verbose", 0):
            print(line, file=sys.stdout, flush=True)

    # ------------------------------------------------------------------ scores
    def predict(self, users, items, clip=False):
        """Scores of (user, item) pairs of raw ids, the numbers :meth:`recommend` ranks by.

        Parameters
        ----------
        users, items : array-like of shape (n,)
            Raw ids, one pair per position.
        clip : False or (float, float), default False
            A ``(low, high)`` pair clips the scores to that range (implicit
            scores have no natural range, so there is nothing to clip to by
            default).

        Returns
        -------
        numpy.ndarray of float32, shape (n,)
            With ``unknown="cold_start"`` an unknown user gets the item's
            cold-start score (see :meth:`recommend`) and an unknown item 0;
            ``"nan"`` gives NaN for both, ``"raise"`` raises ``KeyError``.

        Examples
        --------
        >>> import mf
        >>> clicks = mf.Ratings([1, 1, 2, 3, 3], [10, 20, 10, 20, 30])  # no values: implicit data
        >>> model = mf.ImplicitALS(factors=2, iterations=3, random_state=0).fit(clicks)
        >>> scores = model.predict([1, 1, 99], [10, 30, 10])
        >>> bool(scores[0] > scores[1]), float(scores[2])  # user 99 is unknown: item 10's 2 positives
        (True, 2.0)
        """
        self._check_fitted("user_factors_")
        unknown = check_choice(self.unknown, "unknown", UNKNOWN)
        if clip is True:
            raise ValueError("clip=True needs a rating range, which implicit scores lack; pass clip=(low, high)")
        bounds = clip_bounds(clip, None)
        u, i = self._pair_indices(users, items, unknown == "raise")
        bias = self._item_scores_bias()
        out = np.empty(u.size, dtype=np.float32)
        with numba_threads(resolve_threads(self.n_threads)):
            predict_pairs(u, i, self.user_factors_, self.item_factors_, np.zeros(len(self.user_map_), np.float32),
                          np.zeros(len(self.item_map_), np.float32) if bias is None else bias, np.float32(0.0), out)
        cold = (u < 0) & (i >= 0)
        if unknown == "nan":
            out[(u < 0) | (i < 0)] = np.nan
        elif cold.any():
            out[cold] = self._popularity()[i[cold]]
        if bounds is not None:
            np.clip(out, bounds[0], bounds[1], out=out)
        return out

    # ------------------------------------------------------------------ recommender hooks
    def _stored_state(self):
        return self.user_factors_

    def _fold_in_result(self, state):
        return state[0], 0.0

    def _item_scores_bias(self):
        return None

    def _rank(self, state, rows, n, seen, cols):
        indptr, indices = seen if seen is not None else (None, None)
        return topk_blocked(state, self.item_factors_, rows, n, item_bias=self._item_scores_bias(), indptr=indptr,
                            indices=indices, candidates=cols, n_threads=self.n_threads)

    def _popularity(self):
        train = positives(self.user_items_, self._binarize(), "user_items_", allow_empty=True)
        return np.bincount(train.indices, minlength=len(self.item_map_)).astype(np.float32)

    def _similar(self, kind, rows, n):
        factors = self.item_factors_ if kind == "items" else self.user_factors_
        return topk_cosine(factors, rows, n, n_threads=self.n_threads)

    def _grow_users(self, n_new):
        k = self.user_factors_.shape[1]
        self.user_factors_ = np.concatenate([self.user_factors_, np.zeros((n_new, k), dtype=np.float32)])

    # ------------------------------------------------------------------ persistence
    def save(self, path):
        """Write the fitted model to ``path`` (one ``.npz``; see :func:`mf.load`).

        Examples
        --------
        >>> import os, tempfile, mf
        >>> clicks = mf.Ratings([1, 1, 2, 3, 3], [10, 20, 10, 20, 30])  # no values: implicit data
        >>> model = mf.ImplicitALS(factors=2, iterations=3, random_state=0).fit(clicks)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     loaded = mf.load(model.save(os.path.join(folder, "clicks.npz")))
        >>> type(loaded).__name__, bool((loaded.item_factors_ == model.item_factors_).all())
        ('ImplicitALS', True)
        """
        self._check_fitted("user_factors_")
        return save(self, path)

    def _base_state(self):
        arrays = {"user_factors": self.user_factors_, "item_factors": self.item_factors_, **self._history_state()}
        meta = {"history": self.history_}
        encode_ids(self.user_map_.ids, "user_ids", arrays, meta)
        encode_ids(self.item_map_.ids, "item_ids", arrays, meta)
        return arrays, meta

    def _set_base_state(self, arrays, meta):
        self.user_factors_ = arrays["user_factors"]
        self.item_factors_ = arrays["item_factors"]
        self.user_map_ = IdMap(decode_ids("user_ids", arrays, meta), "users")
        self.item_map_ = IdMap(decode_ids("item_ids", arrays, meta), "items")
        self.history_ = meta["history"]
        self._set_history(arrays)


class ImplicitALS(_ImplicitModel, Recommender, Estimator):
    """Matrix factorisation of implicit feedback by weighted alternating least squares.

    Every (user, item) cell takes part (Hu, Koren and Volinsky 2008). A
    stored value ``r_ui`` gives the cell confidence ``c_ui = 1 + alpha *
    r_ui`` and preference ``p_ui = [r_ui > 0]``; a cell without a value has
    ``c = 1`` and ``p = 0``. The model minimises::

        sum_{u, i} c_ui (p_ui - x_u . y_i)^2 + reg * (sum_u |x_u|^2 + sum_i |y_i|^2)

    by alternating exact or conjugate-gradient solves of the users' and the
    items' ridge problems. Each half-step computes the Gram matrix of the
    fixed side once and adds per row only the stored cells' corrections, so
    an iteration costs ``O(nnz k + (n_users + n_items) k^2)`` with CG
    (Takacs, Pilaszy and Tikk 2011) and ``O(nnz k^2 + (n_users + n_items)
    k^3)`` with Cholesky. Scores are ``x_u . y_i``.

    Parameters
    ----------
    factors : int, default 64
        Dimension of the user and item vectors.
    reg : float, default 0.01
        L2 regularisation (see the objective).
    alpha : float, default 1.0
        Confidence slope: ``c = 1 + alpha * r``. Must be > 0.
    iterations : int, default 15
        Alternating iterations (a user half-step then an item half-step).
    solver : {"cg", "cholesky"}, default "cg"
        ``"cg"``: ``cg_steps`` conjugate-gradient steps per row, started from
        the row's previous vector. ``"cholesky"``: the exact solution of each
        row (float64), so the objective never increases.
    cg_steps : int, default 3
        CG steps per row and half-step (CG is exact after ``factors`` steps).
    binarize : float, optional
        If given, values ``>= binarize`` become positives of value 1 and the
        others are dropped (e.g. ``binarize=4`` on 1-5 star ratings).
        Otherwise every value is a confidence and must be ``>= 0``.
    unknown : {"cold_start", "nan", "raise"}, default "cold_start"
        :meth:`predict` for users or items not seen in training: the
        cold-start score (see :meth:`recommend`), NaN, or ``KeyError``
        (``recommend`` then raises for unknown users too).
    random_state : int, numpy Generator or None
        Seeds the initial factors (normal, standard deviation 0.01).
    n_threads : int, optional
        Threads for the kernels (default: all cores).
    verbose : int, default 0
        1 prints one line per iteration.

    Attributes
    ----------
    user_factors_, item_factors_ : ndarray of float32, shape (n, factors)
    user_map_, item_map_ : IdMap
    user_items_ : scipy.sparse.csr_matrix
        The training values as given (before ``binarize``): each user's history.
    history_ : dict
        ``iteration``, ``loss`` (the objective above after the iteration)
        and ``seconds`` per iteration.

    Notes
    -----
    Users and items without a positive get zero vectors (their exact
    solution). The cold-start ranking (:meth:`recommend` for users without
    a history) is by number of positives.
    :meth:`fold_in`, :meth:`recommend_for` and :meth:`partial_fit_users`
    solve the user's problem exactly (Cholesky) whatever the ``solver``, with
    the item factors fixed. :meth:`explain` splits the score ``x . y_i`` of
    that exact solution ``x`` (Hu et al. 2008, section 5): item ``j`` of the
    history contributes ``c_uj p_uj y_i^T W_u y_j`` with ``W_u = (Y^T C_u Y +
    reg I)^-1``, and the baseline is 0. (The trained ``x_u`` was solved
    against the item factors of the previous half-step, so its score differs
    slightly.)

    Each row is solved independently and sums are taken in a fixed order,
    so a fit is bitwise reproducible for a fixed ``random_state`` whatever
    ``n_threads``.

    Examples
    --------
    >>> import numpy as np, mf
    >>> users = np.repeat(np.arange(40), 4)  # 4 groups of users, each liking 4 of its group's 5 items
    >>> items = (users % 4) * 5 + (users // 4 + np.tile(np.arange(4), 40)) % 5
    >>> model = mf.ImplicitALS(factors=4, random_state=0).fit(mf.Ratings(users, items))
    >>> loss = model.history_["loss"]
    >>> bool(loss[-1] < loss[0])
    True
    >>> model.recommend(0, n=1)[0]  # user 0 likes items 0-3; item 4 is its group's missing one
    array([4])
    """

    def __init__(
        self,
        factors=64,
        reg=0.01,
        alpha=1.0,
        iterations=15,
        solver="cg",
        cg_steps=3,
        binarize=None,
        unknown="cold_start",
        random_state=None,
        n_threads=None,
        verbose=0,
    ):
        self.factors = factors
        self.reg = reg
        self.alpha = alpha
        self.iterations = iterations
        self.solver = solver
        self.cg_steps = cg_steps
        self.binarize = binarize
        self.unknown = unknown
        self.random_state = random_state
        self.n_threads = n_threads
        self.verbose = verbose

    def _validated(self):
        return {
            "factors": check_int(self.factors, "factors", 1, 4096),
            "reg": check_float(self.reg, "reg", 0.0),
            "alpha": check_float(self.alpha, "alpha", 0.0, low_inclusive=False),
            "iterations": check_int(self.iterations, "iterations", 1),
            "solver": check_choice(self.solver, "solver", ALS_SOLVERS),
            "cg_steps": check_int(self.cg_steps, "cg_steps", 1),
            "binarize": self._binarize(),
            "unknown": check_choice(self.unknown, "unknown", UNKNOWN),
            "n_threads": resolve_threads(self.n_threads),
            "verbose": check_int(self.verbose, "verbose", 0),
        }

    def fit(self, X, y=None):
        """Fit the model.

        Parameters
        ----------
        X : Ratings, scipy sparse matrix (users x items), (users, items[, values]) tuple or DataFrame
            Interactions; values are confidences (or ratings to ``binarize``).
        y : None
            Not used (present for scikit-learn compatibility).

        Returns
        -------
        self

        Examples
        --------
        >>> import mf
        >>> clicks = mf.Ratings([1, 1, 2, 3, 3], [10, 20, 10, 20, 30])  # no values: implicit data
        >>> model = mf.ImplicitALS(factors=2, iterations=3, random_state=0).fit(clicks)
        >>> model.history_["iteration"], model.user_factors_.shape, model.item_factors_.shape
        ([1, 2, 3], (3, 2), (3, 2))
        """
        p = self._validated()
        data, user_items, train = self._training_data(X, y)
        rng = resolve_rng(self.random_state)
        n_users, n_items = train.shape
        k = p["factors"]
        U = (rng.standard_normal((n_users, k)) * 0.01).astype(np.float32)
        V = (rng.standard_normal((n_items, k)) * 0.01).astype(np.float32)
        by_item = train.T.tocsr()
        users = np.arange(n_users, dtype=np.int64)
        items = np.arange(n_items, dtype=np.int64)
        history = {"iteration": [], "loss": [], "seconds": []}
        with numba_threads(p["n_threads"]):
            gram_v = gram_of(V, p["n_threads"])
            for it in range(p["iterations"]):
                start = time.perf_counter()
                self._half_step(users, train, V, gram_v, U, p)
                gram_u = gram_of(U, p["n_threads"])
                sse = self._half_step(items, by_item, U, gram_u, V, p)
                gram_v = gram_of(V, p["n_threads"])
                loss = sse + p["reg"] * (np.trace(gram_u) + np.trace(gram_v))
                seconds = time.perf_counter() - start
                if not np.isfinite(loss):
                    raise FitError(
                        f"ImplicitALS diverged at iteration {it + 1} (loss {loss}); values may be too large for "
                        f"float32 confidences: lower alpha (now {p['alpha']}) or raise reg (now {p['reg']})"
                    )
                history["iteration"].append(it + 1)
                history["loss"].append(float(loss))
                history["seconds"].append(seconds)
                self._print(f"Iteration {it + 1}/{p['iterations']} - {seconds:.3f}s - loss: {loss:.6g}")
        self.user_factors_ = U
        self.item_factors_ = V
        self._gram = (V, gram_v)
        self._set_fitted(data, user_items, history)
        return self

    @staticmethod
    def _half_step(rows, csr, Y, gram_y, X, p):
        if p["solver"] == "cg":
            return implicit_cg_rows(rows, csr.indptr, csr.indices, csr.data, Y, gram_y, p["reg"], p["alpha"],
                                    p["cg_steps"], X)
        return implicit_cholesky_rows(rows, csr.indptr, csr.indices, csr.data, Y, gram_y, p["reg"], p["alpha"], X)

    # ------------------------------------------------------------------ recommender hooks
    def _item_gram(self):
        cached = getattr(self, "_gram", None)
        if cached is None or cached[0] is not self.item_factors_:
            self._gram = (self.item_factors_, gram_of(self.item_factors_, resolve_threads(self.n_threads)))
        return self._gram[1]

    def _solve_users(self, rows, indptr, indices, data, X):
        p = self._validated()
        values = preferences(data, p["binarize"], "ratings")
        with numba_threads(threads_for(rows.size, SERIAL_ROWS, p["n_threads"])):
            sse = implicit_cholesky_rows(rows, indptr, indices, values, self.item_factors_, self._item_gram(),
                                         p["reg"], p["alpha"], X)
        if not np.isfinite(sse):
            raise FitError(f"a user's system was not positive definite; increase reg (now {p['reg']})")

    def _fold_in_state(self, indptr, indices, data):
        m = indptr.size - 1
        X = np.zeros((m, self.item_factors_.shape[1]), dtype=np.float32)
        self._solve_users(np.arange(m, dtype=np.int64), indptr, indices, data, X)
        return X

    def _refit_users(self, rows):
        csr = self.user_items_
        self._solve_users(rows.astype(np.int64), csr.indptr, csr.indices, csr.data, self.user_factors_)

    def _explain(self, u, i):
        p = self._validated()
        csr = self.user_items_
        lo, hi = csr.indptr[u], csr.indptr[u + 1]
        cols = csr.indices[lo:hi]
        values = preferences(csr.data[lo:hi], p["binarize"], "user_items_").astype(np.float64)
        confidence = 1.0 + p["alpha"] * values
        Y = self.item_factors_.astype(np.float64)
        Z = Y[cols]
        A = self._item_gram() + Z.T @ ((confidence - 1.0)[:, None] * Z) + p["reg"] * np.eye(Y.shape[1])
        weights = np.linalg.solve(A, Y[i])
        return cols, confidence * (values > 0) * (Z @ weights), 0.0

    # ------------------------------------------------------------------ persistence
    def _get_state(self):
        return self._base_state()

    def _set_state(self, arrays, meta):
        self._set_base_state(arrays, meta)


class BPR(_ImplicitModel, Recommender, Estimator):
    """Bayesian personalised ranking: matrix factorisation trained to rank each user's positives first.

    Rendle et al. (2009). Scores are ``x_u . y_i + b_i``; SGD on triples of a
    user ``u``, one of its positives ``i`` and a sampled negative ``j``
    minimises::

        sum_(u, i, j) -ln sigmoid(x_u . (y_i - y_j) + b_i - b_j)
                      + reg / 2 * (|x_u|^2 + |y_i|^2 + |y_j|^2 + b_i^2 + b_j^2)

    An epoch takes one sample per positive (positives drawn with
    replacement); a negative that is a positive of ``u`` is skipped. Users
    and items are cut into a grid of blocks run in parallel without locks
    (see :mod:`mf.kernels.bpr`): in an update, ``j`` is drawn among the items
    of ``i``'s block column. Items are dealt to the columns at random anew
    every epoch (balanced by popularity), so over the epochs every item is a
    possible negative of every positive. The grid has 8 columns (more with
    more threads), fewer for catalogues under 512 items so that a column
    holds at least 64 items: a single column, and no parallelism, below 128.

    Parameters
    ----------
    factors : int, default 64
    lr : float, default 0.01
        SGD learning rate.
    reg : float, default 0.01
        L2 regularisation per update (see the objective).
    epochs : int, default 100
    negatives : {"uniform", "popularity"}, default "uniform"
        How negatives are drawn: every item equally likely, or in proportion
        to its number of positives (the ``implicit`` library's sampling).
    biases : bool, default True
        Learn an item bias ``b_i`` (a user bias would cancel in every
        comparison, so there is none).
    init_scale : float, optional
        Standard deviation of the normal initial factors; default
        ``0.1 / sqrt(factors)`` (vectors of norm about 0.1). Item biases
        start at 0.
    binarize : float, optional
        If given, values ``>= binarize`` are positives and the others are
        dropped; otherwise every value ``> 0`` is a positive (values are not
        weights in BPR) and negative values are an error.
    unknown : {"cold_start", "nan", "raise"}, default "cold_start"
        :meth:`predict` for users or items not seen in training: the
        cold-start score (see :meth:`recommend`), NaN, or ``KeyError``
        (``recommend`` then raises for unknown users too).
    random_state : int, numpy Generator or None
        Seeds the initial factors, the block grids and every sample.
    n_threads : int, optional
        Threads for the kernels (default: all cores). An epoch synchronises
        its threads once per stratum (8 times), so a fit uses at most one
        thread per 100,000 positives.
    verbose : int, default 0
        1 prints one line per epoch.

    Attributes
    ----------
    user_factors_, item_factors_ : ndarray of float32, shape (n, factors)
    item_bias_ : ndarray of float32, shape (n_items,)
        Zeros when ``biases=False``.
    user_map_, item_map_ : IdMap
    user_items_ : scipy.sparse.csr_matrix
        The training values as given (before ``binarize``): each user's history.
    history_ : dict
        Per epoch: ``loss`` (mean ``-ln sigmoid`` of the scored samples before
        their update), ``train_auc`` (fraction of them ranking the positive
        first), ``skipped`` (fraction of samples whose negative was a
        positive) and ``seconds``.

    Notes
    -----
    Reproducibility: each block draws its samples from its own RNG state,
    so an epoch's result depends only on ``random_state`` and the grid size
    ``max(8, n_threads)``. A fit is therefore bitwise reproducible for a
    fixed ``random_state`` with any ``n_threads`` up to 8, and for a fixed
    ``random_state`` and ``n_threads`` above that.

    :meth:`fold_in`, :meth:`recommend_for` and :meth:`partial_fit_users` fit
    a user's vector from zeros by ``epochs`` passes of the same SGD over its
    positives with the items frozen (from a seed fixed at ``fit``, so a
    history always gives the same vector). Users without a positive get zero
    vectors, so their scores are the item biases, which are also the
    cold-start ranking (the number of positives when ``biases=False``).
    :meth:`explain` traces that fold-in: the user's vector is a sum of
    ``lr * sigmoid(-score) * (y_i - y_j)`` steps shrunk by ``1 - lr * reg``
    at every step, so its score splits into one part per positive ``i`` of
    the history plus a baseline (the item bias minus the negatives' part).

    Examples
    --------
    >>> import numpy as np, mf
    >>> users = np.repeat(np.arange(40), 4)  # 4 groups of users, each liking 4 of its group's 5 items
    >>> items = (users % 4) * 5 + (users // 4 + np.tile(np.arange(4), 40)) % 5
    >>> model = mf.BPR(factors=8, lr=0.05, epochs=50, random_state=0).fit(mf.Ratings(users, items))
    >>> model.history_["train_auc"][-1] > 0.9
    True
    >>> model.recommend(0, n=1)[0]
    array([4])
    """

    def __init__(
        self,
        factors=64,
        lr=0.01,
        reg=0.01,
        epochs=100,
        negatives="uniform",
        biases=True,
        init_scale=None,
        binarize=None,
        unknown="cold_start",
        random_state=None,
        n_threads=None,
        verbose=0,
    ):
        self.factors = factors
        self.lr = lr
        self.reg = reg
        self.epochs = epochs
        self.negatives = negatives
        self.biases = biases
        self.init_scale = init_scale
        self.binarize = binarize
        self.unknown = unknown
        self.random_state = random_state
        self.n_threads = n_threads
        self.verbose = verbose

    def _validated(self):
        if not isinstance(self.biases, (bool, np.bool_)):
            raise TypeError(f"biases must be True or False, got {self.biases!r}")
        factors = check_int(self.factors, "factors", 1, 4096)
        init_scale = check_float(self.init_scale, "init_scale", 0.0, allow_none=True)
        return {
            "factors": factors,
            "init_scale": 0.1 / np.sqrt(factors) if init_scale is None else init_scale,
            "lr": check_float(self.lr, "lr", 0.0, low_inclusive=False),
            "reg": check_float(self.reg, "reg", 0.0),
            "epochs": check_int(self.epochs, "epochs", 1),
            "negatives": check_choice(self.negatives, "negatives", NEGATIVES),
            "biases": bool(self.biases),
            "binarize": self._binarize(),
            "unknown": check_choice(self.unknown, "unknown", UNKNOWN),
            "n_threads": resolve_threads(self.n_threads),
            "verbose": check_int(self.verbose, "verbose", 0),
        }

    def fit(self, X, y=None):
        """Fit the model.

        Parameters
        ----------
        X : Ratings, scipy sparse matrix (users x items), (users, items[, values]) tuple or DataFrame
            Interactions; every value ``> 0`` (or ``>= binarize``) is a positive.
        y : None
            Not used (present for scikit-learn compatibility).

        Returns
        -------
        self

        Examples
        --------
        >>> import numpy as np, mf
        >>> users = np.repeat(np.arange(40), 4)
        >>> items = (users % 4) * 5 + (users // 4 + np.tile(np.arange(4), 40)) % 5
        >>> model = mf.BPR(factors=8, epochs=5, random_state=0).fit(mf.Ratings(users, items))
        >>> sorted(model.history_), model.item_factors_.shape
        (['epoch', 'loss', 'seconds', 'skipped', 'train_auc'], (20, 8))
        """
        p = self._validated()
        data, user_items, train = self._training_data(X, y)
        rng = resolve_rng(self.random_state)
        n_users, n_items = train.shape
        k = p["factors"]
        # Small catalogues get fewer (down to one) groups, so that negatives are not drawn from a handful of items.
        groups = max(1, min(max(BPR_GROUPS, p["n_threads"]), n_items // BPR_MIN_GROUP_ITEMS))
        counts = np.diff(train.indptr)
        u = np.repeat(np.arange(n_users, dtype=np.int32), counts)
        i = train.indices.astype(np.int32, copy=False)
        item_counts = np.bincount(i, minlength=n_items)
        user_group = balanced_groups(counts, groups, rng)
        bu, bi, scratch = np.empty_like(u), np.empty_like(i), np.empty_like(train.data)
        ptr = np.empty(groups * groups + 1, dtype=np.int64)
        pool_ptr, pool = np.empty(groups + 1, dtype=np.int64), np.empty(n_items, dtype=np.int32)
        popularity = p["negatives"] == "popularity"
        P = (rng.standard_normal((n_users, k)) * p["init_scale"]).astype(np.float32)
        P[counts == 0] = 0.0
        Q = (rng.standard_normal((n_items, k)) * p["init_scale"]).astype(np.float32)
        b = np.zeros(n_items, dtype=np.float32)
        fold_seed = int(rng.integers(0, 2**63))
        history = {"epoch": [], "loss": [], "train_auc": [], "skipped": [], "seconds": []}
        with numba_threads(threads_for(train.nnz, BPR_POSITIVES_PER_THREAD, p["n_threads"])):
            for epoch in range(p["epochs"]):
                start = time.perf_counter()
                item_group = balanced_groups(item_counts, groups, rng)
                group_by_block(u, i, user_group, item_group, groups, bu, bi, train.data, scratch, ptr)
                items_by_group(item_group, groups, pool_ptr, pool)
                strata = rng.permutation(groups).astype(np.int64)
                seeds = rng.integers(0, 2**63, size=groups * groups, dtype=np.int64).astype(np.uint64)
                loss, correct, skipped = bpr_epoch(ptr, bu, bi, groups, strata, seeds, pool_ptr, pool, popularity,
                                                   P, Q, b, p["lr"], p["reg"], p["biases"])
                seconds = time.perf_counter() - start
                scored = max(train.nnz - skipped, 1)
                mean_loss = loss / scored
                last = epoch + 1 == p["epochs"]
                if not np.isfinite(mean_loss) or (last and not all(np.isfinite(a).all() for a in (P, Q, b))):
                    raise FitError(
                        f"BPR diverged at epoch {epoch + 1} (loss {mean_loss}); use a smaller lr (now {p['lr']}) "
                        f"or a larger reg (now {p['reg']})"
                    )
                history["epoch"].append(epoch + 1)
                history["loss"].append(float(mean_loss))
                history["train_auc"].append(correct / scored)
                history["skipped"].append(skipped / train.nnz)
                history["seconds"].append(seconds)
                self._print(f"Epoch {epoch + 1}/{p['epochs']} - {seconds:.3f}s - loss: {mean_loss:.4f} - "
                            f"train_auc: {correct / scored:.4f}")
        self.user_factors_ = P
        self.item_factors_ = Q
        self.item_bias_ = b
        self.fold_in_seed_ = fold_seed
        self._set_fitted(data, user_items, history)
        return self

    # ------------------------------------------------------------------ recommender hooks
    def _item_scores_bias(self):
        return self.item_bias_ if self.biases else None

    def _fold_in_state(self, indptr, indices, data):
        p = self._validated()
        train = self._positives(indptr, indices, data)
        m = train.shape[0]
        pool = self._negative_pool(p)
        seeds = np.full(m, self.fold_in_seed_, dtype=np.uint64)
        X = np.zeros((m, self.item_factors_.shape[1]), dtype=np.float32)
        with numba_threads(threads_for(m, SERIAL_ROWS, p["n_threads"])):
            bpr_fold_in(np.arange(m, dtype=np.int64), train.indptr, train.indices, pool, seeds, self.item_factors_,
                        self.item_bias_, p["lr"], p["reg"], p["biases"], p["epochs"], X)
        if not np.isfinite(X).all():
            raise FitError(f"BPR fold-in diverged; use a smaller lr (now {p['lr']})")
        return X

    def _refit_users(self, rows):
        sub = self.user_items_[rows]
        self.user_factors_[rows] = self._fold_in_state(sub.indptr, sub.indices, sub.data)

    def _popularity(self):
        return self.item_bias_ if self.biases else super()._popularity()

    def _negative_pool(self, p):
        if p["negatives"] == "uniform":
            return np.arange(len(self.item_map_), dtype=np.int32)
        train = positives(self.user_items_, p["binarize"], "user_items_", allow_empty=True)
        return np.ascontiguousarray(train.indices, dtype=np.int32)

    def _explain(self, u, i):
        p = self._validated()
        csr = self.user_items_
        lo, hi = csr.indptr[u], csr.indptr[u + 1]
        cols = csr.indices[lo:hi]
        liked = preferences(csr.data[lo:hi], p["binarize"], "user_items_") > 0
        history = np.ascontiguousarray(cols[liked], dtype=np.int32)
        Y = self.item_factors_
        weights = np.zeros(history.size, dtype=np.float64)
        negative = np.zeros(Y.shape[1], dtype=np.float64)
        x = np.zeros((1, Y.shape[1]), dtype=np.float32)
        scale = bpr_fold_in_traced(history, self._negative_pool(p), np.uint64(self.fold_in_seed_), Y, self.item_bias_,
                                   p["lr"], p["reg"], p["biases"], p["epochs"], x, weights, negative)
        target = Y[i].astype(np.float64)
        contributions = np.zeros(cols.size, dtype=np.float64)
        contributions[liked] = scale * weights * (Y[history].astype(np.float64) @ target)
        baseline = (float(self.item_bias_[i]) if p["biases"] else 0.0) - scale * float(negative @ target)
        return cols, contributions, baseline

    # ------------------------------------------------------------------ persistence
    def _get_state(self):
        arrays, meta = self._base_state()
        arrays["item_bias"] = self.item_bias_
        meta["fold_in_seed"] = str(self.fold_in_seed_)
        return arrays, meta

    def _set_state(self, arrays, meta):
        self._set_base_state(arrays, meta)
        self.item_bias_ = arrays["item_bias"]
        self.fold_in_seed_ = int(meta["fold_in_seed"])


# ---------------------------------------------------------------------- helpers
def threads_for(work, per_thread, n_threads):
    """At most ``n_threads``, and one per ``per_thread`` units of ``work``: small jobs do not pay for waking threads."""
    return int(min(n_threads, max(1, -(-work // per_thread))))


def gram_of(Y, n_threads):
    """``Y^T Y`` (float64), in parallel only when it is large enough to pay for it."""
    with numba_threads(threads_for(Y.shape[0] * Y.shape[1] ** 2, SERIAL_GRAM_FMAS, n_threads)):
        return gram(Y)


def preferences(values, binarize, name):
    """Values as the models read them: 0/1 with ``binarize``, else checked to be ``>= 0``."""
    if binarize is not None:
        return (values >= binarize).astype(np.float32)
    negative = values < 0
    if negative.any():
        first = float(values[np.flatnonzero(negative)[0]])
        raise ValueError(
            f"{name} holds {int(negative.sum())} negative values (e.g. {first:g}); implicit-feedback values are "
            f"confidences and must be >= 0: rescale them, or pass binarize=threshold to keep the values >= threshold "
            f"as positives"
        )
    return values


def positives(csr, binarize, name, allow_empty=False):
    """The positive entries (value > 0 after :func:`preferences`) of a CSR matrix, as a sorted float32 CSR."""
    values = preferences(csr.data, binarize, name)
    keep = values > 0
    if not allow_empty and not keep.any():
        hint = f"no value is >= binarize={binarize}" if binarize is not None else "every value is 0"
        raise ValueError(f"{name} holds no positive interaction ({hint}); there is nothing to learn from")
    rows = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))
    indptr = np.zeros(csr.shape[0] + 1, dtype=np.int64 if csr.nnz >= 2**31 - 1 else np.int32)
    np.cumsum(np.bincount(rows[keep], minlength=csr.shape[0]), out=indptr[1:])
    out = sp.csr_matrix((values[keep].astype(np.float32), csr.indices[keep], indptr), shape=csr.shape, copy=False)
    out.has_sorted_indices = True
    return out
