"""Train/test splits of a :class:`~mf.Ratings`.

Every split returns :class:`~mf.Ratings` objects that share the parent's id
maps (``train.user_map is r.user_map``), so a user or item has the same dense
index on both sides and no remapping is ever needed. Users or items that end up
with no rating on one side keep their index there.

Random choices come from ``random_state`` (an int, ``None`` or a
``numpy.random.Generator``): the same seed gives the same split.

Rounding: a fraction ``test_size`` of ``m`` ratings means the nearest integer
to ``test_size * m``, halves rounded up. The global splits take at least one
rating; :func:`user_holdout` may take none from a user with few ratings.
"""

import datetime
import numbers

import numpy as np

from .ids import IdMap
from .random import check_random_state
from .ratings import Ratings, as_ratings

__all__ = ["train_test_split", "k_fold", "user_holdout", "temporal_split", "predefined"]


# ---------------------------------------------------------------------- validation helpers
def _check_ratings(r, name="r"):
    if not isinstance(r, Ratings):
        raise TypeError(
            f"{name} must be mf.Ratings, got {type(r).__name__}; build one with "
            f"mf.Ratings(users, items, ratings) or mf.Ratings.from_frame(df)"
        )
    return r


def _is_int(x):
    return isinstance(x, numbers.Integral) and not isinstance(x, (bool, np.bool_))


def _round(x):
    """Nearest integer, halves up (elementwise)."""
    return np.floor(np.asarray(x, dtype=np.float64) + 0.5).astype(np.int64)


def _check_fraction(test_size):
    if isinstance(test_size, (bool, np.bool_)) or not isinstance(test_size, numbers.Real):
        raise TypeError(f"test_size must be a number, got {type(test_size).__name__}")
    value = float(test_size)
    if not 0.0 < value < 1.0:
        raise ValueError(
            f"test_size must be a fraction strictly between 0 and 1, got {test_size!r}; e.g. test_size=0.2"
        )
    return value


def _test_count(test_size, total):
    """Number of test ratings out of ``total`` for a fraction or a count."""
    if _is_int(test_size):
        n = int(test_size)
        if not 1 <= n < total:
            raise ValueError(
                f"test_size={n} must be a count with 1 <= test_size < {total} (the number of ratings), "
                f"or a fraction in (0, 1)"
            )
        return n
    n = max(int(_round(_check_fraction(test_size) * total)), 1)
    if n >= total:
        raise ValueError(
            f"test_size={test_size!r} of {total} ratings leaves no training rating; use a smaller test_size"
        )
    return n


def _check_n(n):
    if not _is_int(n):
        raise TypeError(f"n must be a positive int (ratings per user), got {type(n).__name__}")
    if n <= 0:
        raise ValueError(f"n must be a positive int (ratings per user), got {n}")
    return int(n)


def _user_starts(r):
    """Per-user rating counts and start offsets in the (user-sorted) rating arrays."""
    counts = np.bincount(r.user_indices, minlength=r.n_users).astype(np.int64)
    starts = np.cumsum(counts) - counts
    return counts, starts


def _split(r, test):
    return r.subset(~test), r.subset(test)


# ---------------------------------------------------------------------- random splits
def train_test_split(r, test_size=0.2, random_state=None):
    """Split ratings uniformly at random into train and test.

    Parameters
    ----------
    r : Ratings
    test_size : float or int, default 0.2
        Fraction of the ratings in ``(0, 1)`` (rounded to the nearest
        integer, at least one) or an exact count ``1 <= test_size < r.nnz``.
    random_state : int, None or numpy.random.Generator

    Returns
    -------
    train, test : Ratings
        Disjoint subsets of ``r`` covering all of it, sharing ``r``'s id maps.

    Examples
    --------
    >>> from mf import Ratings
    >>> r = Ratings([1, 1, 1, 2, 2, 3, 3, 3], [1, 2, 3, 1, 2, 1, 2, 3], [5, 4, 3, 4, 2, 1, 5, 3])
    >>> train, test = train_test_split(r, test_size=0.25, random_state=0)
    >>> len(train), len(test)
    (6, 2)
    >>> train.user_map is r.user_map and test.item_map is r.item_map
    True
    """
    r = _check_ratings(r)
    n_test = _test_count(test_size, r.nnz)
    test = np.zeros(r.nnz, dtype=bool)
    test[check_random_state(random_state).choice(r.nnz, size=n_test, replace=False)] = True
    return _split(r, test)


