"""The recommendation API every model shares: top-N lists, similar items and users, fold-in, explanations.

:class:`Recommender` is a mixin. It owns everything about raw ids, input
checks, batching, cold start and the stored training interactions; a model
supplies a few hooks that work on dense indices:

``_stored_state()``
    The scoring state of the trained users (for a factor model, its user
    factors and biases).
``_fold_in_state(indptr, indices, data)``
    The same kind of state for the rows of a CSR history of new users.
``_fold_in_result(state)``
    What :meth:`Recommender.fold_in` returns for the single row of ``state``.
``_rank(state, rows, n, seen, cols)``
    Best ``n`` items of each ``rows`` entry of ``state`` as
    ``(int32 indices, float32 scores)`` of shape ``(len(rows), n)``, padded
    with ``-1`` / ``-inf``; ``seen`` is ``None`` or the ``(indptr, indices)``
    of items never to return; ``cols`` is ``None`` (all items) or the sorted
    candidate item indices.
``_popularity()``
    Cold-start score of every item.
``_similar(kind, rows, n)``
    ``(indices, similarities)`` of the ``n`` nearest ``"items"`` or
    ``"users"`` to each row, the row itself excluded.
``_grow_users(n_new)``, ``_refit_users(rows)``
    Append state for new users; recompute the state of ``rows`` from
    ``user_items_`` (used by :meth:`Recommender.partial_fit_users`).
``_explain(u, i)``
    ``(item indices, contributions, baseline)`` of one prediction.

Learned state every recommender keeps: ``user_map_`` and ``item_map_``
(:class:`~mf.data.ids.IdMap`) and ``user_items_``, the training
interactions as a users x items ``scipy.sparse.csr_matrix`` (float32 ratings,
sorted item indices) that defines each user's history.
"""

import numbers
import warnings
from collections import namedtuple

import numpy as np
import scipy.sparse as sp

from ..data.ids import IdMap, as_id_array
from ..data.ratings import Ratings, as_ratings
from ..kernels.topk import topk_blocked
from ..metrics import rmse

__all__ = ["Recommender", "ColdStartWarning", "Explanation"]


class ColdStartWarning(UserWarning):
    """Some users had no training history and got the cold-start (popularity) ranking.

    Filter it with ``warnings.simplefilter("ignore", mf.ColdStartWarning)``;
    :meth:`Recommender.known_users` tells which users have a history.

    Examples
    --------
    >>> import warnings
    >>> import mf
    >>> r = mf.Ratings(["ann", "ann", "bob", "bob", "cy"], ["a", "b", "a", "c", "b"], [5, 3, 4, 2, 4])
    >>> model = mf.MatrixFactorization(factors=2, random_state=0).fit(r)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     ids, scores = model.recommend("zed", n=2)
    >>> caught[0].category.__name__, ids.tolist()
    ('ColdStartWarning', ['a', 'b'])
    """


Explanation = namedtuple("Explanation", ["items", "contributions", "baseline", "total"])
Explanation.__doc__ = """What :meth:`Recommender.explain` returns.

items : ndarray
    Raw ids of the user's rated items that contributed most, largest
    contribution first.
contributions : ndarray of float64
    Their contributions to the score.
baseline : float
    The part of the score that does not come from the user's ratings.
total : float
    ``baseline`` plus the contributions of *all* the user's rated items.

Examples
--------
>>> import mf
>>> r = mf.Ratings(["ann", "ann", "bob", "bob", "cy"], ["a", "b", "a", "c", "b"], [5, 3, 4, 2, 4])
>>> e = mf.MatrixFactorization(factors=2, random_state=0).fit(r).explain("ann", "c")
>>> e.items.tolist(), bool(abs(e.baseline + e.contributions.sum() - e.total) < 1e-6)
(['a', 'b'], True)
"""


