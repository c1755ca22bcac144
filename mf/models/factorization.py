"""Biased matrix factorisation for explicit ratings, trained by ALS, SGD or Adam."""

import math
import sys
import time
import warnings

import numpy as np

from ..data.ids import IdMap
from ..data.random import check_random_state
from ..data.ratings import as_ratings
from ..exceptions import FitError
from ..kernels.adam import adam_epoch
from ..kernels.als import als_cg_rows, als_solve_rows, solve_rows_serial
from ..kernels.predict import predict_pairs, squared_error_sum
from ..kernels.sgd import balanced_groups, group_by_block, sgd_epoch, sgd_epoch_serial, shuffle_blocks
from ..kernels.threads import numba_threads, resolve_threads
from ..kernels.topk import topk_blocked, topk_cosine
from ..persist import decode_ids, encode_ids, save
from .base import Estimator, check_choice, check_float, check_int
from .recommender import Recommender, rating_rmse, with_targets

__all__ = ["MatrixFactorization"]

SOLVERS = ("als", "sgd", "adam")
DEFAULT_EPOCHS = {"als": 15, "sgd": 40, "adam": 30}
SGD_MIN_GROUPS = 8
SGD_BLOCK_BYTES = 1 << 17
SGD_MIN_BLOCK_RATINGS = 256
SGD_PARALLEL_MIN_RATINGS = 500_000


