"""Stratified parallel SGD for biased matrix factorisation (Funk/Koren updates).

Users and items are cut into ``B`` groups each, which cuts the rating
matrix into a ``B x B`` grid of blocks. An epoch runs ``B`` strata; in a
stratum the ``B`` blocks ``(g, (g + s) mod B)`` share no user and no item,
so they run in parallel without locks and without races. Each block shuffles
its ratings with its own RNG state, so an epoch's result depends only on the
seeds and ``B``, never on which thread ran which block: the fit is bitwise
reproducible for a fixed ``random_state`` whatever the thread count.
"""

import numpy as np
from numba import njit, prange

from .prefetch import prefetch_row
from .rng import GOLDEN, below, mix64

_FAST = {"reassoc", "contract"}
_AHEAD = 4
"""Ratings ahead of the current one whose factor rows are prefetched."""


@njit(cache=True, nogil=True)
def group_by_block(users, items, user_group, item_group, n_groups, bu, bi, values, br, ptr):
    """Copy ratings into ``bu, bi, br`` grouped by grid block; ``ptr`` gets the block offsets."""
    n_blocks = n_groups * n_groups
    for b in range(n_blocks + 1):
        ptr[b] = 0
    for j in range(users.size):
        ptr[user_group[users[j]] * n_groups + item_group[items[j]] + 1] += 1
    for b in range(n_blocks):
        ptr[b + 1] += ptr[b]
    fill = ptr[:-1].copy()
    for j in range(users.size):
        blk = user_group[users[j]] * n_groups + item_group[items[j]]
        p = fill[blk]
        bu[p] = users[j]
        bi[p] = items[j]
        br[p] = values[j]
        fill[blk] = p + 1


@njit(cache=True, nogil=True)
def shuffle_block(start, end, bu, bi, br, seed):
    """Fisher-Yates shuffle of the ratings ``[start, end)`` in place, from ``seed``."""
    # A scalar counter (not randbelow's state array) stays in a register: the
    # same draws, a fifth less time per shuffle.
    counter = np.uint64(seed)
    for j in range(end - 1, start, -1):
        counter += GOLDEN
        m = start + below(mix64(counter), j - start + 1)
        bu[j], bu[m] = bu[m], bu[j]
        bi[j], bi[m] = bi[m], bi[j]
        br[j], br[m] = br[m], br[j]


@njit(cache=True, nogil=True, parallel=True)
def shuffle_blocks(ptr, bu, bi, br, seeds):
    """Shuffle every block's ratings in place, each from its own seed."""
    for b in prange(ptr.size - 1):
        shuffle_block(ptr[b], ptr[b + 1], bu, bi, br, seeds[b])


@njit(cache=True, nogil=True, fastmath=_FAST)
def sgd_block(start, end, bu, bi, br, seed, shuffle, P, Q, user_bias, item_bias, global_mean, lr, reg, reg_bias,
              fit_bias):
    """Shuffle one block's ratings in place, then run one SGD update per rating.

    Returns the sum of squared errors seen before each update.
    """
    if shuffle:
        shuffle_block(start, end, bu, bi, br, seed)
    k = P.shape[1]
    total = 0.0
    for j in range(start, end):
        if j + _AHEAD < end:
            prefetch_row(P, bu[j + _AHEAD])
            prefetch_row(Q, bi[j + _AHEAD])
        u = bu[j]
        i = bi[j]
        dot = np.float32(0.0)
        for f in range(k):
            dot += P[u, f] * Q[i, f]
        e = br[j] - (global_mean + user_bias[u] + item_bias[i] + dot)
        total += e * e
        if fit_bias:
            user_bias[u] += lr * (e - reg_bias * user_bias[u])
            item_bias[i] += lr * (e - reg_bias * item_bias[i])
        for f in range(k):
            pf = P[u, f]
            qf = Q[i, f]
            P[u, f] = pf + lr * (e * qf - reg * pf)
            Q[i, f] = qf + lr * (e * pf - reg * qf)
    return total


@njit(cache=True, nogil=True)
def _stratum_block(g, shift, n_groups):
    return g * n_groups + (g + shift) % n_groups


@njit(cache=True, nogil=True)
def _total(errors):
    total = 0.0
    for b in range(errors.size):
        total += errors[b]
    return total


@njit(cache=True, nogil=True, parallel=True)
def sgd_epoch(ptr, bu, bi, br, n_groups, strata, seeds, shuffle, P, Q, user_bias, item_bias, global_mean, lr, reg,
              reg_bias, fit_bias):
    """One epoch over the ``n_groups x n_groups`` grid; returns the sum of squared errors.

    ``strata`` is the order of the diagonal shifts, ``seeds`` one uint64 per
    block. The blocks of a stratum run in parallel.
    """
    errors = np.zeros(n_groups * n_groups, dtype=np.float64)
    for s in range(n_groups):
        for g in prange(n_groups):
            blk = _stratum_block(g, strata[s], n_groups)
            errors[blk] = sgd_block(ptr[blk], ptr[blk + 1], bu, bi, br, seeds[blk], shuffle, P, Q, user_bias,
                                    item_bias, np.float32(global_mean), np.float32(lr), np.float32(reg),
                                    np.float32(reg_bias), fit_bias)
    return _total(errors)


@njit(cache=True, nogil=True)
def sgd_epoch_serial(ptr, bu, bi, br, n_groups, strata, seeds, shuffle, P, Q, user_bias, item_bias, global_mean, lr,
                     reg, reg_bias, fit_bias):
    """:func:`sgd_epoch` in the calling thread: the same blocks in the same strata, so the same result."""
    errors = np.zeros(n_groups * n_groups, dtype=np.float64)
    for s in range(n_groups):
        for g in range(n_groups):
            blk = _stratum_block(g, strata[s], n_groups)
            errors[blk] = sgd_block(ptr[blk], ptr[blk + 1], bu, bi, br, seeds[blk], shuffle, P, Q, user_bias,
                                    item_bias, np.float32(global_mean), np.float32(lr), np.float32(reg),
                                    np.float32(reg_bias), fit_bias)
    return _total(errors)


def balanced_groups(counts, n_groups, rng):
    """Assign rows to ``n_groups`` groups of about equal rating counts, in random order."""
    order = rng.permutation(counts.size)
    before = np.cumsum(counts[order]) - counts[order]
    total = max(int(counts.sum()), 1)
    groups = np.empty(counts.size, dtype=np.int32)
    groups[order] = np.minimum(before * n_groups // total, n_groups - 1).astype(np.int32)
    return groups