class Recommender:
    """Top-N recommendation, similar items and users, fold-in and explanations.

    Ranking conventions shared by every method:

    * Results are ``(ids, scores)``: raw ids best first and ``float32``
      scores. Ties are broken by the item's position in ``item_map_.ids``
      (the training data's item order).
    * One query (a scalar id) gives 1-D arrays holding only the items that
      exist: fewer than ``n`` when fewer are eligible.
    * A batch (a 1-D array of ids) gives 2-D arrays of shape
      ``(n_queries, min(n, n_candidates))``. A row with fewer eligible items
      is padded at its end with score ``-inf`` and id ``-1`` (integer ids),
      NaN (float ids) or ``None`` (any other id type; the id array then has
      ``object`` dtype). These are the empty slots :mod:`mf.metrics` expects.
    * Batches are scored in blocks (one matrix product per block, then a
      parallel partial top-k with the seen items masked): no per-user Python
      loop and never a full users x items matrix.

    Cold start: a user with no training history (unknown to the model, or in
    its id map without a training rating) gets the cold-start ranking of
    ``_popularity()`` (for explicit models the unpersonalised prediction
    ``mu + b_i``) and a :class:`ColdStartWarning` is issued; with
    ``unknown="raise"`` an unknown user raises ``KeyError`` instead.

    Examples
    --------
    >>> import mf
    >>> r = mf.Ratings(["ann", "ann", "bob", "bob", "cy"], ["a", "b", "a", "c", "b"], [5, 3, 4, 2, 4])
    >>> model = mf.MatrixFactorization(factors=2, random_state=0).fit(r)
    >>> isinstance(model, mf.models.Recommender)
    True
    >>> ids, scores = model.recommend(["ann", "bob"], n=2)  # each has one unrated item left
    >>> ids
    array([['c', None],
           ['b', None]], dtype=object)
    >>> scores[:, 1]
    array([-inf, -inf], dtype=float32)
    """

    _explicit = True

    # ------------------------------------------------------------------ top-N
    def recommend(self, user, n=10, exclude_seen=True, items=None, exclude=None):
        """Best ``n`` items for a user or a batch of users.

        Parameters
        ----------
        user : raw user id or 1-D array-like of raw user ids
            A scalar gives 1-D results, an array 2-D results (one row per
            user, see the class notes on padding).
        n : int, default 10
            Items per user; larger than the number of candidates returns all
            of them.
        exclude_seen : bool, default True
            Leave out the items each user rated in training (and in
            :meth:`partial_fit_users`).
        items : array-like of raw item ids, optional
            Restrict the candidates to these items.
        exclude : array-like of raw item ids, optional
            Never recommend these items.

        Returns
        -------
        ids : ndarray
            Raw item ids, best first.
        scores : ndarray of float32
            The model's score of each (for rating models the predicted
            rating, unclipped).

        Raises
        ------
        KeyError
            ``items`` or ``exclude`` holds ids unknown to the model, or
            ``user`` is unknown and the model has ``unknown="raise"``.
        ValueError
            ``n`` is not positive.

        Examples
        --------
        >>> import mf
        >>> r = mf.Ratings(["ann"] * 3 + ["bob"] * 4 + ["cy"] * 2, list("abc") + list("abcd") + list("ad"),
        ...                [5, 4, 1, 4, 5, 2, 1, 5, 2])
        >>> model = mf.MatrixFactorization(factors=2, random_state=0).fit(r)
        >>> model.recommend("ann", n=3)[0]  # ann rated a, b and c
        array(['d'], dtype='<U1')
        >>> model.recommend(["ann", "bob"], n=2)[0]  # bob rated everything
        array([['d', None],
               [None, None]], dtype=object)
        """
        self._check_fitted("user_items_")
        n = _check_n(n, "n")
        exclude_seen = _check_bool(exclude_seen, "exclude_seen")
        scalar, users = _query(user, "user")
        cols = self._candidate_cols(items, exclude, "items", "exclude")
        rows = self.user_map_.lookup(users)
        if getattr(self, "unknown", "mean") == "raise" and (rows < 0).any():
            _index(self.user_map_, users, "user")
        width = self._width(n, cols)
        idx = np.full((users.size, width), -1, dtype=np.int32)
        scores = np.full((users.size, width), -np.inf, dtype=np.float32)
        warm = self._has_history(rows)
        cold = ~warm
        if cold.any():
            _warn_cold(int(cold.sum()), users.size)
        if width:
            if warm.any():
                seen = (self.user_items_.indptr, self.user_items_.indices) if exclude_seen else None
                idx[warm], scores[warm] = self._rank(self._stored_state(), rows[warm], width, seen, cols)
            if cold.any():
                idx[cold], scores[cold] = self._popular_rank(width, cols)
        return _results(self.item_map_, idx, scores, scalar)

    def recommend_for(self, items, ratings=None, n=10, exclude_seen=True, *, candidates=None, exclude=None):
        """Best ``n`` items for a new user described by a few ratings, without refitting.

        The user is folded in (see :meth:`fold_in`) and ranked like a trained
        user; nothing in the model changes. An empty history gives the
        cold-start ranking (with a :class:`ColdStartWarning`).

        Parameters
        ----------
        items : 1-D array-like of raw item ids
            The items the user rated (each once).
        ratings : 1-D array-like of float
            Their ratings (required by explicit-rating models).
        n : int, default 10
        exclude_seen : bool, default True
            Leave out ``items``.
        candidates, exclude : array-like of raw item ids, optional
            As ``items`` and ``exclude`` in :meth:`recommend`.

        Returns
        -------
        ids, scores : 1-D ndarrays

        Examples
        --------
        >>> import mf
        >>> r = mf.Ratings(["ann"] * 3 + ["bob"] * 4 + ["cy"] * 2, list("abc") + list("abcd") + list("ad"),
        ...                [5, 4, 1, 4, 5, 2, 1, 5, 2])
        >>> model = mf.MatrixFactorization(factors=2, random_state=0).fit(r)
        >>> model.recommend_for(["a", "b", "c"], [5, 4, 1])[0]
        array(['d'], dtype='<U1')
        """
        self._check_fitted("user_items_")
        n = _check_n(n, "n")
        exclude_seen = _check_bool(exclude_seen, "exclude_seen")
        cols = self._candidate_cols(candidates, exclude, "candidates", "exclude")
        indptr, indices, data = self._history(items, ratings)
        width = self._width(n, cols)
        if indices.size == 0:
            _warn_cold(1, 1)
        if not width:
            idx, scores = np.empty((1, 0), dtype=np.int32), np.empty((1, 0), dtype=np.float32)
        elif indices.size == 0:
            idx, scores = self._popular_rank(width, cols)
        else:
            state = self._fold_in_state(indptr, indices, data)
            seen = (indptr, indices) if exclude_seen else None
            idx, scores = self._rank(state, np.zeros(1, dtype=np.int64), width, seen, cols)
        return _results(self.item_map_, idx, scores, True)

    def known_users(self, users):
        """Boolean mask: which of ``users`` (raw ids) have a training history (see :meth:`partial_fit_users`).

        Examples
        --------
        >>> import mf
        >>> r = mf.Ratings(["ann", "ann", "bob", "bob", "cy"], ["a", "b", "a", "c", "b"], [5, 3, 4, 2, 4])
        >>> model = mf.MatrixFactorization(factors=2, random_state=0).fit(r)
        >>> model.known_users(["ann", "zed"])
        array([ True, False])
        """
        self._check_fitted("user_items_")
        _, users = _query(users, "users")
        return self._has_history(self.user_map_.lookup(users))

    # ------------------------------------------------------------------ fold-in
    def fold_in(self, items, ratings=None):
        """Representation of a user not seen in training, from a few ratings.

        Solves the same per-user problem training solves with the item side
        held fixed (for a factor model: one exact ridge solve; see the model's
        notes). The model is not changed; use :meth:`partial_fit_users` to
        add the user.

        Parameters
        ----------
        items : 1-D array-like of raw item ids
            Rated items, each once; every id must be known to the model.
        ratings : 1-D array-like of float
            Their ratings, same length (required by explicit-rating models).

        Returns
        -------
        factors : ndarray of float32, shape (n_factors,)
            The user's factor vector (empty for models without factors).
        bias : float
            The user's bias (0.0 for models without one).

        Raises
        ------
        KeyError
            ``items`` holds ids unknown to the model.
        ValueError
            ``ratings`` is missing, NaN/infinite or of another length, or an
            item is listed twice.

        Examples
        --------
        >>> import mf
        >>> r = mf.Ratings(["ann"] * 3 + ["bob"] * 4 + ["cy"] * 2, list("abc") + list("abcd") + list("ad"),
        ...                [5, 4, 1, 4, 5, 2, 1, 5, 2])
        >>> model = mf.MatrixFactorization(factors=2, random_state=0).fit(r)
        >>> factors, bias = model.fold_in(["a", "d"], [5, 1])
        >>> factors.shape, type(bias).__name__
        ((2,), 'float')
        """
        self._check_fitted("user_items_")
        return self._fold_in_result(self._fold_in_state(*self._history(items, ratings)))

    def partial_fit_users(self, users, items, ratings=None):
        """Add new users or update existing ones in place from (user, item, rating) triples.

        The triples are merged into each listed user's stored history (a
        (user, item) pair already stored gets the new rating; a pair repeated
        within the call keeps its last rating), then every listed user's
        state is re-solved from the whole history with the item side fixed,
        exactly as :meth:`fold_in` does. Users not in the model are appended
        to ``user_map_`` in order of first appearance. Items must be known;
        other users and every item are left unchanged.

        Parameters
        ----------
        users, items : 1-D array-like of raw ids
            One (user, item) pair per rating.
        ratings : 1-D array-like of float
            The ratings (required by explicit-rating models).

        Returns
        -------
        self

        Examples
        --------
        >>> import mf
        >>> r = mf.Ratings(["ann"] * 3 + ["bob"] * 4 + ["cy"] * 2, list("abc") + list("abcd") + list("ad"),
        ...                [5, 4, 1, 4, 5, 2, 1, 5, 2])
        >>> model = mf.MatrixFactorization(factors=2, random_state=0).fit(r)
        >>> model.partial_fit_users(["dee", "dee", "ann"], ["a", "b", "d"], [4, 2, 5])
        MatrixFactorization(factors=2, random_state=0)
        >>> sorted(model.recommend("dee")[0].tolist())  # dee rated a and b
        ['c', 'd']
        >>> model.known_users(["dee", "zed"])
        array([ True, False])
        """
        self._check_fitted("user_items_")
        users = _ids(users, "users")
        items = _ids(items, "items")
        if users.size != items.size:
            raise ValueError(f"users has {users.size} entries but items has {items.size}; pass one item per user")
        cols = _index(self.item_map_, items, "items")
        values = self._values(ratings, items.size)
        rows = self.user_map_.lookup(users)
        new = rows < 0
        new_ids = users[:0]
        if new.any():
            uniq, first, inverse = np.unique(users[new], return_index=True, return_inverse=True)
            rank = np.empty(first.size, dtype=np.int64)
            rank[np.argsort(first, kind="stable")] = np.arange(first.size)
            new_ids = uniq[np.argsort(first, kind="stable")]
            rows[new] = len(self.user_map_) + rank[inverse.reshape(-1)]
            new_ids = _extend_ids(self.user_map_.ids, new_ids)
        order = np.lexsort((np.arange(rows.size), cols, rows))
        rows, cols, values = rows[order], cols[order], values[order]
        last = np.ones(rows.size, dtype=bool)
        last[:-1] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        rows, cols, values = rows[last], cols[last], values[last]
        n_total = len(self.user_map_) + new_ids.size
        merged = _merge_rows(self.user_items_, n_total, rows, cols, values)
        if new_ids.size:
            self.user_map_ = IdMap(np.concatenate([self.user_map_.ids, new_ids]), "users")
            self._grow_users(new_ids.size)
        self.user_items_ = merged
        self._refit_users(np.unique(rows))
        return self

    # ------------------------------------------------------------------ similarity
    def similar_items(self, item, n=10):
        """The ``n`` items most similar to an item (or to each of a batch), the item itself excluded.

        Factor models use the cosine of the item factors; see the model for
        others. Returns ``(ids, similarities)`` with the shapes and padding of
        :meth:`recommend`.

        Examples
        --------
        >>> import mf
        >>> r = mf.Ratings(["ann"] * 3 + ["bob"] * 4 + ["cy"] * 2, list("abc") + list("abcd") + list("ad"),
        ...                [5, 4, 1, 4, 5, 2, 1, 5, 2])
        >>> model = mf.MatrixFactorization(factors=2, random_state=0).fit(r)
        >>> ids, sims = model.similar_items(["a", "b"], n=2)
        >>> ids.shape, bool((sims[:, 0] >= sims[:, 1]).all())
        ((2, 2), True)
        """
        self._check_fitted("user_items_")
        return self._similar_query(item, n, "item", self.item_map_, "items")

    def similar_users(self, user, n=10):
        """The ``n`` users most similar to a user (or to each of a batch), the user excluded.

        Factor models use the cosine of the user factors; see the model for
        others. Returns ``(ids, similarities)`` as :meth:`similar_items`.

        Examples
        --------
        >>> import mf
        >>> r = mf.Ratings(["ann", "ann", "bob", "bob", "cy"], ["a", "b", "a", "c", "b"], [5, 3, 4, 2, 4])
        >>> model = mf.MatrixFactorization(factors=2, random_state=0).fit(r)
        >>> ids, sims = model.similar_users("ann", n=2)
        >>> sorted(ids.tolist()), sims.dtype.name
        (['bob', 'cy'], 'float32')
        """
        self._check_fitted("user_items_")
        return self._similar_query(user, n, "user", self.user_map_, "users")

    def _similar_query(self, query, n, name, idmap, kind):
        n = _check_n(n, "n")
        scalar, raw = _query(query, name)
        rows = _index(idmap, raw, name)
        width = min(n, len(idmap) - 1)
        if width and rows.size:
            idx, sims = self._similar(kind, rows, width)
        else:
            idx = np.empty((rows.size, max(width, 0)), dtype=np.int32)
            sims = np.empty(idx.shape, dtype=np.float32)
        return _results(idmap, idx, sims, scalar)

    # ------------------------------------------------------------------ explanations
    def explain(self, user, item, n=5):
        """The user's rated items that contributed most to the score of ``item``.

        The score splits exactly into a baseline plus one contribution per
        item in the user's history (the model documents its decomposition).

        Parameters
        ----------
        user, item : raw ids
            A user with a training history and a known item.
        n : int, default 5
            Contributions to return (largest first).

        Returns
        -------
        Explanation
            ``(items, contributions, baseline, total)``.

        Examples
        --------
        >>> import mf
        >>> r = mf.Ratings(["ann"] * 3 + ["bob"] * 4 + ["cy"] * 2, list("abc") + list("abcd") + list("ad"),
        ...                [5, 4, 1, 4, 5, 2, 1, 5, 2])
        >>> model = mf.MatrixFactorization(factors=2, random_state=0).fit(r)
        >>> e = model.explain("cy", "b")
        >>> sorted(e.items.tolist())  # cy rated a and d
        ['a', 'd']
        >>> bool(abs(e.baseline + e.contributions.sum() - e.total) < 1e-6)  # the parts add up to the score
        True
        """
        self._check_fitted("user_items_")
        n = _check_n(n, "n")
        if np.ndim(user) != 0 or np.ndim(item) != 0:
            raise ValueError("explain takes one user and one item (scalar raw ids)")
        u = _index(self.user_map_, [user], "user")[0]
        i = _index(self.item_map_, [item], "item")[0]
        if self.user_items_.indptr[u + 1] == self.user_items_.indptr[u]:
            raise ValueError(f"user {user!r} has no training ratings, so there is nothing to explain")
        cols, contributions, baseline = self._explain(u, i)
        order = np.argsort(-contributions, kind="stable")[:n]
        total = float(baseline + contributions.sum())
        return Explanation(self.item_map_.ids[cols[order]], contributions[order], float(baseline), total)

    # ------------------------------------------------------------------ helpers
    def _pair_indices(self, users, items, raise_unknown):
        """Dense ``(user, item)`` indices of ``predict``'s raw id pairs; ``-1`` for an unknown id.

        With ``raise_unknown`` an unknown id raises ``KeyError`` instead.
        """
        users = pairs_array(users, "users")
        items = pairs_array(items, "items")
        if users.size != items.size:
            raise ValueError(f"users has {users.size} entries but items has {items.size}; pass one item per user")
        if raise_unknown:
            return self.user_map_.index(users), self.item_map_.index(items)
        return self.user_map_.lookup(users), self.item_map_.lookup(items)

    def _predict_ratings(self, users, items, clip, estimate):
        """``predict`` of a rating model: ``estimate(u, i)`` (float32) under the ``unknown`` and ``clip`` policies.

        ``estimate`` gets the dense indices (``-1`` for an unknown id, unless
        ``unknown="raise"`` raised first); with ``unknown="nan"`` a pair with
        an unknown side becomes NaN, then ``clip`` applies.
        """
        u, i = self._pair_indices(users, items, self.unknown == "raise")
        out = estimate(u, i)
        if self.unknown == "nan":
            out[(u < 0) | (i < 0)] = np.nan
        bounds = clip_bounds(clip, self.rating_range_)
        if bounds is not None:
            np.clip(out, bounds[0], bounds[1], out=out)
        return out

    def _width(self, n, cols):
        return min(n, len(self.item_map_) if cols is None else cols.size)

    def _popular_rank(self, width, cols):
        scores = np.asarray(self._popularity(), dtype=np.float32)
        one = np.zeros((1, 1), dtype=np.float32)
        return topk_blocked(one, np.zeros((scores.size, 1), dtype=np.float32), [0], width, item_bias=scores,
                            candidates=cols, n_threads=1, check_finite=False)

    def _candidate_cols(self, items, exclude, items_name, exclude_name):
        """Sorted candidate item indices, or None for the whole catalog."""
        cols = None
        if items is not None:
            cols = np.unique(_index(self.item_map_, _ids(items, items_name), items_name))
        if exclude is not None:
            drop = _index(self.item_map_, _ids(exclude, exclude_name), exclude_name)
            base = np.arange(len(self.item_map_)) if cols is None else cols
            cols = np.setdiff1d(base, drop)
        return cols

    def _values(self, ratings, size):
        if ratings is None:
            if self._explicit:
                raise ValueError(
                    f"ratings is required: {type(self).__name__} learns from rating values; pass one per item"
                )
            return np.ones(size, dtype=np.float32)
        arr = np.asarray(ratings.to_numpy() if hasattr(ratings, "to_numpy") else ratings)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        if arr.ndim != 1:
            raise ValueError(f"ratings must be 1-D, got an array of shape {arr.shape}")
        if arr.size and arr.dtype.kind not in "iuf":
            raise TypeError(f"ratings must be numeric, got dtype {arr.dtype}")
        if arr.size != size:
            raise ValueError(f"ratings has {arr.size} entries but items has {size}; pass one rating per item")
        values = arr.astype(np.float32)
        bad = ~np.isfinite(values)
        if bad.any():
            raise ValueError(
                f"ratings contains NaN or infinite values (first at position {int(np.flatnonzero(bad)[0])}); "
                f"drop those items"
            )
        return values

    def _has_history(self, rows):
        """Boolean mask: which user ``rows`` (``-1`` = unknown) have stored interactions."""
        warm = rows >= 0
        warm[warm] = np.diff(self.user_items_.indptr)[rows[warm]] > 0
        return warm

    def _history(self, items, ratings):
        """One new user's ratings as a one-row CSR: ``(indptr, sorted item indices, float32 values)``."""
        raw = _ids(items, "items")
        cols = _index(self.item_map_, raw, "items")
        values = self._values(ratings, cols.size)
        order = np.argsort(cols, kind="stable")
        cols, values = cols[order], values[order]
        repeated = cols[1:] == cols[:-1]
        if repeated.any():
            twice = self.item_map_.ids[np.unique(cols[1:][repeated])]
            raise ValueError(f"items lists {_preview(twice)} more than once; pass each rated item once")
        indptr = np.array([0, cols.size], dtype=self.user_items_.indptr.dtype)
        return indptr, cols.astype(self.user_items_.indices.dtype), values

    def _history_state(self):
        """``user_items_`` as persistable arrays."""
        csr = self.user_items_
        return {"user_items_indptr": csr.indptr, "user_items_indices": csr.indices, "user_items_data": csr.data}

    def _set_history(self, arrays):
        shape = (len(self.user_map_), len(self.item_map_))
        self.user_items_ = _csr(arrays["user_items_data"], arrays["user_items_indices"],
                                arrays["user_items_indptr"], shape)


