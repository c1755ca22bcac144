"""Evaluate a fitted recommender on held-out ratings.

:func:`ranking` asks the model for top-``k`` lists in batches through its
``recommend`` method and scores them with the ranking metrics of
:mod:`mf.metrics`, whose definitions apply unchanged.
"""

import numbers

import numpy as np

from .data import Ratings
from .data.ids import IdMap
from .metrics import _Judged, _ranked, _RelevantPairs

__all__ = ["ranking", "RANKING_METRICS"]

RANKING_METRICS = ("precision", "recall", "ndcg", "map", "hit_rate", "mrr")

_PER_USER = {
    "precision": "precision",
    "recall": "recall",
    "ndcg": "ndcg",
    "map": "average_precision",
    "hit_rate": "hit_rate",
    "mrr": "reciprocal_rank",
}


def ranking(model, train, test, k=10, relevance_threshold=None, users=None, per_user=False, batch_size=4096):
    """Top-``k`` ranking metrics of ``model`` on the ``test`` ratings.

    For each evaluated user the model recommends ``k`` items with
    ``model.recommend(user_ids, n=k, exclude_seen=True)`` (raw user ids in,
    ``(item_ids, scores)`` of shape ``(n_users, k)`` out, best first, the
    user's training items excluded). The user's *relevant* items are their test
    items with rating ``>= relevance_threshold`` (all their test items when it
    is ``None``). The metrics are those of :mod:`mf.metrics` at cutoff ``k``:
    precision = hits / k, recall = hits / |relevant|, NDCG with binary gains,
    MAP normalised by ``min(k, |relevant|)``, hit rate, and MRR within the
    first ``k``. Means are taken over the users with at least one relevant
    item.

    Parameters
    ----------
    model : object
        A fitted model with a batch ``recommend`` method (see above).
    train : mf.Ratings
        The ratings the model was fitted on: they define the catalog (items
        with at least one training rating) and which users are known.
        Recommended and test items are matched through its item id map, so a
        test item outside that map stays relevant but can never be hit.
    test : mf.Ratings
        Held-out ratings.
    k : int
        Length of the recommendation lists.
    relevance_threshold : float, optional
        Minimum test rating for an item to count as relevant.
    users : array-like, optional
        Raw ids of the users to evaluate, in this order. By default: every user
        with a relevant test item and at least one training rating (test users
        unknown to ``train`` are skipped and counted in ``n_skipped_users``).
    per_user : bool
        Also return the evaluated users and their per-user values.
    batch_size : int
        Users per ``recommend`` call.

    Returns
    -------
    dict
        ``precision, recall, ndcg, map, hit_rate, mrr`` (means), ``coverage``
        (fraction of the catalog recommended to at least one evaluated user),
        ``n_users`` (users counted in the means) and ``n_skipped_users``. With
        ``per_user=True`` also ``users`` (raw ids, evaluation order) and
        ``per_user``: a dict of arrays aligned with ``users``, NaN for users
        without a relevant item.

    Examples
    --------
    >>> import mf
    >>> class Popular:
    ...     def recommend(self, users, n=10, exclude_seen=True):
    ...         items = np.tile(np.array(["b", "a", "c"])[:n], (len(users), 1))
    ...         return items, np.zeros(items.shape, dtype=np.float32)
    >>> train = mf.Ratings([1, 1, 2], ["a", "c", "b"], [5, 3, 4])
    >>> test = mf.Ratings([1, 2], ["b", "c"], [4, 2])
    >>> result = ranking(Popular(), train, test, k=1, relevance_threshold=4)
    >>> result["precision"], result["n_users"], round(result["coverage"], 3)
    (1.0, 1, 0.333)
    """
    _check_inputs(model, train, test)
    k = _positive_int(k, "k")
    batch_size = _positive_int(batch_size, "batch_size")
    relevant = np.ones(test.nnz, dtype=bool)
    if relevance_threshold is not None:
        if isinstance(relevance_threshold, bool) or not isinstance(relevance_threshold, numbers.Real) \
                or not np.isfinite(relevance_threshold):
            raise ValueError(f"relevance_threshold must be a finite number or None, got {relevance_threshold!r}")
        relevant = test.values >= relevance_threshold
    test_users, test_items = test.indices_in(train.user_map, train.item_map)
    # relevant test items unknown to the training catalog get codes that no recommendation can match
    rel_items = np.where(test_items >= 0, test_items, train.n_items + test.item_indices.astype(np.int64))

    trained = np.bincount(train.user_indices, minlength=train.n_users) > 0
    skipped = 0
    if users is None:
        candidates = test_users[relevant]
        known = candidates >= 0
        known[known] = trained[candidates[known]]
        skipped = int(np.unique(test.user_indices[relevant][~known]).size)
        eval_users = train.user_ids[np.unique(candidates[known])]
    else:
        eval_users = np.asarray(users)
        if eval_users.ndim != 1:
            raise ValueError(f"users must be a 1-D array of raw user ids, got shape {eval_users.shape}")
        if np.unique(eval_users).size != eval_users.size:
            raise ValueError("users contains repeated ids; pass each user once")
    n_eval = eval_users.size
    if n_eval == 0:
        raise ValueError("no test user has a relevant item and training ratings, so there is nothing to evaluate")

    position = IdMap(eval_users, "users").lookup(test.users[relevant])
    keep = position >= 0
    position, rel_items = position[keep], rel_items[relevant][keep]
    order = np.argsort(position, kind="stable")
    position, rel_items = position[order], rel_items[order]

    values = {name: np.full(n_eval, np.nan) for name in RANKING_METRICS}
    recommended = np.zeros(train.n_items, dtype=bool)
    for start in range(0, n_eval, batch_size):
        stop = min(start + batch_size, n_eval)
        codes = _recommend_codes(model, eval_users[start:stop], k, train)
        recommended[codes[codes >= 0]] = True
        lo, hi = np.searchsorted(position, [start, stop])
        if lo == hi:
            continue
        pairs = _RelevantPairs((position[lo:hi] - start, rel_items[lo:hi], np.ones(hi - lo)))
        judged = _Judged(codes, pairs, k)
        for name, method in _PER_USER.items():
            values[name][start:stop] = np.where(judged.counted, getattr(judged, method)(), np.nan)

    counted = ~np.isnan(values["precision"])
    if not counted.any():
        raise ValueError("none of the evaluated users has a relevant test item, so there is nothing to evaluate")
    catalog = np.bincount(train.item_indices, minlength=train.n_items) > 0
    result = {name: float(np.mean(v[counted])) for name, v in values.items()}
    result["coverage"] = float((recommended & catalog).sum() / max(int(catalog.sum()), 1))
    result["n_users"] = int(counted.sum())
    result["n_skipped_users"] = skipped
    if per_user:
        result["users"] = eval_users
        result["per_user"] = values
    return result