class MatrixFactorization(Recommender, Estimator):
    """Biased matrix factorisation: ``r_hat(u, i) = mu + b_u + b_i + p_u . q_i``.

    All three solvers minimise the same objective over the training ratings::

        sum (r - r_hat)^2 + reg * sum_u n_u |p_u|^2 + reg * sum_i n_i |q_i|^2
                          + reg_bias * (sum_u n_u b_u^2 + sum_i n_i b_i^2)

    where ``n_u`` and ``n_i`` count the ratings of each user and item
    (weighted-lambda regularisation; per-rating regularisation in SGD and
    Adam is the same objective).

    Parameters
    ----------
    factors : int, default 64
        Dimension of the user and item vectors. Multiples of 64 run fastest
        per factor on AVX-512 machines: an SGD update at 64 factors is
        faster than at 50, and 100 factors cost as much as 128.
    solver : {"als", "sgd", "adam"}, default "als"
        ``"als"``: alternating exact ridge solves per row (Cholesky of a
        (k+1) x (k+1) system), parallel over rows. ``"sgd"``: Funk/Koren
        per-rating SGD on a stratified grid of G x G blocks (G >= 8, sized so
        a block's factors stay in cache), blocks of a stratum in parallel. ``"adam"``: mini-batch Adam with lazy moments
        (single-threaded).
    epochs : int, optional
        Passes over the data (ALS iterations). Default 15 for ALS, 40 for SGD,
        30 for Adam.
    reg : float, default 0.1
        L2 regularisation of the factors (see the objective above).
    reg_bias : float, optional
        L2 regularisation of the biases; defaults to ``reg``.
    lr : float, default 0.01
        Learning rate of SGD and Adam (ignored by ALS).
    lr_decay : float, default 1.0
        SGD/Adam learning rate is multiplied by this after every epoch.
    batch_size : int, optional
        Adam mini-batch size (default 256).
    cg_steps : int, optional
        ALS only. ``None`` solves every row exactly (Cholesky, O(n k^2) per
        row of n ratings); an int runs that many conjugate-gradient steps per
        row instead, warm-started from the previous iteration (O(n k) per
        step): much faster at large ``factors``, and close to exact from 3
        steps on.
    biases : bool, default True
        Learn user and item biases. Without them ``r_hat = mu + p_u . q_i``.
    init_scale : float, default 0.1
        Standard deviation of the normal initial factors.
    early_stopping : bool, default False
        Stop when validation RMSE has not improved for ``patience`` epochs
        and restore the best epoch's parameters (needs ``validation``).
    patience : int, default 3
    unknown : {"mean", "nan", "raise"}, default "mean"
        Predictions for users or items not seen in training: ``"mean"`` uses
        ``mu`` plus whatever bias is known, ``"nan"`` gives NaN, ``"raise"``
        raises ``KeyError``.
    random_state : int, numpy Generator or None
        Seeds initialisation, shuffling and the SGD block layout.
    n_threads : int, optional
        Threads for the numba kernels (default: all cores).
    verbose : int, default 0
        1 prints one line per epoch.

    Notes
    -----
    Reproducibility: ALS solves each row independently, so its result is
    bitwise identical for a fixed ``random_state`` whatever ``n_threads``.
    SGD's block schedule makes each epoch depend only on the seed and the
    grid, and the grid depends on the data and ``factors`` only, so SGD is
    bitwise reproducible for a fixed ``random_state`` with any thread count up
    to the grid size G (at least 8; above G the grid grows to ``n_threads``
    blocks a side and results are reproducible for a fixed seed and thread
    count). Adam runs in one thread and is always reproducible.

    Recommending (the :class:`~mf.models.Recommender` API): ``recommend``
    ranks items by the unclipped prediction ``mu + b_u + b_i + p_u . q_i``;
    ``similar_items`` and ``similar_users`` use the cosine of the factor
    vectors; users without a training history get the cold-start ranking
    ``mu + b_i`` (with ``biases=False``: the items' training rating counts).

    Fold-in: a new user's ``(p, b)`` solves the ALS user problem with the
    items fixed, ``min sum_j (r_j - mu - b_j - p . q_j - b)^2 + reg n |p|^2 +
    reg_bias n b^2`` over the user's ``n`` ratings: one (k+1) x (k+1) Cholesky
    solve with the model's ``reg`` and ``reg_bias``, whichever solver trained
    it. For an ALS model at convergence it reproduces the trained user
    factors. ``partial_fit_users`` stores such solutions.

    Explanations: with ``z_j = (q_j, 1)`` (``q_j`` without biases), ``A =
    sum_j z_j z_j^T + diag(reg n, ..., reg n, reg_bias n)`` and ``t_j = r_uj -
    mu - b_j``, the fold-in solution is ``x_u = A^-1 sum_j z_j t_j``, so the
    part of the score that depends on the user, ``z_i . x_u = p_u . q_i +
    b_u``, splits exactly into one term per rated item,
    ``(z_i^T A^-1 z_j) t_j``. ``explain`` returns these terms with
    ``baseline = mu + b_i``; their total equals ``predict(..., clip=False)``
    whenever the stored user factors solve this system (ALS at convergence,
    users added by ``partial_fit_users``).

    Examples
    --------
    >>> import numpy as np, mf
    >>> rng = np.random.default_rng(0)
    >>> users, items = rng.integers(0, 50, 2000), rng.integers(0, 40, 2000)
    >>> ratings = np.clip(np.round(3 + np.sin(users) * np.cos(items) * 2), 1, 5)
    >>> data = mf.Ratings(users, items, ratings, duplicates="last")
    >>> model = mf.MatrixFactorization(factors=4, random_state=0).fit(data)
    >>> model.score(data) < 0.5
    True
    >>> model.predict([1, 2], [3, 999]).round(1)  # item 999 is unknown: mean + user bias
    array([1.5, 3. ], dtype=float32)
    """

    def __init__(
        self,
        factors=64,
        solver="als",
        epochs=None,
        reg=0.1,
        reg_bias=None,
        lr=0.01,
        lr_decay=1.0,
        batch_size=None,
        cg_steps=None,
        biases=True,
        init_scale=0.1,
        early_stopping=False,
        patience=3,
        unknown="mean",
        random_state=None,
        n_threads=None,
        verbose=0,
    ):
        self.factors = factors
        self.solver = solver
        self.epochs = epochs
        self.reg = reg
        self.reg_bias = reg_bias
        self.lr = lr
        self.lr_decay = lr_decay
        self.batch_size = batch_size
        self.cg_steps = cg_steps
        self.biases = biases
        self.init_scale = init_scale
        self.early_stopping = early_stopping
        self.patience = patience
        self.unknown = unknown
        self.random_state = random_state
        self.n_threads = n_threads
        self.verbose = verbose

    # ------------------------------------------------------------------ validation
    def _validated(self):
        solver = check_choice(self.solver, "solver", SOLVERS)
        p = {
            "solver": solver,
            "factors": check_int(self.factors, "factors", 1, 4096),
            "epochs": check_int(self.epochs, "epochs", 1, allow_none=True) or DEFAULT_EPOCHS[solver],
            "reg": check_float(self.reg, "reg", 0.0),
            "lr": check_float(self.lr, "lr", 0.0, low_inclusive=False),
            "lr_decay": check_float(self.lr_decay, "lr_decay", 0.0, 1.0, low_inclusive=False),
            "batch_size": check_int(self.batch_size, "batch_size", 1, allow_none=True) or 256,
            "init_scale": check_float(self.init_scale, "init_scale", 0.0),
            "patience": check_int(self.patience, "patience", 1),
            "n_threads": resolve_threads(self.n_threads),
            "verbose": check_int(self.verbose, "verbose", 0),
            "cg_steps": check_int(self.cg_steps, "cg_steps", 1, allow_none=True),
        }
        p["reg_bias"] = p["reg"] if self.reg_bias is None else check_float(self.reg_bias, "reg_bias", 0.0)
        if not isinstance(self.biases, (bool, np.bool_)):
            raise TypeError(f"biases must be True or False, got {self.biases!r}")
        if not isinstance(self.early_stopping, (bool, np.bool_)):
            raise TypeError(f"early_stopping must be True or False, got {self.early_stopping!r}")
        p["biases"] = bool(self.biases)
        check_choice(self.unknown, "unknown", ("mean", "nan", "raise"))
        if solver == "als" and p["reg"] == 0.0:
            raise ValueError("reg must be > 0 for the ALS solver (each row solves a ridge problem)")
        return p

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None, validation=None):
        """Fit the model.

        Parameters
        ----------
        X : Ratings, scipy sparse matrix, (users, items, ratings) tuple or DataFrame
            Training ratings. With ``y`` given, ``X`` is a (users, items) pair
            of arrays or an (n, 2) array and ``y`` the ratings.
        validation : same forms as ``X``, optional
            Scored every epoch (``history_["val_rmse"]``); needed by
            ``early_stopping``.

        Returns
        -------
        self

        Examples
        --------
        >>> import mf
        >>> users, items, ratings = [1, 1, 2, 2, 3], [10, 20, 10, 30, 20], [4.0, 3.0, 5.0, 2.0, 4.0]
        >>> model = mf.MatrixFactorization(factors=2, epochs=3, random_state=0)
        >>> model.fit((users, items), ratings, validation=(users, items, ratings)).history_["epoch"]
        [1, 2, 3]
        >>> sorted(model.history_), model.user_factors_.shape
        (['epoch', 'seconds', 'train_rmse', 'val_rmse'], (3, 2))
        """
        p = self._validated()
        train = with_targets(X, y)
        if self.early_stopping and validation is None:
            raise ValueError("early_stopping=True needs validation data: pass fit(..., validation=...)")
        rng = check_random_state(self.random_state)
        val = None if validation is None else self._validation_arrays(as_ratings(validation, "validation"), train)

        k = p["factors"]
        n_users, n_items = train.n_users, train.n_items
        mu = np.float32(train.global_mean)
        P = (rng.standard_normal((n_users, k)) * p["init_scale"]).astype(np.float32)
        Q = (rng.standard_normal((n_items, k)) * p["init_scale"]).astype(np.float32)
        bu = np.zeros(n_users, dtype=np.float32)
        bi = np.zeros(n_items, dtype=np.float32)
        params = (P, Q, bu, bi)
        step = _STEPPERS[p["solver"]](train, params, mu, p, rng)

        history = {"epoch": [], "train_rmse": [], "seconds": []}
        if val is not None:
            history["val_rmse"] = []
        best, best_rmse, waited = None, np.inf, 0
        with numba_threads(p["n_threads"]):
            for epoch in range(p["epochs"]):
                start = time.perf_counter()
                sse = step(epoch)
                seconds = time.perf_counter() - start
                train_rmse = float(np.sqrt(sse / train.nnz))
                _check_finite(train_rmse, params, p, epoch)
                history["epoch"].append(epoch + 1)
                history["train_rmse"].append(train_rmse)
                history["seconds"].append(seconds)
                line = f"Epoch {epoch + 1}/{p['epochs']} - {seconds:.3f}s - train_rmse: {train_rmse:.4f}"
                if val is not None:
                    val_rmse = float(np.sqrt(squared_error_sum(*val, *params, mu) / val[0].size))
                    history["val_rmse"].append(val_rmse)
                    line += f" - val_rmse: {val_rmse:.4f}"
                if p["verbose"]:
                    print(line, file=sys.stdout, flush=True)
                if self.early_stopping:
                    if val_rmse < best_rmse:
                        best, best_rmse, waited = [a.copy() for a in params] + [epoch + 1], val_rmse, 0
                    else:
                        waited += 1
                        if waited >= p["patience"]:
                            break
        if self.early_stopping and best is not None:
            for dst, src in zip(params, best[:4]):
                dst[...] = src
            self.best_epoch_ = best[4]
        self.user_factors_, self.item_factors_, self.user_bias_, self.item_bias_ = params
        self.global_mean_ = float(mu)
        self.user_map_ = train.user_map
        self.item_map_ = train.item_map
        self.user_items_ = train.to_csr()
        self.rating_range_ = train.rating_range
        self.history_ = history
        return self

    def _validation_arrays(self, val, train):
        u, i = val.indices_in(train.user_map, train.item_map)
        if not np.any((u >= 0) & (i >= 0)):
            warnings.warn(
                "validation data shares no (known user, known item) pair with the training data; "
                "its RMSE only measures the bias fallback",
                stacklevel=3,
            )
        return u.astype(np.int64), i.astype(np.int64), val.values

    # ------------------------------------------------------------------ predict
    def predict(self, users, items, clip=True):
        """Predicted ratings for (user, item) pairs of raw ids.

        Parameters
        ----------
        users, items : array-like of shape (n,)
            Raw ids, one pair per position.
        clip : bool or (float, float), default True
            ``True`` clips to the training rating range, a pair to that
            range, ``False`` not at all.

        Returns
        -------
        numpy.ndarray of float32, shape (n,)

        Examples
        --------
        >>> import mf
        >>> r = mf.Ratings([1, 1, 2, 2, 3], [10, 20, 10, 30, 20], [4.0, 3.0, 5.0, 2.0, 4.0])
        >>> model = mf.MatrixFactorization(factors=2, epochs=5, random_state=0).fit(r)
        >>> model.predict([1, 3, 1], [30, 10, 99]).round(2)  # item 99 is unknown: mean + user bias
        array([2.41, 4.61, 3.3 ], dtype=float32)
        """
        self._check_fitted("user_factors_")
        return self._predict_ratings(users, items, clip, self._estimate)

    def _estimate(self, u, i):
        """``mu + b_u + b_i + p_u . q_i`` of dense index pairs; an unknown side (``-1``) contributes 0."""
        out = np.empty(u.size, dtype=np.float32)
        with numba_threads(resolve_threads(self.n_threads)):
            predict_pairs(u, i, self.user_factors_, self.item_factors_, self.user_bias_, self.item_bias_,
                          np.float32(self.global_mean_), out)
        return out

    def score(self, X):
        """RMSE of the (clipped) predictions on held-out ratings ``X``.

        Pairs the model cannot predict (``unknown="nan"``) are left out with
        a warning.

        Examples
        --------
        >>> import mf
        >>> r = mf.Ratings([1, 1, 2, 2, 3], [10, 20, 10, 30, 20], [4.0, 3.0, 5.0, 2.0, 4.0])
        >>> model = mf.MatrixFactorization(factors=2, epochs=5, random_state=0).fit(r)
        >>> round(model.score(([1, 3], [30, 10], [2.0, 5.0])), 2)
        0.4
        """
        return rating_rmse(self, X)

    # ------------------------------------------------------------------ recommender hooks
    def _ridge_params(self):
        reg = check_float(self.reg, "reg", 0.0)
        reg_bias = reg if self.reg_bias is None else check_float(self.reg_bias, "reg_bias", 0.0)
        if reg == 0.0:
            raise ValueError(
                "fold-in solves a ridge system per user and needs reg > 0; this model has reg=0 "
                "(set_params(reg=...) to choose the regularisation of the fold-in)"
            )
        return reg, reg_bias, bool(self.biases)

    def _solve_users(self, rows, indptr, indices, data, P, bu):
        """The ALS user half-step for ``rows``: write their factors and biases into ``P`` and ``bu``.

        A single row (a fold-in) runs the serial row loop of
        :func:`~mf.kernels.als.als_solve_rows` directly, without entering a
        parallel region, so its latency does not depend on waking a thread pool.
        """
        reg, reg_bias, biases = self._ridge_params()
        mu = np.float32(self.global_mean_)
        Q, bi = self.item_factors_, self.item_bias_
        if rows.size == 1:
            failed = solve_rows_serial(0, 1, rows, indptr, indices, data, Q, bi, mu, reg, reg_bias, biases, P, bu)
        else:
            threads = resolve_threads(self.n_threads)
            with numba_threads(threads):
                failed = als_solve_rows(rows, indptr, indices, data, Q, bi, mu, reg, reg_bias, biases, P, bu,
                                        min(4 * threads, rows.size))
        if failed:
            raise FitError(f"{failed} user ridge systems were not positive definite; increase reg (now {reg})")

    def _stored_state(self):
        return self.user_factors_, self.user_bias_

    def _fold_in_state(self, indptr, indices, data):
        m = indptr.size - 1
        P = np.zeros((m, self.item_factors_.shape[1]), dtype=np.float32)
        bu = np.zeros(m, dtype=np.float32)
        self._solve_users(np.arange(m, dtype=np.int64), indptr, indices, data, P, bu)
        return P, bu

    def _fold_in_result(self, state):
        P, bu = state
        return P[0], float(bu[0])

    def _rank(self, state, rows, n, seen, cols):
        P, bu = state
        indptr, indices = seen if seen is not None else (None, None)
        idx, scores = topk_blocked(P, self.item_factors_, rows, n, item_bias=self.item_bias_, indptr=indptr,
                                   indices=indices, candidates=cols, n_threads=self.n_threads, check_finite=False)
        scores += (np.float32(self.global_mean_) + bu[rows])[:, None]
        return idx, scores

    def _popularity(self):
        if self.biases:
            return np.float32(self.global_mean_) + self.item_bias_
        return np.bincount(self.user_items_.indices, minlength=len(self.item_map_)).astype(np.float32)

    def _similar(self, kind, rows, n):
        factors = self.item_factors_ if kind == "items" else self.user_factors_
        return topk_cosine(factors, rows, n, n_threads=self.n_threads, check_finite=False)

    def _grow_users(self, n_new):
        k = self.user_factors_.shape[1]
        self.user_factors_ = np.concatenate([self.user_factors_, np.zeros((n_new, k), dtype=np.float32)])
        self.user_bias_ = np.concatenate([self.user_bias_, np.zeros(n_new, dtype=np.float32)])

    def _refit_users(self, rows):
        csr = self.user_items_
        self._solve_users(rows.astype(np.int64), csr.indptr, csr.indices, csr.data, self.user_factors_,
                          self.user_bias_)

    def _explain(self, u, i):
        csr = self.user_items_
        lo, hi = csr.indptr[u], csr.indptr[u + 1]
        cols, ratings = csr.indices[lo:hi], csr.data[lo:hi].astype(np.float64)
        reg, reg_bias, biases = self._ridge_params()
        Q = self.item_factors_.astype(np.float64)
        target = ratings - self.global_mean_ - self.item_bias_[cols]
        Z, z = Q[cols], Q[i]
        penalty = np.full(Q.shape[1], reg * cols.size)
        if biases:
            Z = np.hstack([Z, np.ones((cols.size, 1))])
            z = np.append(z, 1.0)
            penalty = np.append(penalty, reg_bias * cols.size)
        weights = np.linalg.solve(Z.T @ Z + np.diag(penalty), z)
        return cols, (Z @ weights) * target, self.global_mean_ + float(self.item_bias_[i])

    # ------------------------------------------------------------------ persistence
    def save(self, path):
        """Write the fitted model to ``path`` (one ``.npz``; see :func:`mf.load`).

        Examples
        --------
        >>> import os, tempfile, mf
        >>> r = mf.Ratings([1, 1, 2, 2, 3], [10, 20, 10, 30, 20], [4.0, 3.0, 5.0, 2.0, 4.0])
        >>> model = mf.MatrixFactorization(factors=2, epochs=5, random_state=0).fit(r)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     loaded = mf.load(model.save(os.path.join(folder, "model.npz")))
        >>> loaded, bool((loaded.predict([1], [30]) == model.predict([1], [30])).all())
        (MatrixFactorization(factors=2, epochs=5, random_state=0), True)
        """
        self._check_fitted("user_factors_")
        return save(self, path)

    def _get_state(self):
        arrays = {
            "user_factors": self.user_factors_,
            "item_factors": self.item_factors_,
            "user_bias": self.user_bias_,
            "item_bias": self.item_bias_,
            **self._history_state(),
        }
        meta = {
            "global_mean": self.global_mean_,
            "rating_range": list(self.rating_range_),
            "history": self.history_,
        }
        encode_ids(self.user_map_.ids, "user_ids", arrays, meta)
        encode_ids(self.item_map_.ids, "item_ids", arrays, meta)
        return arrays, meta

    def _set_state(self, arrays, meta):
        self.user_factors_ = arrays["user_factors"]
        self.item_factors_ = arrays["item_factors"]
        self.user_bias_ = arrays["user_bias"]
        self.item_bias_ = arrays["item_bias"]
        self.user_map_ = IdMap(decode_ids("user_ids", arrays, meta), "users")
        self.item_map_ = IdMap(decode_ids("item_ids", arrays, meta), "items")
        self.global_mean_ = float(meta["global_mean"])
        self.rating_range_ = tuple(meta["rating_range"])
        self.history_ = meta["history"]
        self._set_history(arrays)