# ---------------------------------------------------------------------- module helpers
def rating_rmse(model, X):
    """RMSE of ``model.predict`` (clipped) on held-out ratings ``X``, NaN predictions left out with a warning."""
    data = as_ratings(X, "X")
    pred = model.predict(data.users, data.items)
    keep = ~np.isnan(pred)
    if not keep.all():
        warnings.warn(f"{int((~keep).sum())} ratings of unknown users or items left out of the score", stacklevel=3)
    return rmse(data.values[keep], pred[keep])


def with_targets(X, y):
    """Training ratings from ``fit``'s ``X`` (and ``y``): explicit ratings only."""
    if y is None:
        data = as_ratings(X, "X")
    else:
        if isinstance(X, (tuple, list)) and len(X) == 2:
            users, items = X
        else:
            arr = np.asarray(X)
            if arr.ndim != 2 or arr.shape[1] != 2:
                raise ValueError(f"with y given, X must be (users, items) or an (n, 2) array, got shape {arr.shape}")
            users, items = arr[:, 0], arr[:, 1]
        data = Ratings(users, items, y)
    if data.implicit:
        raise ValueError("X holds implicit data (no rating values); use mf.ImplicitALS or mf.BPR for it")
    return data


def pairs_array(values, name):
    """A 1-D array of raw ids for ``predict``."""
    arr = np.asarray(values.to_numpy() if hasattr(values, "to_numpy") else values)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    elif arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    elif arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (or of shape (n, 1)), got an array of shape {arr.shape}")
    return arr