def k_fold(r, n_splits=5, random_state=None):
    """K-fold cross-validation over ratings.

    Ratings are shuffled once and dealt into ``n_splits`` folds whose sizes
    differ by at most one; each fold is the test set once, the rest its train
    set. The test folds partition ``r`` exactly. Input is checked and the
    folds are drawn when ``k_fold`` is called, not when iteration starts.

    Parameters
    ----------
    r : Ratings
    n_splits : int, default 5
        Number of folds, ``2 <= n_splits <= r.nnz``.
    random_state : int, None or numpy.random.Generator

    Yields
    ------
    train, test : Ratings
        Sharing ``r``'s id maps.

    Examples
    --------
    >>> from mf import Ratings
    >>> r = Ratings([1, 1, 1, 2, 2, 3, 3], [1, 2, 3, 1, 2, 1, 2], [5, 4, 3, 4, 2, 1, 5])
    >>> [(len(train), len(test)) for train, test in k_fold(r, n_splits=3, random_state=0)]
    [(4, 3), (5, 2), (5, 2)]
    """
    r = _check_ratings(r)
    if not _is_int(n_splits):
        raise TypeError(f"n_splits must be an int, got {type(n_splits).__name__}")
    if not 2 <= n_splits <= r.nnz:
        raise ValueError(
            f"n_splits must satisfy 2 <= n_splits <= {r.nnz} (the number of ratings), got {n_splits}"
        )
    fold = np.empty(r.nnz, dtype=np.int64)
    fold[check_random_state(random_state).permutation(r.nnz)] = np.arange(r.nnz) % n_splits
    return _folds(r, fold, int(n_splits))


def _folds(r, fold, n_splits):
    for k in range(n_splits):
        yield _split(r, fold == k)


def user_holdout(r, test_size=None, n=None, random_state=None):
    """Hold out a random part of each user's ratings.

    Give either ``test_size`` (a fraction of each user's ratings) or ``n``
    (a number of ratings per user); with neither, ``test_size=0.2``.
    Every user keeps at least one training rating: a user with ``c`` ratings
    gives ``min(round(test_size * c), c - 1)`` or ``min(n, c - 1)`` ratings
    to test (``round`` to the nearest integer, halves up), so a user with a
    single rating stays wholly in train.

    Parameters
    ----------
    r : Ratings
    test_size : float, optional
        Fraction in ``(0, 1)`` of each user's ratings to hold out.
    n : int, optional
        Number of ratings per user to hold out (``n >= 1``).
    random_state : int, None or numpy.random.Generator

    Returns
    -------
    train, test : Ratings
        Sharing ``r``'s id maps.

    Raises
    ------
    ValueError
        If no user has enough ratings to give one to test.

    Examples
    --------
    >>> from mf import Ratings
    >>> r = Ratings([1, 1, 1, 1, 2, 2, 3], [1, 2, 3, 4, 1, 2, 1], [5, 4, 3, 4, 2, 1, 5])
    >>> train, test = user_holdout(r, n=1, random_state=0)
    >>> test.users.tolist()
    [1, 2]
    >>> sorted(set(train.users.tolist()))
    [1, 2, 3]
    """
    r = _check_ratings(r)
    if test_size is not None and n is not None:
        raise ValueError("give either test_size (a fraction per user) or n (a count per user), not both")
    counts, starts = _user_starts(r)
    if n is None:
        frac = 0.2 if test_size is None else _check_fraction(test_size)
        per_user = _round(frac * counts)
    else:
        per_user = np.full(r.n_users, _check_n(n), dtype=np.int64)
    per_user = np.minimum(per_user, np.maximum(counts - 1, 0))
    u = r.user_indices
    order = np.lexsort((check_random_state(random_state).permutation(r.nnz), u))
    rank = np.empty(r.nnz, dtype=np.int64)
    rank[order] = np.arange(r.nnz) - starts[u]
    test = rank < per_user[u]
    if not test.any():
        raise ValueError(
            "no user has enough ratings to hold any out (each keeps at least one in train); "
            "use a larger test_size or n"
        )
    return _split(r, test)