# ---------------------------------------------------------------------- solvers
def _als_stepper(train, params, mu, p, rng):
    P, Q, bu, bi = params
    csr, csc = train.to_csr(), train.to_csc()
    users = np.arange(train.n_users, dtype=np.int64)
    items = np.arange(train.n_items, dtype=np.int64)
    u, i, v = train.to_coo()
    chunks = 4 * p["n_threads"]
    args = (mu, p["reg"], p["reg_bias"], p["biases"])
    steps = p["cg_steps"]

    def step(epoch):
        if steps is not None:
            als_cg_rows(users, csr.indptr, csr.indices, csr.data, Q, bi, *args, steps, P, bu, chunks)
            als_cg_rows(items, csc.indptr, csc.indices, csc.data, P, bu, *args, steps, Q, bi, chunks)
            return squared_error_sum(u, i, v, P, Q, bu, bi, mu)
        failed = als_solve_rows(users, csr.indptr, csr.indices, csr.data, Q, bi, *args, P, bu, chunks)
        failed += als_solve_rows(items, csc.indptr, csc.indices, csc.data, P, bu, *args, Q, bi, chunks)
        if failed:
            raise FitError(f"solver 'als': {failed} ridge systems were not positive definite at epoch {epoch + 1}; "
                           f"increase reg (now {p['reg']})")
        return squared_error_sum(u, i, v, P, Q, bu, bi, mu)

    return step