def clip_bounds(clip, rating_range):
    """``predict``'s ``clip`` argument as ``None`` or a ``(low, high)`` pair."""
    if clip is True:
        return rating_range
    if clip is False or clip is None:
        return None
    try:
        lo, hi = clip
    except (TypeError, ValueError):
        raise TypeError(f"clip must be True, False or a (low, high) pair, got {clip!r}") from None
    if not lo <= hi:
        raise ValueError(f"clip low must be <= high, got {clip!r}")
    return (lo, hi)


def _csr(data, indices, indptr, shape):
    csr = sp.csr_matrix((data, indices, indptr), shape=shape, copy=False)
    csr.has_sorted_indices = True
    return csr


def _check_n(n, name):
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {n!r} of type {type(n).__name__}")
    if n <= 0:
        raise ValueError(f"{name} must be >= 1 (how many results to return), got {n}")
    return int(n)


def _check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _preview(values, limit=5):
    shown = ", ".join(repr(v.item() if isinstance(v, np.generic) else v) for v in values[:limit])
    return shown + (", ..." if len(values) > limit else "")


def _ids(values, name):
    """Raw ids as a 1-D array (a scalar becomes one id)."""
    if np.ndim(values) == 0 and not hasattr(values, "to_numpy"):
        values = [values]
    return as_id_array(values, name)