# ---------------------------------------------------------------------- temporal split
def _as_time(cutoff):
    if hasattr(cutoff, "to_datetime64"):
        cutoff = cutoff.to_datetime64()
    if isinstance(cutoff, datetime.date):
        cutoff = np.datetime64(cutoff)
    if isinstance(cutoff, np.datetime64):
        if np.isnat(cutoff):
            raise ValueError("cutoff is NaT; pass a time")
        return int(cutoff.astype("datetime64[s]").astype(np.int64))
    if isinstance(cutoff, (bool, np.bool_)) or not isinstance(cutoff, numbers.Real):
        raise TypeError(
            f"cutoff must be a number in the timestamps' unit or a datetime64/datetime, got "
            f"{type(cutoff).__name__}; e.g. cutoff=numpy.datetime64('2000-01-01')"
        )
    if not np.isfinite(cutoff):
        raise ValueError(f"cutoff must be finite, got {cutoff}")
    return cutoff


def temporal_split(r, test_size=None, cutoff=None, n=None):
    """Split by time: later ratings are test, earlier ones train.

    Give exactly one of:

    - ``cutoff``: ratings strictly after this time are test, those at or
      before it train. A ``datetime64``/``datetime`` is compared in Unix
      seconds (how :class:`~mf.Ratings` stores ``datetime64`` timestamps).
    - ``test_size``: the latest ``test_size`` ratings (fraction in ``(0, 1)``
      rounded to the nearest integer, or a count). The cutoff is the time of
      the latest remaining rating, and ratings sharing that time stay in
      train, so with ties the test set can be smaller than asked.
    - ``n``: each user's latest ``n`` ratings (at most all but one; ties with
      the user's latest training rating stay in train, as above).

    Test ratings are always strictly later than the training ratings they
    are compared with (globally, or within the user for ``n``).

    Parameters
    ----------
    r : Ratings
        Must have timestamps.
    test_size : float or int, optional
    cutoff : number, numpy.datetime64 or datetime.datetime, optional
    n : int, optional

    Returns
    -------
    train, test : Ratings
        Sharing ``r``'s id maps.

    Examples
    --------
    >>> from mf import Ratings
    >>> r = Ratings([1, 1, 1, 2, 2], [1, 2, 3, 1, 3], [5, 4, 3, 4, 2], timestamps=[10, 20, 30, 15, 40])
    >>> train, test = temporal_split(r, cutoff=25)
    >>> test.timestamps.tolist()
    [30, 40]
    >>> train, test = temporal_split(r, n=1)
    >>> test.users.tolist(), test.items.tolist()
    ([1, 2], [3, 3])
    """
    r = _check_ratings(r)
    given = [name for name, v in (("test_size", test_size), ("cutoff", cutoff), ("n", n)) if v is not None]
    if len(given) != 1:
        raise ValueError(
            f"give exactly one of test_size (latest fraction), cutoff (a time) or n (latest per user); "
            f"got {', '.join(given) if given else 'none'}"
        )
    ts = r.timestamps
    if ts is None:
        raise ValueError(
            "temporal_split needs timestamps, but r has none; build Ratings with timestamps=... "
            "or use train_test_split or user_holdout"
        )
    if n is not None:
        n = _check_n(n)
        counts, starts = _user_starts(r)
        per_user = np.minimum(n, np.maximum(counts - 1, 0))
        order = np.lexsort((ts, r.user_indices))
        has_test = per_user > 0
        last_train = np.full(r.n_users, np.iinfo(np.int64).max, dtype=np.int64)
        last_train[has_test] = ts[order[(starts + counts - per_user - 1)[has_test]]]
        test = ts > last_train[r.user_indices]
        if not test.any():
            raise ValueError(
                f"no user has a rating later than their others to hold out with n={n}; "
                f"users need at least two ratings with distinct timestamps"
            )
        return _split(r, test)
    if cutoff is None:
        n_train = r.nnz - _test_count(test_size, r.nnz)
        cutoff = np.partition(ts, n_train - 1)[n_train - 1]
        test = ts > cutoff
        if not test.any():
            raise ValueError(
                f"all latest ratings share the timestamp {int(cutoff)}, so none is later than the "
                f"training ratings; use a larger test_size"
            )
        return _split(r, test)
    cut = _as_time(cutoff)
    test = ts > cut
    n_test = int(np.count_nonzero(test))
    if n_test == 0 or n_test == r.nnz:
        side = "test" if n_test == 0 else "train"
        raise ValueError(
            f"cutoff={cutoff!r} leaves {side} empty; timestamps range from {int(ts.min())} to "
            f"{int(ts.max())} and ratings strictly after cutoff are test"
        )
    return _split(r, test)


