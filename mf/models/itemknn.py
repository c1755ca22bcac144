"""Item-based k-nearest-neighbours rating prediction with baselines (Koren's kNN-baseline)."""

import numpy as np
import scipy.sparse as sp

from ..data.ids import IdMap
from ..kernels.knn import baseline_neighbours, knn_predict_groups, knn_score_block
from ..kernels.threads import numba_threads, resolve_threads
from ..kernels.topk import select_topk_block, default_block_rows
from ..persist import decode_ids, encode_ids, save
from ..similarity import METRICS, item_similarity
from .base import Estimator, check_choice, check_float, check_int
from .recommender import Recommender, rating_rmse, with_targets

__all__ = ["ItemKNN"]

KNN_METRICS = ("pearson_baseline",) + METRICS


class ItemKNN(Recommender, Estimator):
    """Item-kNN with baselines: ``r_hat(u, i) = b_ui + sum_j s_ij (r_uj - b_uj) / sum_j s_ij``.

    ``b_ui = mu + b_u + b_i`` is a regularised baseline and the sums run over
    ``N^k_i(u)``: the ``k`` items most similar to ``i`` among those ``u``
    rated, keeping only positive similarities (Koren 2010, "Factor in the
    neighbors", section 2.2; the model of Surprise's ``KNNBaseline``). When no
    rated neighbour has a positive similarity (or fewer than ``min_k`` do),
    the prediction is the baseline.

    The baselines minimise ``sum (r - mu - b_u - b_i)^2 + reg_user sum b_u^2
    + reg_item sum b_i^2`` by ``baseline_epochs`` alternating exact steps,
    items first: ``b_i = sum_u (r_ui - mu - b_u) / (reg_item + n_i)``, then
    ``b_u = sum_i (r_ui - mu - b_i) / (reg_user + n_u)``.

    Parameters
    ----------
    k : int, default 40
        Neighbours averaged per prediction.
    metric : {"pearson_baseline", "cosine", "adjusted_cosine", "pearson"}
        Item similarity. ``"pearson_baseline"`` (Koren's shrunk correlation
        of baseline residuals ``x_ui = r_ui - b_ui`` over the common raters
        ``U_ij``, ``n = |U_ij|``)::

            s_ij = sum x_ui x_uj / sqrt(sum x_ui^2 sum x_uj^2) * (n - 1) / (n - 1 + shrinkage)

        the others as defined in :mod:`mf.similarity` (whose shrinkage
        factor is ``n / (n + shrinkage)``).
    shrinkage : float, default 100
        Shrinks similarities with little support towards 0 (0 disables it).
    min_support : int, default 1
        Pairs rated by fewer common users get similarity 0.
    min_k : int, default 1
        Fewer usable neighbours than this: predict the baseline.
    baseline : bool, default True
        ``False`` averages raw ratings instead of residuals,
        ``r_hat = sum s_ij r_uj / sum s_ij``, falling back to ``mu`` (the
        ``KNNBasic`` model). Baselines are fitted either way: they serve
        the ``"pearson_baseline"`` metric and the cold-start ranking.
    max_neighbors : int, default 500
        Most similar items stored per item (positive similarities only).
        ``N^k_i(u)`` is drawn from these, so a larger value approaches the
        exact model at ``O(n_items * max_neighbors)`` memory.
    reg_item, reg_user : float, default 10 and 15
        Baseline regularisation.
    baseline_epochs : int, default 10
    unknown : {"mean", "nan", "raise"}, default "mean"
        Predictions for users or items not seen in training: ``"mean"``
        gives the baseline with whatever bias is known, ``"nan"`` NaN,
        ``"raise"`` a ``KeyError`` (``recommend`` then raises too).
    n_threads : int, optional
        Threads for the kernels (default: all cores).

    Attributes
    ----------
    global_mean_ : float
    user_bias_, item_bias_ : ndarray of float32
        Baselines ``b_u`` and ``b_i``.
    neighbor_indptr_, neighbor_indices_, neighbor_similarities_ : ndarray
        CSR arrays of the stored neighbours: row ``i`` lists item ``i``'s
        neighbours by decreasing similarity (ties by item order).
    user_items_ : scipy.sparse.csr_matrix
        Training ratings (users x items), the users' histories.
    user_map_, item_map_ : IdMap

    Notes
    -----
    ``recommend`` scores every candidate item by the prediction formula,
    one block of users at a time (a numba kernel walks each candidate's
    neighbour list against the user's history scattered into a dense
    scratch), then selects the top items in parallel. ``similar_items``
    reads the stored neighbour lists; ``similar_users`` is the cosine of the
    users' residual vectors (raw rating vectors with ``baseline=False``).
    Fold-in of a new user computes ``b_u`` from their ratings with the item
    baselines fixed (the last step of the baseline fit, so exact for a
    training user) and uses their ratings as the history. ``explain`` returns
    the terms ``s_ij (r_uj - b_uj) / sum s_ij`` of the neighbourhood sum,
    which add up to the prediction minus ``b_ui``.

    Examples
    --------
    >>> import numpy as np, mf
    >>> rng = np.random.default_rng(0)
    >>> users, items = rng.integers(0, 60, 3000), rng.integers(0, 40, 3000)
    >>> ratings = np.clip(np.round(3 + np.sin(users) * np.cos(items) * 2), 1, 5)
    >>> data = mf.Ratings(users, items, ratings, duplicates="last")
    >>> model = mf.models.ItemKNN(k=10, shrinkage=10).fit(data)
    >>> model.score(data) < 0.5
    True
    >>> model.similar_items(0, n=3)[0]
    array([19, 31, 13])
    """

    def __init__(
        self,
        k=40,
        metric="pearson_baseline",
        shrinkage=100,
        min_support=1,
        min_k=1,
        baseline=True,
        max_neighbors=500,
        reg_item=10.0,
        reg_user=15.0,
        baseline_epochs=10,
        unknown="mean",
        n_threads=None,
    ):
        self.k = k
        self.metric = metric
        self.shrinkage = shrinkage
        self.min_support = min_support
        self.min_k = min_k
        self.baseline = baseline
        self.max_neighbors = max_neighbors
        self.reg_item = reg_item
        self.reg_user = reg_user
        self.baseline_epochs = baseline_epochs
        self.unknown = unknown
        self.n_threads = n_threads

    # ------------------------------------------------------------------ fit
    def _validated(self):
        p = {
            "k": check_int(self.k, "k", 1),
            "metric": check_choice(self.metric, "metric", KNN_METRICS),
            "shrinkage": check_float(self.shrinkage, "shrinkage", 0.0),
            "min_support": check_int(self.min_support, "min_support", 1),
            "min_k": check_int(self.min_k, "min_k", 1),
            "max_neighbors": check_int(self.max_neighbors, "max_neighbors", 1),
            "reg_item": check_float(self.reg_item, "reg_item", 0.0),
            "reg_user": check_float(self.reg_user, "reg_user", 0.0),
            "baseline_epochs": check_int(self.baseline_epochs, "baseline_epochs", 1),
            "n_threads": resolve_threads(self.n_threads),
        }
        if not isinstance(self.baseline, (bool, np.bool_)):
            raise TypeError(f"baseline must be True or False, got {self.baseline!r}")
        if p["min_k"] > p["k"]:
            raise ValueError(f"min_k must be <= k, got min_k={p['min_k']} and k={p['k']}")
        check_choice(self.unknown, "unknown", ("mean", "nan", "raise"))
        return p

    def fit(self, X, y=None):
        """Fit baselines and item neighbours.

        Parameters
        ----------
        X : Ratings, scipy sparse matrix, (users, items, ratings) tuple or DataFrame
            Training ratings; with ``y``, ``X`` holds (users, items) and ``y``
            the ratings.

        Returns
        -------
        self

        Examples
        --------
        >>> import mf
        >>> r = mf.Ratings(["ann", "ann", "bob", "bob", "cy"], ["a", "b", "a", "c", "b"], [5, 3, 4, 2, 4])
        >>> model = mf.ItemKNN(k=2, metric="cosine", shrinkage=0).fit(r)
        >>> model.neighbor_indices_[model.neighbor_indptr_[0]:model.neighbor_indptr_[1]]  # item a's neighbours
        array([2, 1], dtype=int32)
        >>> round(model.global_mean_, 2), model.user_bias_.shape
        (3.6, (3,))
        """
        p = self._validated()
        train = with_targets(X, y)
        u, i, v = train.to_coo()
        mu = train.global_mean
        bu, bi = _fit_baselines(u, i, v.astype(np.float64), mu, train.n_users, train.n_items, p)
        if p["metric"] == "pearson_baseline":
            residual = (v - mu - bu[u] - bi[i]).astype(np.float32)
            by_user = sp.csr_matrix((residual, i, train.to_csr().indptr), shape=train.shape)
            by_item = by_user.T.tocsr()
            by_item.sort_indices()
            indptr, indices, sims = baseline_neighbours(
                by_item.indptr, by_item.indices, by_item.data, by_user.indptr, by_user.indices, by_user.data,
                p["max_neighbors"], p["shrinkage"], p["min_support"], p["n_threads"],
            )
        else:
            S = item_similarity(train, p["metric"], k=p["max_neighbors"], shrinkage=p["shrinkage"],
                                min_support=p["min_support"], n_threads=p["n_threads"])
            indptr, indices, sims = _positive_by_decreasing(S)
        self.global_mean_ = float(mu)
        self.user_bias_ = bu.astype(np.float32)
        self.item_bias_ = bi.astype(np.float32)
        self.neighbor_indptr_ = indptr
        self.neighbor_indices_ = indices
        self.neighbor_similarities_ = sims
        self._reverse = None
        self.user_map_ = train.user_map
        self.item_map_ = train.item_map
        self.user_items_ = train.to_csr()
        self.rating_range_ = train.rating_range
        self._update_history_values()
        return self

    # ------------------------------------------------------------------ predict
    def predict(self, users, items, clip=True):
        """Predicted ratings for (user, item) pairs of raw ids.

        Parameters
        ----------
        users, items : array-like of shape (n,)
        clip : bool or (float, float), default True
            ``True`` clips to the training rating range, a pair to that
            range, ``False`` not at all.

        Returns
        -------
        numpy.ndarray of float32, shape (n,)

        Examples
        --------
        >>> import mf
        >>> r = mf.Ratings(["ann", "ann", "bob", "bob", "cy"], ["a", "b", "a", "c", "b"], [5, 3, 4, 2, 4])
        >>> model = mf.ItemKNN(k=2, metric="cosine", shrinkage=0).fit(r)
        >>> model.predict(["ann", "bob", "zed"], ["c", "b", "a"]).round(2)  # zed is unknown: baseline
        array([4.71, 3.83, 3.75], dtype=float32)
        """
        self._check_fitted("user_items_")
        return self._predict_ratings(users, items, clip, self._estimate)

    def _estimate(self, u, i):
        """kNN-baseline predictions of dense index pairs; a pair with an unknown side (``-1``) gets its baseline."""
        out = (self.global_mean_ + np.where(u >= 0, self.user_bias_[u], 0.0)
               + np.where(i >= 0, self.item_bias_[i], 0.0)).astype(np.float32)
        known = np.flatnonzero((u >= 0) & (i >= 0))
        if known.size:
            order = known[np.argsort(u[known], kind="stable")]
            su = u[order]
            starts = np.flatnonzero(np.concatenate(([True], su[1:] != su[:-1])))
            group_ptr = np.append(starts, su.size).astype(np.int64)
            est = np.empty(order.size, dtype=np.float32)
            h_ptr, h_idx, h_val, row_base = self._stored_state()
            threads = resolve_threads(self.n_threads)
            with numba_threads(threads):
                knn_predict_groups(group_ptr, su[starts], i[order], h_ptr, h_idx, h_val, row_base,
                                   self._item_base(), *self._neighbours(), min(4 * threads, starts.size), est)
            out[order] = est
        return out

    def score(self, X):
        """RMSE of the (clipped) predictions on held-out ratings ``X``.

        Examples
        --------
        >>> import mf
        >>> r = mf.Ratings(["ann", "ann", "bob", "bob", "cy"], ["a", "b", "a", "c", "b"], [5, 3, 4, 2, 4])
        >>> model = mf.ItemKNN(k=2, metric="cosine", shrinkage=0).fit(r)
        >>> round(model.score((["ann", "cy"], ["c", "a"], [4.0, 3.0])), 2)
        0.97
        """
        return rating_rmse(self, X)

    def similarity_matrix(self):
        """The stored item-item similarities as a ``scipy.sparse.csr_matrix`` (float32, sorted columns).

        Row and column ``k`` stand for item ``item_map_.ids[k]``.

        Examples
        --------
        >>> import mf
        >>> r = mf.Ratings(["ann", "ann", "bob", "bob", "cy"], ["a", "b", "a", "c", "b"], [5, 3, 4, 2, 4])
        >>> model = mf.ItemKNN(k=2, metric="cosine", shrinkage=0).fit(r)
        >>> model.similarity_matrix().toarray().round(2)
        array([[0.  , 0.47, 0.62],
               [0.47, 0.  , 0.  ],
               [0.62, 0.  , 0.  ]], dtype=float32)
        """
        self._check_fitted("user_items_")
        n = len(self.item_map_)
        S = sp.csr_matrix((self.neighbor_similarities_, self.neighbor_indices_, self.neighbor_indptr_),
                          shape=(n, n), copy=True)
        S.sort_indices()
        return S

    # ------------------------------------------------------------------ recommender hooks
    def _neighbours(self):
        p = self._validated()
        fallback = 0.0 if self.baseline else self.global_mean_
        return (self.neighbor_indptr_, self.neighbor_indices_, self.neighbor_similarities_, p["k"], p["min_k"],
                fallback)

    def _reverse_neighbours(self):
        """Transpose of the neighbour lists (row ``j``: the items listing ``j``), built once per fitted state."""
        if getattr(self, "_reverse", None) is None:
            n = len(self.item_map_)
            S = sp.csr_matrix((self.neighbor_similarities_, self.neighbor_indices_, self.neighbor_indptr_),
                              shape=(n, n)).T.tocsr()
            self._reverse = (S.indptr.astype(np.int64), S.indices.astype(np.int32), S.data.astype(np.float32))
        return self._reverse

    def _item_base(self):
        if self.baseline:
            return self.item_bias_.astype(np.float64)
        return np.zeros(len(self.item_map_))

    def _user_values(self, indptr, indices, data, bu):
        """History values the estimate averages: residuals ``r - b_ui`` (raw ratings without a baseline)."""
        if not self.baseline:
            return data.astype(np.float32), np.zeros(bu.size)
        rows = np.repeat(np.arange(indptr.size - 1), np.diff(indptr))
        residual = data - self.global_mean_ - bu[rows] - self.item_bias_[indices]
        return residual.astype(np.float32), self.global_mean_ + bu.astype(np.float64)

    def _update_history_values(self):
        csr = self.user_items_
        self._history_values = self._user_values(csr.indptr, csr.indices, csr.data, self.user_bias_)

    def _user_bias_for(self, indptr, indices, data):
        rows = np.repeat(np.arange(indptr.size - 1), np.diff(indptr))
        m = indptr.size - 1
        num = np.bincount(rows, weights=data - self.global_mean_ - self.item_bias_[indices], minlength=m)
        den = float(self.reg_user) + np.diff(indptr)
        return np.divide(num, den, out=np.zeros(m), where=den > 0).astype(np.float32)

    def _stored_state(self):
        csr = self.user_items_
        values, row_base = self._history_values
        return csr.indptr, csr.indices, values, row_base

    def _fold_in_state(self, indptr, indices, data):
        bu = self._user_bias_for(indptr, indices, data)
        values, row_base = self._user_values(indptr, indices, data, bu)
        return indptr, indices, values, row_base, bu

    def _fold_in_result(self, state):
        return np.zeros(0, dtype=np.float32), float(state[4][0])

    def _rank(self, state, rows, n, seen, cols):
        h_ptr, h_idx, h_val, row_base = state[:4]
        n_items = len(self.item_map_)
        col_item = (np.arange(n_items) if cols is None else cols).astype(np.int32)
        item_col = np.full(n_items, -1, dtype=np.int32)
        item_col[col_item] = np.arange(col_item.size, dtype=np.int32)
        filter_seen = seen is not None
        seen_ptr, seen_idx = seen if filter_seen else (np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int32))
        rows = rows.astype(np.int64)
        out_items = np.empty((rows.size, n), dtype=np.int32)
        out_scores = np.empty((rows.size, n), dtype=np.float32)
        block_rows = min(default_block_rows(col_item.size), rows.size)
        buf = np.empty((block_rows, col_item.size), dtype=np.float32)
        zero_bias = np.zeros(col_item.size, dtype=np.float32)
        item_base = self._item_base()
        neighbours = self._neighbours()
        threads = resolve_threads(self.n_threads)
        with numba_threads(threads):
            for start in range(0, rows.size, block_rows):
                stop = min(start + block_rows, rows.size)
                block = buf[: stop - start]
                knn_score_block(rows[start:stop], h_ptr, h_idx, h_val, row_base, col_item, item_base,
                                *neighbours[:3], *self._reverse_neighbours(), *neighbours[3:],
                                min(4 * threads, stop - start), block)
                select_topk_block(block, zero_bias, rows[start:stop], seen_ptr, seen_idx, filter_seen, item_col,
                              col_item, n, out_items[start:stop], out_scores[start:stop])
        return out_items, out_scores

    def _popularity(self):
        return np.float32(self.global_mean_) + self.item_bias_

    def _similar(self, kind, rows, n):
        if kind == "items":
            ptr = self.neighbor_indptr_
            length = np.minimum(ptr[rows + 1] - ptr[rows], n)
            slots = np.arange(n)
            valid = slots < length[:, None]
            pos = np.where(valid, ptr[rows][:, None] + slots, 0)
            idx = np.where(valid, self.neighbor_indices_[pos] if pos.size else pos, -1).astype(np.int32)
            sims = np.where(valid, self.neighbor_similarities_[pos] if pos.size else pos, -np.inf)
            return idx, sims.astype(np.float32)
        return self._similar_users(rows, n)

    def _similar_users(self, rows, n):
        csr = self.user_items_
        R = sp.csr_matrix((self._history_values[0], csr.indices, csr.indptr), shape=csr.shape)
        norms = np.sqrt(np.asarray(R.multiply(R).sum(axis=1)).ravel()).astype(np.float32)
        norms[norms == 0] = 1.0
        unit = sp.diags(1.0 / norms).astype(np.float32) @ R
        unit_t = unit.T.tocsr()
        n_users = csr.shape[0]
        self_ptr = np.arange(n_users + 1, dtype=np.int64)
        self_idx = np.arange(n_users, dtype=np.int32)
        all_cols = np.arange(n_users, dtype=np.int32)
        zero_bias = np.zeros(n_users, dtype=np.float32)
        rows = rows.astype(np.int64)
        out_idx = np.empty((rows.size, n), dtype=np.int32)
        out_sim = np.empty((rows.size, n), dtype=np.float32)
        block_rows = min(default_block_rows(n_users), rows.size)
        with numba_threads(resolve_threads(self.n_threads)):
            for start in range(0, rows.size, block_rows):
                stop = min(start + block_rows, rows.size)
                block = np.ascontiguousarray((unit[rows[start:stop]] @ unit_t).toarray(), dtype=np.float32)
                select_topk_block(block, zero_bias, rows[start:stop], self_ptr, self_idx, True, all_cols, all_cols, n,
                              out_idx[start:stop], out_sim[start:stop])
        return out_idx, out_sim

    def _grow_users(self, n_new):
        self.user_bias_ = np.concatenate([self.user_bias_, np.zeros(n_new, dtype=np.float32)])

    def _refit_users(self, rows):
        sub = self.user_items_[rows]
        self.user_bias_[rows] = self._user_bias_for(sub.indptr, sub.indices, sub.data)
        self._update_history_values()

    def _explain(self, u, i):
        csr = self.user_items_
        lo, hi = csr.indptr[u], csr.indptr[u + 1]
        values, row_base = self._history_values
        rated, rated_values = csr.indices[lo:hi], values[lo:hi]
        a, b = self.neighbor_indptr_[i], self.neighbor_indptr_[i + 1]
        nbrs, sims = self.neighbor_indices_[a:b], self.neighbor_similarities_[a:b].astype(np.float64)
        hit = np.isin(nbrs, rated)
        p = self._validated()
        nbrs, sims = nbrs[hit][: p["k"]], sims[hit][: p["k"]]
        baseline = float(row_base[u] + self._item_base()[i])
        if nbrs.size < p["min_k"] or sims.sum() <= 0.0:
            fallback = 0.0 if self.baseline else self.global_mean_
            return nbrs, np.zeros(0), baseline + fallback
        x = rated_values[np.searchsorted(rated, nbrs)].astype(np.float64)
        return nbrs, sims * x / sims.sum(), baseline

    # ------------------------------------------------------------------ persistence
    def save(self, path):
        """Write the fitted model to ``path`` (one ``.npz``; see :func:`mf.load`).

        Examples
        --------
        >>> import os, tempfile
        >>> import mf
        >>> r = mf.Ratings(["ann", "ann", "bob", "bob", "cy"], ["a", "b", "a", "c", "b"], [5, 3, 4, 2, 4])
        >>> model = mf.ItemKNN(k=2, metric="cosine", shrinkage=0).fit(r)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     loaded = mf.load(model.save(os.path.join(folder, "knn.npz")))
        >>> loaded.predict(["ann"], ["c"]) == model.predict(["ann"], ["c"])
        array([ True])
        """
        self._check_fitted("user_items_")
        return save(self, path)

    def _get_state(self):
        arrays = {
            "user_bias": self.user_bias_,
            "item_bias": self.item_bias_,
            "neighbor_indptr": self.neighbor_indptr_,
            "neighbor_indices": self.neighbor_indices_,
            "neighbor_similarities": self.neighbor_similarities_,
            **self._history_state(),
        }
        meta = {"global_mean": self.global_mean_, "rating_range": list(self.rating_range_)}
        encode_ids(self.user_map_.ids, "user_ids", arrays, meta)
        encode_ids(self.item_map_.ids, "item_ids", arrays, meta)
        return arrays, meta

    def _set_state(self, arrays, meta):
        self.user_bias_ = arrays["user_bias"]
        self.item_bias_ = arrays["item_bias"]
        self.neighbor_indptr_ = arrays["neighbor_indptr"]
        self.neighbor_indices_ = arrays["neighbor_indices"]
        self.neighbor_similarities_ = arrays["neighbor_similarities"]
        self._reverse = None
        self.user_map_ = IdMap(decode_ids("user_ids", arrays, meta), "users")
        self.item_map_ = IdMap(decode_ids("item_ids", arrays, meta), "items")
        self.global_mean_ = float(meta["global_mean"])
        self.rating_range_ = tuple(meta["rating_range"])
        self._set_history(arrays)
        self._update_history_values()