def _query(query, name):
    """``(scalar, ids)``: whether ``query`` is one id, and the ids as a 1-D array."""
    if np.ndim(query) == 0 and not hasattr(query, "to_numpy"):
        return True, as_id_array([query], name)
    return False, as_id_array(query, name)


def _index(idmap, raw, name):
    """Dense indices of ``raw``; ``KeyError`` naming the argument and the unknown ids."""
    idx = idmap.lookup(raw)
    missing = idx < 0
    if missing.any():
        unknown = np.asarray(raw)[missing]
        raise KeyError(f"{name}: {int(missing.sum())} id(s) unknown to the model: {_preview(unknown)}")
    return idx


def _extend_ids(old, new):
    """``new`` ids in a dtype that concatenates with ``old`` without changing the ids' kind."""
    if old.dtype.kind == "O":
        return new.astype(object)
    if old.dtype.kind in "iu" and new.dtype.kind in "iu":
        kind = np.result_type(old.dtype, new.dtype).kind
        if kind in "iu":
            return new
    elif old.dtype.kind == new.dtype.kind:
        return new
    raise TypeError(
        f"users: the model's user ids have dtype {old.dtype} but the new users have dtype {new.dtype}; "
        f"pass ids of the same type"
    )


def _warn_cold(n_cold, n_users):
    warnings.warn(
        f"{n_cold} of {n_users} users have no training history; they get the cold-start ranking "
        f"(item popularity or bias) instead of a personalised one",
        ColdStartWarning,
        stacklevel=3,
    )


