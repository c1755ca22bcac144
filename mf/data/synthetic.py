"""Synthetic ratings from a planted low-rank model, with power-law activity."""

import numbers

import numba
import numpy as np

from ._synth import alias_table, fill
from .ids import IdMap
from .ratings import Ratings
from .random import check_random_state

__all__ = ["synthetic"]

GLOBAL_MEAN = 3.6
USER_BIAS_SD = 0.4
ITEM_BIAS_SD = 0.5
INTERACTION_VAR = 0.5
IMPLICIT_OVERSAMPLE = 3
_SCRATCH_BYTES = 1 << 28


def _count(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _amount(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _zipf_weights(n, exponent, rng):
    """Weights ``k ** -exponent`` (k = 1..n) dealt to the n ids in random order."""
    return (np.arange(1, n + 1, dtype=np.float64) ** -exponent)[rng.permutation(n)]


def _degrees(n_ratings, weights, cap, rng):
    """Ratings per user: at least one each when there are enough, then in proportion to ``weights``, at most ``cap``."""
    base = 1 if n_ratings >= weights.size else 0
    degrees = np.full(weights.size, base, dtype=np.int64)
    spare = n_ratings - base * weights.size
    open_ = np.ones(weights.size, dtype=bool)
    while spare:
        idx = np.flatnonzero(open_)
        p = weights[idx] / weights[idx].sum()
        degrees[idx] += rng.multinomial(spare, p)
        over = degrees > cap
        spare = int((degrees[over] - cap).sum())
        degrees[over] = cap
        open_ &= degrees < cap
    return degrees


def synthetic(
    n_users,
    n_items,
    n_ratings,
    rank=10,
    noise=0.5,
    skew=1.0,
    random_state=0,
    implicit=False,
    return_truth=False,
):
    """Random ratings with known structure, for tests, benchmarks and demos.

    Activity follows a power law: the k-th most active user has expected
    activity proportional to ``k ** (-skew / 2)``, and the k-th most popular
    item popularity ``k ** (-skew / 2)``; users and items get their ranks in
    random order. ``skew=0`` is uniform; ``skew=1`` is close to MovieLens and
    Netflix (the top 1% of users hold about 10% of the ratings); ``skew=2``
    is Zipf's law. Every user gets at least one rating when
    ``n_ratings >= n_users``, and no user more than ``n_items``.

    Each user rates distinct items, drawn by popularity without replacement,
    so there are exactly ``n_ratings`` ratings and no repeated pair. A rating
    is ``3.6 + b_u + c_i + p_u . q_i + e``, with user and item biases
    ``b_u ~ N(0, 0.4^2)``, ``c_i ~ N(0, 0.5^2)``, factors ``p_u, q_i`` of
    length ``rank`` with i.i.d. normal entries scaled so that ``p_u . q_i``
    has variance 0.5, and noise ``e ~ N(0, noise^2)``; it is then clipped to
    [1, 5] and rounded to the nearest half star (stored as float32).

    Parameters
    ----------
    n_users, n_items : int
        Sizes of the id maps; raw ids are ``0..n_users-1`` and
        ``0..n_items-1`` (unpopular items may receive no rating).
    n_ratings : int
        Number of ratings, at most ``n_users * n_items``.
    rank : int
        Number of planted factors.
    noise : float
        Standard deviation of the rating noise (implicit: of the affinity noise).
    skew : float
        Power-law exponent control, see above.
    random_state : int, None or numpy.random.Generator
        Seed of every random choice; the result does not depend on threads.
    implicit : bool
        Return implicit feedback instead: for a user with ``d`` positives,
        the ``d`` items with the highest planted affinity
        ``c_i + p_u . q_i + e`` among ``3 d`` items drawn by popularity.
    return_truth : bool
        Also return the planted model.

    Returns
    -------
    ratings : Ratings
    truth : dict, only when ``return_truth``
        ``global_mean`` (float), ``user_bias``, ``item_bias`` (float32,
        by raw id), ``user_factors`` (n_users, rank), ``item_factors``
        (n_items, rank), ``user_activity`` and ``item_popularity`` (the
        power-law weights).

    Examples
    --------
    >>> r = synthetic(100, 50, 1000, random_state=0)
    >>> r.shape, r.nnz
    ((100, 50), 1000)
    >>> sorted(set(r.values.tolist()))[:3]
    [1.0, 1.5, 2.0]
    >>> synthetic(100, 50, 1000, implicit=True).implicit
    True
    """
    n_users = _count(n_users, "n_users", 1)
    n_items = _count(n_items, "n_items", 1)
    n_ratings = _count(n_ratings, "n_ratings", 1)
    if n_ratings > n_users * n_items:
        raise ValueError(
            f"n_ratings={n_ratings} exceeds n_users * n_items = {n_users * n_items}: "
            f"each (user, item) pair can be rated once"
        )
    rank = _count(rank, "rank", 1)
    noise = _amount(noise, "noise")
    skew = _amount(skew, "skew")
    rng = check_random_state(random_state)

    user_activity = _zipf_weights(n_users, skew / 2, rng)
    item_popularity = _zipf_weights(n_items, skew / 2, rng)
    degrees = _degrees(n_ratings, user_activity, n_items, rng)
    scale = (INTERACTION_VAR / rank) ** 0.25
    user_factors = (scale * rng.standard_normal((n_users, rank))).astype(np.float32)
    item_factors = (scale * rng.standard_normal((n_items, rank))).astype(np.float32)
    user_bias = (USER_BIAS_SD * rng.standard_normal(n_users)).astype(np.float32)
    item_bias = (ITEM_BIAS_SD * rng.standard_normal(n_items)).astype(np.float32)
    seeds = rng.integers(0, 2**63, size=n_users, dtype=np.int64).astype(np.uint64)

    indptr = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(degrees, out=indptr[1:])
    del degrees
    prob, alias = alias_table(item_popularity)
    items = np.empty(n_ratings, dtype=np.int32)
    values = np.empty(0 if implicit else n_ratings, dtype=np.float32)
    n_blocks = max(1, min(n_users, 8 * numba.get_num_threads(), _SCRATCH_BYTES // (20 * n_items)))
    fill(
        indptr, prob, alias, item_popularity, user_factors, item_factors, user_bias, item_bias, GLOBAL_MEAN, noise,
        seeds, implicit, IMPLICIT_OVERSAMPLE, n_blocks, items, values,
    )  # fmt: skip
    if implicit:
        values = np.ones(n_ratings, dtype=np.float32)
    users = np.repeat(np.arange(n_users, dtype=np.int32), np.diff(indptr))
    ratings = Ratings._from_canonical(
        IdMap(np.arange(n_users, dtype=np.int64), "users"),
        IdMap(np.arange(n_items, dtype=np.int64), "items"),
        users,
        items,
        values,
        None,
        implicit,
    )
    if not return_truth:
        return ratings
    truth = {
        "global_mean": GLOBAL_MEAN,
        "user_bias": user_bias,
        "item_bias": item_bias,
        "user_factors": user_factors,
        "item_factors": item_factors,
        "user_activity": user_activity,
        "item_popularity": item_popularity,
    }
    return ratings, truth