def _fit_baselines(u, i, v, mu, n_users, n_items, p):
    """Alternating exact ridge steps for ``b_i`` then ``b_u`` (float64)."""
    n_u = np.bincount(u, minlength=n_users).astype(np.float64)
    n_i = np.bincount(i, minlength=n_items).astype(np.float64)
    den_u, den_i = p["reg_user"] + n_u, p["reg_item"] + n_i
    bu = np.zeros(n_users)
    bi = np.zeros(n_items)
    for _ in range(p["baseline_epochs"]):
        num_i = np.bincount(i, weights=v - mu - bu[u], minlength=n_items)
        bi = np.divide(num_i, den_i, out=np.zeros(n_items), where=den_i > 0)
        num_u = np.bincount(u, weights=v - mu - bi[i], minlength=n_users)
        bu = np.divide(num_u, den_u, out=np.zeros(n_users), where=den_u > 0)
    return bu, bi


def _positive_by_decreasing(S):
    """CSR arrays of ``S``'s positive entries, each row by decreasing value (ties by column)."""
    rows = np.repeat(np.arange(S.shape[0]), np.diff(S.indptr))
    keep = S.data > 0
    rows, cols, vals = rows[keep], S.indices[keep], S.data[keep]
    order = np.lexsort((cols, -vals, rows))
    indptr = np.zeros(S.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=S.shape[0]), out=indptr[1:])
    return indptr, cols[order].astype(np.int32), vals[order].astype(np.float32)
