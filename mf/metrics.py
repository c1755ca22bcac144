"""Accuracy metrics for rating prediction and ranking.

Ranking metrics share these conventions:

``recommended`` is a 2-D array-like of shape (n_users, L): row ``u`` is user
``u``'s ranked list, best first, of item ids (raw ids of any type or dense
indices). Empty slots (a list shorter than L) hold -1 (integer arrays), NaN
(float arrays) or None (object arrays). Only the first ``k`` columns are
judged; when L < k the missing positions are empty slots. An item may appear at
most once per row.

``relevant`` gives each user's relevant items, in the same user order, as
either a sequence of collections (set, list or 1-D array of ids, or a dict
``{id: gain}``) or a scipy sparse matrix of shape (n_users, n_items) whose
stored entries are the relevant (user, column) pairs; there the ids are the
column indices and the stored values the gains. Repeats count once. Gains are
used only by ``ndcg_at_k(..., graded=True)`` and must then be finite and > 0.

Only users with at least one relevant item are counted: means are taken over
them, and with ``per_user=True`` a metric returns ``(mean, values)`` where
``values[u]`` is NaN for a user who is not counted.
"""

import numbers

import numpy as np
import scipy.sparse as sp

__all__ = [
    "rmse",
    "mae",
    "precision_at_k",
    "recall_at_k",
    "ndcg_at_k",
    "map_at_k",
    "hit_rate_at_k",
    "mrr",
    "auc",
    "coverage",
]


def _pair(y_true, y_pred):
    y_true = np.asarray(y_true, dtype=np.float64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} values but y_pred has {y_pred.size}; pass one prediction per rating")
    if y_true.size == 0:
        raise ValueError("y_true is empty: there is nothing to score")
    return y_true, y_pred


def rmse(y_true, y_pred):
    """Root mean squared error.

    Examples
    --------
    >>> rmse([1, 2, 3], [1, 2, 5])
    1.1547005383792515
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2)))


def mae(y_true, y_pred):
    """Mean absolute error.

    Examples
    --------
    >>> mae([1, 2, 3], [1, 2, 5])
    0.6666666666666666
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean(np.abs(y_true - y_pred)))


# ---------------------------------------------------------------------- ranking metrics
# (input conventions: see the module docstring)


def _is_empty_slot(value):
    if value is None:
        return True
    if isinstance(value, (float, np.floating)):
        return bool(np.isnan(value)) or value == -1
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return value == -1
    return False


def _ranked(recommended, k):
    """``(ids, valid)`` of the first ``k`` columns of ``recommended`` padded to ``k`` columns (all if None)."""
    try:
        arr = np.asarray(recommended)
    except ValueError:
        raise ValueError("recommended must be a rectangular 2-D array; pad short lists with -1 or None") from None
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, 0)
    if arr.ndim != 2:
        raise ValueError(
            f"recommended must be 2-D (one ranked list per user), got shape {arr.shape}; "
            f"wrap a single list as [list]"
        )
    k = arr.shape[1] if k is None else k
    arr = arr[:, :k]
    kind = arr.dtype.kind
    if kind in "iu":
        valid = arr != -1
    elif kind == "f":
        valid = ~np.isnan(arr) & (arr != -1)
    elif kind == "O":
        valid = ~np.frompyfunc(_is_empty_slot, 1, 1)(arr).astype(bool) if arr.size else np.zeros(arr.shape, bool)
    elif kind in "US":
        valid = np.ones(arr.shape, dtype=bool)
    else:
        raise TypeError(f"recommended holds unsupported dtype {arr.dtype}; use item ids (int or str)")
    if arr.shape[1] < k:
        pad = k - arr.shape[1]
        valid = np.concatenate([valid, np.zeros((arr.shape[0], pad), dtype=bool)], axis=1)
        filler = np.zeros((arr.shape[0], pad), dtype=arr.dtype) if kind != "O" else np.full((arr.shape[0], pad), None)
        arr = np.concatenate([arr, filler], axis=1)
    return arr, valid