# ---------------------------------------------------------------------- predefined splits
def _as_side(x, name):
    if isinstance(x, Ratings):
        return x
    if isinstance(x, (tuple, list)) and len(x) == 4:
        return Ratings(*x)
    if isinstance(x, (tuple, list)) and len(x) not in (2, 3):
        raise ValueError(
            f"{name} must be a (users, items[, ratings[, timestamps]]) tuple, got a tuple of {len(x)} entries"
        )
    return as_ratings(x, name)


def _concat_ids(a, b):
    ka, kb = a.dtype.kind, b.dtype.kind
    if ka == kb != "O" or (ka in "iu" and kb in "iu" and np.result_type(a, b).kind in "iu"):
        return np.concatenate([a, b])
    return np.concatenate([a.astype(object), b.astype(object)])


def _union_map(first, second):
    """``first``'s ids, then ``second``'s ids not in ``first``."""
    if first is second:
        return first
    new = first.lookup(second.ids) < 0
    if not new.any():
        return first
    return IdMap(_concat_ids(first.ids, second.ids[new]), first.name)


def predefined(train, test):
    """Put a train set and a test set built separately on shared id maps.

    For official splits such as MovieLens-100K ``u1.base``/``u1.test``: the
    two files give two :class:`~mf.Ratings` with different id maps. The
    result uses one user map and one item map, the union of both sides'
    ids: ``train``'s ids in their order (so train indices do not change),
    then the ids seen only in ``test``. Ratings are kept as given.

    Parameters
    ----------
    train, test : Ratings or tuple
        ``Ratings`` objects or ``(users, items[, ratings[, timestamps]])``
        tuples of raw-id arrays.

    Returns
    -------
    train, test : Ratings
        The same ratings, sharing one pair of id maps.

    Examples
    --------
    >>> from mf import Ratings
    >>> train = Ratings(["ann", "bob"], ["x", "y"], [4, 5])
    >>> tr, te = predefined(train, (["cat", "ann"], ["y", "z"], [3, 2]))
    >>> tr.user_ids.tolist(), tr.item_ids.tolist()
    (['ann', 'bob', 'cat'], ['x', 'y', 'z'])
    >>> te.user_map is tr.user_map and te.item_map is tr.item_map
    True
    >>> te.users.tolist(), te.items.tolist(), te.values.tolist()
    (['ann', 'cat'], ['z', 'y'], [2.0, 3.0])
    """
    train = _as_side(train, "train")
    test = _as_side(test, "test")
    user_map = _union_map(train.user_map, test.user_map)
    item_map = _union_map(train.item_map, test.item_map)
    if user_map is not train.user_map or item_map is not train.item_map:
        train = Ratings._from_canonical(
            user_map, item_map, train.user_indices, train.item_indices, train.values, train.timestamps, train.implicit
        )
    if test.user_map is user_map and test.item_map is item_map:
        return train, test
    u, i = test.indices_in(user_map, item_map)
    order = np.lexsort((i, u))
    t = None if test.timestamps is None else test.timestamps[order]
    test = Ratings._from_canonical(
        user_map,
        item_map,
        u[order].astype(np.int32),
        i[order].astype(np.int32),
        test.values[order],
        t,
        test.implicit,
    )
    return train, test