def grid_size(n_users, n_items, nnz, factors, n_threads):
    """Groups per side of the SGD/Adam block grid.

    Enough groups that one block's user and item factors fit in about
    128 KiB (cache-resident updates), but not so many that blocks hold fewer
    than ~256 ratings; at least 8 and at least ``n_threads``. The grid does
    not depend on the thread count below that, so neither do the results.
    """
    by_cache = -(-(n_users + n_items) * factors * 4 // SGD_BLOCK_BYTES)
    by_size = math.isqrt(max(nnz // SGD_MIN_BLOCK_RATINGS, 1))
    return max(SGD_MIN_GROUPS, n_threads, min(by_cache, by_size))


def _block_grid(train, p, rng):
    """Ratings grouped by a grid of user groups x item groups (see mf.kernels.sgd)."""
    groups = grid_size(train.n_users, train.n_items, train.nnz, p["factors"], p["n_threads"])
    u, i, v = train.to_coo()
    user_group = balanced_groups(np.bincount(u, minlength=train.n_users), groups, rng)
    item_group = balanced_groups(np.bincount(i, minlength=train.n_items), groups, rng)
    bu_idx, bi_idx, br = np.empty_like(u), np.empty_like(i), np.empty_like(v)
    ptr = np.empty(groups * groups + 1, dtype=np.int64)
    group_by_block(u, i, user_group, item_group, groups, bu_idx, bi_idx, v, br, ptr)
    return groups, ptr, bu_idx, bi_idx, br


def _sgd_stepper(train, params, mu, p, rng):
    P, Q, bu, bi = params
    groups, ptr, bu_idx, bi_idx, br = _block_grid(train, p, rng)
    # Same blocks, same result either way; below ~500k ratings an epoch takes milliseconds
    # and starting a parallel region per stratum costs more than it saves.
    parallel = p["n_threads"] > 1 and train.nnz >= SGD_PARALLEL_MIN_RATINGS
    epoch_kernel = sgd_epoch if parallel else sgd_epoch_serial

    def step(epoch):
        strata = rng.permutation(groups).astype(np.int64)
        seeds = rng.integers(0, 2**63, size=groups * groups, dtype=np.int64).astype(np.uint64)
        lr = p["lr"] * p["lr_decay"] ** epoch
        return epoch_kernel(ptr, bu_idx, bi_idx, br, groups, strata, seeds, True, P, Q, bu, bi, mu, lr, p["reg"],
                            p["reg_bias"], p["biases"])

    return step


def _adam_stepper(train, params, mu, p, rng):
    P, Q, bu, bi = params
    groups, ptr, bu_idx, bi_idx, br = _block_grid(train, p, rng)
    zeros = np.zeros_like
    state = (
        zeros(P), zeros(P), zeros(P), zeros(Q), zeros(Q), zeros(Q),
        zeros(bu), zeros(bu), zeros(bu), zeros(bi), zeros(bi), zeros(bi),
        np.empty(train.n_users, dtype=np.int64), np.empty(train.n_items, dtype=np.int64),
        np.full(train.n_users, -1, dtype=np.int64), np.full(train.n_items, -1, dtype=np.int64),
    )
    step_count = [0]

    def step(epoch):
        shuffle_blocks(ptr, bu_idx, bi_idx, br, rng.integers(0, 2**63, size=groups * groups).astype(np.uint64))
        order = rng.permutation(groups * groups).astype(np.int64)
        lr = p["lr"] * p["lr_decay"] ** epoch
        f32 = np.float32
        sse, step_count[0] = adam_epoch(bu_idx, bi_idx, br, ptr, order, p["batch_size"], P, Q, bu, bi, mu, f32(lr),
                                        f32(0.9), f32(0.999), f32(1e-7), f32(p["reg"]), f32(p["reg_bias"]),
                                        p["biases"], state, step_count[0])
        return sse

    return step


_STEPPERS = {"als": _als_stepper, "sgd": _sgd_stepper, "adam": _adam_stepper}


# ---------------------------------------------------------------------- helpers
def _check_finite(train_rmse, params, p, epoch):
    if np.isfinite(train_rmse) and all(np.isfinite(a).all() for a in params):
        return
    hint = f"use a smaller lr (now {p['lr']}) or a larger reg (now {p['reg']})"
    if p["solver"] == "als":
        hint = f"use a larger reg (now {p['reg']})"
    raise FitError(f"solver {p['solver']!r} diverged at epoch {epoch + 1} (training RMSE {train_rmse}); {hint}")