def _check_inputs(model, train, test):
    if not callable(getattr(model, "recommend", None)):
        raise TypeError(
            f"model must have a recommend(users, n, exclude_seen) method, got {type(model).__name__}; "
            f"fit an mf model first"
        )
    for name, value in (("train", train), ("test", test)):
        if not isinstance(value, Ratings):
            raise TypeError(f"{name} must be mf.Ratings, got {type(value).__name__}")


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _recommend_codes(model, batch_users, k, train):
    """Training-catalog indices of the model's top-``k`` lists (-1: empty slot or unknown item)."""
    out = model.recommend(batch_users, n=k, exclude_seen=True)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError("model.recommend must return a tuple (item_ids, scores)")
    ids = np.asarray(out[0])
    if ids.ndim != 2 or ids.shape[0] != batch_users.size:
        raise ValueError(
            f"model.recommend returned item ids of shape {ids.shape} for {batch_users.size} users; "
            f"expected ({batch_users.size}, {k})"
        )
    ids, valid = _ranked(ids, k)
    codes = np.full(ids.shape, -1, dtype=np.int64)
    if valid.any():
        raw = ids[valid]
        if raw.dtype == object:
            raw = np.asarray(raw.tolist())
        codes[valid] = train.item_map.lookup(raw)
    return codes