def _results(idmap, idx, scores, scalar):
    """Raw ids for ``idx`` (``-1`` = empty slot) and the scores, 1-D for a scalar query."""
    ids = idmap.ids
    if scalar:
        keep = idx[0] >= 0
        return ids[idx[0][keep]], scores[0][keep]
    out = ids[np.maximum(idx, 0)] if ids.size else np.empty(idx.shape, dtype=ids.dtype)
    pad = idx < 0
    if pad.any():
        kind = out.dtype.kind
        if kind == "i":
            out[pad] = -1
        elif kind == "f":
            out[pad] = np.nan
        else:
            out = out.astype(object)
            out[pad] = None
    return out, scores


def _merge_rows(csr, n_rows, rows, cols, values):
    """``csr`` grown to ``n_rows`` rows, with the (rows, cols, values) entries merged in.

    ``rows, cols`` are sorted without repeats; a new entry replaces a stored
    one at the same position. Untouched rows are copied in contiguous runs.
    """
    indptr, indices, data = csr.indptr, csr.indices, csr.data
    n_old = indptr.size - 1
    nnz_old = int(indptr[-1])
    touched = np.unique(rows)
    old_rows = touched[touched < n_old]
    starts, lens = indptr[old_rows].astype(np.int64), np.diff(indptr)[old_rows].astype(np.int64)
    total = int(lens.sum())
    pos = np.repeat(starts - (np.cumsum(lens) - lens), lens) + np.arange(total)
    all_rows = np.concatenate([np.repeat(old_rows, lens), rows])
    all_cols = np.concatenate([indices[pos].astype(np.int64), cols])
    all_vals = np.concatenate([data[pos], values]).astype(np.float32)
    newer = np.concatenate([np.zeros(total, dtype=np.int8), np.ones(rows.size, dtype=np.int8)])
    order = np.lexsort((newer, all_cols, all_rows))
    all_rows, all_cols, all_vals = all_rows[order], all_cols[order], all_vals[order]
    keep = np.ones(all_rows.size, dtype=bool)
    keep[:-1] = (all_rows[1:] != all_rows[:-1]) | (all_cols[1:] != all_cols[:-1])
    all_rows, all_cols, all_vals = all_rows[keep], all_cols[keep], all_vals[keep]

    lengths = np.zeros(n_rows, dtype=np.int64)
    lengths[:n_old] = np.diff(indptr)
    lengths[touched] = np.bincount(np.searchsorted(touched, all_rows), minlength=touched.size)
    new_indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_indptr[1:])
    bounds = np.searchsorted(all_rows, np.append(touched, n_rows))
    pieces_idx, pieces_val = [], []
    cursor = 0
    for q, r in enumerate(touched):
        stop = int(indptr[r]) if r < n_old else nnz_old
        pieces_idx += [indices[cursor:stop], all_cols[bounds[q]:bounds[q + 1]]]
        pieces_val += [data[cursor:stop], all_vals[bounds[q]:bounds[q + 1]]]
        cursor = int(indptr[r + 1]) if r < n_old else nnz_old
    pieces_idx.append(indices[cursor:])
    pieces_val.append(data[cursor:])
    ptr_dtype = indptr.dtype if new_indptr[-1] < np.iinfo(indptr.dtype).max else np.int64
    new_indices = np.concatenate(pieces_idx).astype(indices.dtype)
    new_data = np.concatenate(pieces_val).astype(np.float32)
    return _csr(new_data, new_indices, new_indptr.astype(ptr_dtype), (n_rows, csr.shape[1]))