def _relevant_pairs(relevant, n_users):
    """Flatten ``relevant`` to ``(user, item, gain)`` arrays."""
    if sp.issparse(relevant):
        coo = sp.coo_matrix(relevant)
        if coo.shape[0] != n_users:
            raise ValueError(f"relevant has {coo.shape[0]} rows but recommended has {n_users} users")
        return coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data.astype(np.float64)
    if isinstance(relevant, (str, bytes)) or not hasattr(relevant, "__len__"):
        raise TypeError(
            f"relevant must be a sequence with one collection of item ids per user or a sparse matrix, "
            f"got {type(relevant).__name__}"
        )
    if len(relevant) != n_users:
        raise ValueError(f"relevant has {len(relevant)} entries but recommended has {n_users} users")
    users, items, gains = [], [], []
    for u, entry in enumerate(relevant):
        if isinstance(entry, dict):
            ids, g = list(entry.keys()), list(entry.values())
        elif isinstance(entry, (str, bytes)) or not hasattr(entry, "__iter__"):
            raise TypeError(
                f"relevant[{u}] must be a collection of item ids (set, list, array or dict), "
                f"got {type(entry).__name__}"
            )
        else:
            ids = list(entry)
            g = [1.0] * len(ids)
        users.append(np.full(len(ids), u, dtype=np.int64))
        items.extend(ids)
        gains.extend(g)
    user_arr = np.concatenate(users) if users else np.zeros(0, dtype=np.int64)
    item_arr = np.empty(len(items), dtype=object)
    item_arr[:] = items
    if len(items) and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items):
        item_arr = item_arr.astype(np.int64)
    elif len(items) and all(isinstance(v, str) for v in items):
        item_arr = item_arr.astype(str)
    try:
        gain_arr = np.asarray(gains, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError("relevance gains (dict values) must be numbers") from None
    return user_arr, item_arr, gain_arr


class _RelevantPairs(tuple):
    """``(users, items, gains)`` arrays of relevant pairs, already flattened."""


def _category(dtype):
    return "number" if dtype.kind in "iufb" else "text" if dtype.kind in "US" else "object"


def _codes(rel_items, rec_items):
    """Joint integer codes of two id arrays; returns ``(rel_codes, rec_codes, n_codes)``."""
    a, b = _category(rel_items.dtype), _category(rec_items.dtype)
    if rel_items.size and rec_items.size and "object" not in (a, b) and a != b:
        raise TypeError(
            f"recommended holds {rec_items.dtype} ids but relevant holds {rel_items.dtype} ids; "
            f"use the same kind of id (raw ids or dense indices) in both"
        )
    if "object" in (a, b):
        table = {}
        rel = np.fromiter((table.setdefault(v, len(table)) for v in rel_items.tolist()), np.int64, rel_items.size)
        rec = np.fromiter((table.setdefault(v, len(table)) for v in rec_items.tolist()), np.int64, rec_items.size)
        return rel, rec, len(table)
    both = np.concatenate([rel_items, rec_items])
    uniq, inverse = np.unique(both, return_inverse=True)
    inverse = inverse.reshape(-1).astype(np.int64)
    return inverse[: rel_items.size], inverse[rel_items.size:], uniq.size


class _Judged:
    """Hits and gains of each ranked position, and each user's relevant count and ideal gains."""

    def __init__(self, recommended, relevant, k, graded=False):
        ids, valid = _ranked(recommended, None if k is None else _check_cutoff(k))
        self.k = max(ids.shape[1], 1)
        n_users = ids.shape[0]
        rel_user, rel_item, rel_gain = (
            relevant if isinstance(relevant, _RelevantPairs) else _relevant_pairs(relevant, n_users)
        )
        if graded and rel_gain.size and not (np.isfinite(rel_gain).all() and (rel_gain > 0).all()):
            raise ValueError("relevance gains must be finite and > 0; leave non-relevant items out")
        rec_user, rec_pos = np.nonzero(valid)
        rel_code, rec_code, n_codes = _codes(rel_item, ids[rec_user, rec_pos])
        rel_key = rel_user * n_codes + rel_code
        rel_key, first = np.unique(rel_key, return_index=True)
        rel_user, rel_gain = rel_user[first], rel_gain[first]
        rec_key = rec_user * n_codes + rec_code
        if rec_key.size:
            sorted_key = np.sort(rec_key)
            dup = sorted_key[1:] == sorted_key[:-1]
            if dup.any():
                user = int(sorted_key[1:][dup][0] // n_codes)
                raise ValueError(f"recommended row {user} lists an item twice; each item may appear once per user")
        pos = np.searchsorted(rel_key, rec_key)
        pos_ok = np.minimum(pos, max(rel_key.size - 1, 0))
        hit = (pos < rel_key.size) & (rel_key[pos_ok] == rec_key) if rel_key.size else np.zeros(rec_key.size, bool)
        self.hits = np.zeros((n_users, self.k), dtype=bool)
        self.hits[rec_user[hit], rec_pos[hit]] = True
        self.gains = self.hits.astype(np.float64)
        if graded:
            self.gains[rec_user[hit], rec_pos[hit]] = rel_gain[pos[hit]]
        self.n_relevant = np.bincount(rel_user, minlength=n_users)
        self.counted = self.n_relevant > 0
        if not self.counted.any():
            raise ValueError("no user has a relevant item, so there is nothing to evaluate")
        self.discount = 1.0 / np.log2(np.arange(2, self.k + 2))
        if graded:
            order = np.lexsort((-rel_gain, rel_user))
            u, g = rel_user[order], rel_gain[order]
            starts = np.concatenate(([0], np.cumsum(self.n_relevant)[:-1]))
            rank = np.arange(u.size) - starts[u]
            top = rank < self.k
            self.ideal = np.bincount(u[top], weights=g[top] * self.discount[rank[top]], minlength=n_users)
        else:
            cum = np.concatenate(([0.0], np.cumsum(self.discount)))
            self.ideal = cum[np.minimum(self.n_relevant, self.k)]

    def finish(self, values, per_user):
        values = np.where(self.counted, values, np.nan)
        mean = float(np.mean(values[self.counted]))
        return (mean, values) if per_user else mean

    def precision(self):
        return self.hits.sum(axis=1) / self.k

    def recall(self):
        return self.hits.sum(axis=1) / np.maximum(self.n_relevant, 1)

    def hit_rate(self):
        return self.hits.any(axis=1).astype(np.float64)

    def ndcg(self):
        return (self.gains * self.discount).sum(axis=1) / np.where(self.ideal > 0, self.ideal, 1.0)

    def average_precision(self):
        precision_at = np.cumsum(self.hits, axis=1) / np.arange(1, self.k + 1)
        return (precision_at * self.hits).sum(axis=1) / np.maximum(np.minimum(self.n_relevant, self.k), 1)

    def reciprocal_rank(self):
        first = np.argmax(self.hits, axis=1)
        return np.where(self.hits.any(axis=1), 1.0 / (first + 1), 0.0)


def _check_cutoff(k):
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k must be a positive integer (the list length judged), got {k!r}")
    return int(k)


def precision_at_k(recommended, relevant, k=10, per_user=False):
    """Precision at ``k``: relevant items among the first ``k`` slots, divided by ``k``.

    The denominator is always ``k``, even when the user has fewer than ``k``
    relevant items or the list is shorter (empty slots count as misses). Users
    without relevant items are not counted. The input formats are described in
    the module documentation.

    Examples
    --------
    >>> precision_at_k([[3, 1, 7], [2, 5, 6]], [{1, 9}, {2, 5, 6}], k=3)
    0.6666666666666666
    >>> precision_at_k([[3, 1, -1]], [{1}], k=2, per_user=True)
    (0.5, array([0.5]))
    """
    j = _Judged(recommended, relevant, k)
    return j.finish(j.precision(), per_user)


def recall_at_k(recommended, relevant, k=10, per_user=False):
    """Recall at ``k``: relevant items among the first ``k`` slots, divided by the user's relevant count.

    The denominator is ``|relevant|`` (not ``min(k, |relevant|)``), so a user
    with more than ``k`` relevant items cannot reach 1.

    Examples
    --------
    >>> recall_at_k([[3, 1, 7], [2, 5, 6]], [{1, 9}, {2, 5, 6}], k=3)
    0.75
    """
    j = _Judged(recommended, relevant, k)
    return j.finish(j.recall(), per_user)


def hit_rate_at_k(recommended, relevant, k=10, per_user=False):
    """Fraction of users with at least one relevant item among the first ``k`` slots.

    Examples
    --------
    >>> hit_rate_at_k([[3, 1], [4, 8]], [{1}, {2}], k=2)
    0.5
    """
    j = _Judged(recommended, relevant, k)
    return j.finish(j.hit_rate(), per_user)


def ndcg_at_k(recommended, relevant, k=10, graded=False, per_user=False):
    """Normalised discounted cumulative gain at ``k``.

    ``DCG = sum_{r=1..k} gain_r / log2(r + 1)`` over the ranked slots (gain 0
    for non-relevant items and empty slots), divided by the ideal DCG: the
    user's relevant gains sorted in decreasing order in the first
    ``min(k, |relevant|)`` slots. Gains are 1 (binary) unless ``graded=True``,
    which uses the gains of ``relevant`` (dict values or sparse matrix data)
    linearly.

    Examples
    --------
    >>> round(ndcg_at_k([[3, 1, 7]], [{1, 7}], k=3), 6)
    0.693426
    >>> round(ndcg_at_k([[1, 2]], [{1: 1.0, 2: 3.0}], k=2, graded=True), 6)
    0.796708
    """
    j = _Judged(recommended, relevant, k, graded=graded)
    return j.finish(j.ndcg(), per_user)


def map_at_k(recommended, relevant, k=10, per_user=False):
    """Mean average precision at ``k``.

    ``AP@k = sum_{r=1..k} P@r * rel_r / min(k, |relevant|)``, where ``P@r``
    is the precision of the first ``r`` slots and ``rel_r`` is 1 when slot
    ``r`` holds a relevant item.

    Examples
    --------
    >>> map_at_k([[3, 1, 7]], [{1, 7}], k=3)
    0.5833333333333333
    """
    j = _Judged(recommended, relevant, k)
    return j.finish(j.average_precision(), per_user)


def mrr(recommended, relevant, k=None, per_user=False):
    """Mean reciprocal rank: ``1 / rank`` of the first relevant item (0 if none in the list).

    ``k`` truncates the lists; ``None`` judges every column of ``recommended``.

    Examples
    --------
    >>> mrr([[3, 1, 7], [2, 5, 6], [4, 8, 9]], [{1, 9}, {2}, {0}])
    0.5
    """
    j = _Judged(recommended, relevant, k)
    return j.finish(j.reciprocal_rank(), per_user)


def auc(scores, relevant, candidates=None, per_user=False):
    """Area under the ROC curve per user, averaged: the fraction of (relevant, non-relevant)
    candidate pairs that the scores order correctly, ties counting one half.

    Parameters
    ----------
    scores : array-like of shape (n_users, n_items)
        Score of every item (column = dense item index) for each user.
    relevant : sequence of collections of item indices, or sparse matrix
        Relevant items per user (see the module documentation).
    candidates : bool array of shape (n_users, n_items) or (n_items,), optional
        The items ranked for each user (e.g. all items minus the user's
        training items); default all items. Relevant items outside the
        candidates are ignored.
    per_user : bool
        Also return the per-user values.

    Users with no relevant candidate or no non-relevant candidate are not
    counted.

    Examples
    --------
    >>> auc([[0.9, 0.1, 0.5, 0.3]], [{0, 3}])
    0.75
    >>> auc([[0.9, 0.1, 0.5, 0.3]], [{0, 3}], candidates=[True, True, False, True])
    1.0
    """
    S = np.asarray(scores, dtype=np.float64)
    if S.ndim != 2:
        raise ValueError(f"scores must be 2-D (users x items), got shape {S.shape}")
    if not np.isfinite(S).all():
        raise ValueError("scores contains NaN or infinite values; AUC needs a finite score for every item")
    n_users, n_items = S.shape
    if candidates is None:
        cand = np.ones(S.shape, dtype=bool)
    else:
        cand = np.asarray(candidates)
        if cand.dtype != bool or cand.shape not in ((n_items,), S.shape):
            raise ValueError(f"candidates must be a boolean mask of shape ({n_items},) or {S.shape}")
        cand = np.broadcast_to(cand, S.shape)
    users, items, _ = _relevant_pairs(relevant, n_users)
    if items.size == 0:  # no relevant item at all (an empty list has no dtype to check)
        items = items.astype(np.int64)
    elif items.dtype.kind not in "iu" or items.min() < 0 or items.max() >= n_items:
        raise ValueError(f"relevant items for auc must be column indices of scores in [0, {n_items})")
    positive = np.zeros(S.shape, dtype=bool)
    positive[users, items] = True
    positive &= cand
    n_pos = positive.sum(axis=1)
    n_neg = cand.sum(axis=1) - n_pos
    from scipy.stats import rankdata  # imported here: scipy.stats costs seconds at import time

    ranks = rankdata(np.where(cand, S, -np.inf), method="average", axis=1)
    n_out = n_items - cand.sum(axis=1)
    rank_sum = np.where(positive, ranks - n_out[:, None], 0.0).sum(axis=1)
    counted = (n_pos > 0) & (n_neg > 0)
    if not counted.any():
        raise ValueError("no user has both a relevant and a non-relevant candidate item, so AUC is undefined")
    values = np.full(n_users, np.nan)
    values[counted] = (rank_sum[counted] - n_pos[counted] * (n_pos[counted] + 1) / 2) / (
        n_pos[counted] * n_neg[counted]
    )
    mean = float(np.mean(values[counted]))
    return (mean, values) if per_user else mean


def coverage(recommended, catalog):
    """Fraction of the catalog that appears in at least one recommendation list.

    Parameters
    ----------
    recommended : array-like of shape (n_users, L)
        Recommendation lists (empty slots as for the other ranking metrics).
    catalog : int or array-like
        The catalog's item ids, or an int ``n`` for the dense indices ``0..n-1``.
        Recommended ids outside the catalog are ignored.

    Examples
    --------
    >>> coverage([[0, 1], [1, 2]], 10)
    0.3
    >>> coverage([["a", "b"], ["a", None]], ["a", "b", "c", "d"])
    0.5
    """
    ids, valid = _ranked(recommended, None)
    if isinstance(catalog, numbers.Integral) and not isinstance(catalog, bool):
        if catalog < 1:
            raise ValueError(f"catalog size must be >= 1, got {catalog}")
        catalog = np.arange(int(catalog))
    catalog = np.asarray(catalog)
    if catalog.ndim != 1 or catalog.size == 0:
        raise ValueError("catalog must be a positive int or a non-empty 1-D array of item ids")
    cat_code, rec_code, _ = _codes(catalog, ids[valid])
    cat_code = np.unique(cat_code)
    return float(np.isin(cat_code, rec_code).sum() / cat_code.size)
