"""Bayesian personalised ranking (Rendle et al. 2009) by stratified parallel SGD.

A training sample is a triple ``(u, i, j)``: a stored (positive) pair
``(u, i)`` and a negative item ``j``. Its loss is

    -ln sigmoid(x_u . (y_i - y_j) + b_i - b_j)
        + reg / 2 * (|x_u|^2 + |y_i|^2 + |y_j|^2 + b_i^2 + b_j^2)

and :func:`bpr_step` takes one SGD step on it (the item bias terms only when
biases are fitted). A negative ``j`` that is one of ``u``'s positives (found
by searching ``u``'s sorted positives) is skipped, not replaced.

An epoch runs on a ``B x B`` grid of (user group, item group) blocks, as in
:mod:`mf.kernels.sgd`: a stratum's ``B`` blocks share no user and no item,
so they run in parallel without races. Block ``(g, h)`` draws as many
samples as it holds positives, each positive with replacement (bootstrap
sampling, as in Rendle's LearnBPR), and its negatives among the items of
group ``h``: uniformly, or as the item of a random positive of block column
``h`` (in proportion to popularity). The caller draws a new random item
grouping every epoch, so over the epochs a positive meets negatives from the
whole catalog. Each block owns an RNG state seeded by the caller, so an
epoch depends only on the seeds and the grid, not on which thread ran which
block.
"""

import numpy as np
from numba import njit, prange

from .prefetch import prefetch_row
from .rng import randbelow

__all__ = ["bpr_step", "bpr_epoch", "bpr_fold_in", "bpr_fold_in_traced", "fold_in_row", "items_by_group", "block_has",
           "is_stored"]

_FAST = {"reassoc", "contract"}
_FOLD_CHUNKS = 64
_SCAN = 8
_AHEAD = 4


@njit(cache=True, nogil=True, inline="always")
def is_stored(indices, start, end, j):
    """True when ``j`` is among the sorted ``indices[start:end]`` (binary search)."""
    lo, hi = start, end
    while lo < hi:
        mid = (lo + hi) >> 1
        if indices[mid] < j:
            lo = mid + 1
        else:
            hi = mid
    return lo < end and indices[lo] == j


@njit(cache=True, nogil=True, inline="always")
def _pair_less(bu, bi, p, u, j):
    return bu[p] < u or (bu[p] == u and bi[p] < j)


@njit(cache=True, nogil=True)
def block_has(bu, bi, start, end, q, u, j):
    """True when the pair ``(u, j)`` is among ``(bu, bi)[start:end]``, sorted by (user, item), with ``bu[q] == u``.

    Steps outwards from ``q`` (the user's own run of positives, already in
    cache) for a few entries, then gallops and finishes by binary search, so
    long runs cost a logarithmic number of steps.
    """
    if bi[q] == j:
        return True
    if bi[q] < j:
        lo = q + 1
        for _ in range(_SCAN):
            if lo == end or bu[lo] != u or bi[lo] > j:
                return False
            if bi[lo] == j:
                return True
            lo += 1
        hi = lo
        step = 1
        while hi < end and _pair_less(bu, bi, hi, u, j):
            lo = hi + 1
            hi = lo + step
            step *= 2
        hi = min(hi, end)
    else:
        hi = q - 1
        for _ in range(_SCAN):
            if hi < start or bu[hi] != u or bi[hi] < j:
                return False
            if bi[hi] == j:
                return True
            hi -= 1
        hi += 1
        p = hi - 1
        step = 1
        while p >= start and not _pair_less(bu, bi, p, u, j):
            hi = p
            p = hi - step
            step *= 2
        lo = max(p + 1, start)
    while lo < hi:
        mid = (lo + hi) >> 1
        if _pair_less(bu, bi, mid, u, j):
            lo = mid + 1
        else:
            hi = mid
    return lo < end and bu[lo] == u and bi[lo] == j


@njit(cache=True, nogil=True, fastmath=_FAST)
def bpr_step(u, i, j, X, Y, item_bias, lr, reg, fit_bias, update_items):
    """One SGD step on the triple ``(u, i, j)``; returns ``(score, z)`` from before it.

    ``score = x_u . (y_i - y_j) + b_i - b_j`` and ``z = sigmoid(-score)``, the
    step's weight. With ``update_items`` False only ``X[u]`` moves (fold-in).
    """
    k = X.shape[1]
    score = item_bias[i] - item_bias[j] if fit_bias else X.dtype.type(0.0)
    for f in range(k):
        score += X[u, f] * (Y[i, f] - Y[j, f])
    z = X.dtype.type(1.0 / (1.0 + np.exp(score)))
    if update_items:
        for f in range(k):
            xf = X[u, f]
            yi = Y[i, f]
            yj = Y[j, f]
            X[u, f] = xf + lr * (z * (yi - yj) - reg * xf)
            Y[i, f] = yi + lr * (z * xf - reg * yi)
            Y[j, f] = yj - lr * (z * xf + reg * yj)
        if fit_bias:
            item_bias[i] += lr * (z - reg * item_bias[i])
            item_bias[j] -= lr * (z + reg * item_bias[j])
    else:
        for f in range(k):
            X[u, f] += lr * (z * (Y[i, f] - Y[j, f]) - reg * X[u, f])
    return score, z


@njit(cache=True, nogil=True)
def _column_positive(ptr, bi, n_groups, h, r):
    """Item of the ``r``-th positive of block column ``h`` (blocks ``(0, h), (1, h), ...`` in turn)."""
    for g in range(n_groups):
        blk = g * n_groups + h
        size = ptr[blk + 1] - ptr[blk]
        if r < size:
            return bi[ptr[blk] + r]
        r -= size
    return -1


@njit(cache=True, nogil=True, inline="always")
def _draw(start, n, m, state, ptr, bi, n_groups, h, popularity, pool_ptr, pool):
    """The next sample of block ``(., h)``: a random positive's position and a random negative item."""
    q = start + randbelow(state, n)
    r = randbelow(state, m)
    return q, _column_positive(ptr, bi, n_groups, h, r) if popularity else pool[pool_ptr[h] + r]


@njit(cache=True, nogil=True)
def bpr_block(g, h, ptr, bu, bi, n_groups, pool_ptr, pool, popularity, seed, X, Y, item_bias, lr, reg, fit_bias,
              stats):
    """Block ``(g, h)``: one bootstrap sample per positive; adds (loss, correct, skipped) into ``stats``."""
    blk = g * n_groups + h
    start = ptr[blk]
    n = ptr[blk + 1] - start
    if popularity:
        m = 0
        for t in range(n_groups):
            m += ptr[t * n_groups + h + 1] - ptr[t * n_groups + h]
    else:
        m = pool_ptr[h + 1] - pool_ptr[h]
    if n == 0 or m == 0:
        return
    state = np.empty(1, dtype=np.uint64)
    state[0] = seed
    loss = 0.0
    correct = 0
    skipped = 0
    # Samples are drawn _AHEAD ahead of their step (in the same order, so the same draws) and their factor
    # rows prefetched: the rows are random, so at scale each step would otherwise wait on memory.
    ring_q = np.empty(_AHEAD, dtype=np.int64)
    ring_j = np.empty(_AHEAD, dtype=np.int64)
    for t in range(min(_AHEAD, n)):
        ring_q[t], ring_j[t] = _draw(start, n, m, state, ptr, bi, n_groups, h, popularity, pool_ptr, pool)
    for t in range(n):
        q = ring_q[t % _AHEAD]
        j = ring_j[t % _AHEAD]
        if t + _AHEAD < n:
            qa, ja = _draw(start, n, m, state, ptr, bi, n_groups, h, popularity, pool_ptr, pool)
            ring_q[t % _AHEAD] = qa
            ring_j[t % _AHEAD] = ja
            prefetch_row(X, bu[qa])
            prefetch_row(Y, bi[qa])
            prefetch_row(Y, ja)
        u = bu[q]
        if block_has(bu, bi, start, start + n, q, u, j):
            skipped += 1
            continue
        score, z = bpr_step(u, bi[q], j, X, Y, item_bias, lr, reg, fit_bias, True)
        correct += score > 0
        loss += -score if score < -15.0 else -np.log1p(-z)
    stats[0] += loss
    stats[1] += correct
    stats[2] += skipped


@njit(cache=True, nogil=True, parallel=True)
def bpr_epoch(ptr, bu, bi, n_groups, strata, seeds, pool_ptr, pool, popularity, X, Y, item_bias, lr, reg, fit_bias):
    """One epoch over the ``n_groups x n_groups`` grid.

    ``ptr, bu, bi`` hold all the positives grouped by block (block ``g * B +
    h`` is ``[ptr[b], ptr[b + 1])``), sorted by (user, item) within a block.
    Negatives of item group ``h`` are drawn from ``pool[pool_ptr[h]:pool_ptr[h
    + 1]]`` (uniform), or with ``popularity`` among the items of the
    positives of block column ``h``. A user's positives in group ``h`` are
    its run in block ``(g, h)``, so the negative check never leaves the
    block. ``strata`` is the order of the diagonal shifts and ``seeds`` one
    uint64 per block.

    Returns ``(loss, correct, skipped)``: the summed ``-ln sigmoid`` of the
    scored samples before their step, how many of them ranked the positive
    first, and how many samples were skipped.
    """
    stats = np.zeros((n_groups * n_groups, 3), dtype=np.float64)
    lr_t = X.dtype.type(lr)
    reg_t = X.dtype.type(reg)
    for s in range(n_groups):
        shift = strata[s]
        for g in prange(n_groups):
            h = (g + shift) % n_groups
            blk = g * n_groups + h
            bpr_block(g, h, ptr, bu, bi, n_groups, pool_ptr, pool, popularity, seeds[blk], X, Y, item_bias, lr_t,
                      reg_t, fit_bias, stats[blk])
    loss = 0.0
    correct = 0.0
    skipped = 0.0
    for b in range(n_groups * n_groups):
        loss += stats[b, 0]
        correct += stats[b, 1]
        skipped += stats[b, 2]
    return loss, int(correct), int(skipped)


@njit(cache=True, nogil=True)
def items_by_group(item_group, n_groups, pool_ptr, pool):
    """Counting sort of the items by group: ``pool[pool_ptr[h]:pool_ptr[h + 1]]`` are group ``h``'s items."""
    for h in range(n_groups + 1):
        pool_ptr[h] = 0
    for j in range(item_group.size):
        pool_ptr[item_group[j] + 1] += 1
    for h in range(n_groups):
        pool_ptr[h + 1] += pool_ptr[h]
    for j in range(item_group.size):
        h = item_group[j]
        pool[pool_ptr[h]] = j
        pool_ptr[h] += 1
    for h in range(n_groups, 0, -1):
        pool_ptr[h] = pool_ptr[h - 1]
    pool_ptr[0] = 0


@njit(cache=True, nogil=True)
def fold_in_row(u, start, end, indices, pool, state, Y, item_bias, lr, reg, fit_bias, epochs, X, trace, weights,
                negative):
    """Fit ``X[u]`` from zeros by ``epochs * n`` bootstrap samples of the positives ``indices[start:end]``.

    Items are frozen; negatives come from ``pool``; ``state`` is the RNG
    state. With ``trace``, the run also records ``X[u]`` as a combination
    of item vectors: on return ``X[u] = scale * (sum_h weights[h] *
    Y[indices[start + h]] - negative)`` up to rounding, where ``scale`` is
    the returned value (each step shrinks the vector by ``1 - lr * reg``
    and adds ``lr * z * (y_i - y_j)``).
    """
    k = X.shape[1]
    for f in range(k):
        X[u, f] = 0.0
    n = end - start
    m = pool.size
    scale = 1.0
    if n == 0 or m == 0:
        return scale
    decay = 1.0 - np.float64(lr) * np.float64(reg)
    for _ in range(epochs * n):
        h = randbelow(state, n)
        i = indices[start + h]
        j = pool[randbelow(state, m)]
        if is_stored(indices, start, end, j):
            continue
        z = bpr_step(u, i, j, X, Y, item_bias, lr, reg, fit_bias, False)[1]
        if trace:
            scale *= decay
            step = np.float64(lr) * np.float64(z) / scale
            weights[h] += step
            for f in range(k):
                negative[f] += step * Y[j, f]
            if scale < 1e-150:
                for t in range(n):
                    weights[t] *= scale
                for f in range(k):
                    negative[f] *= scale
                scale = 1.0
    return scale


@njit(cache=True, nogil=True, parallel=True)
def bpr_fold_in(rows, indptr, indices, pool, seeds, Y, item_bias, lr, reg, fit_bias, epochs, X):
    """Fit ``X[u]`` for each row ``u`` of ``rows`` with the items frozen (see :func:`fold_in_row`).

    Row ``rows[q]`` uses the positives of CSR row ``u`` (sorted) and the
    seed ``seeds[q]``; rows without positives stay zero. Rows are
    independent, so the result does not depend on the thread count.
    """
    lr_t = X.dtype.type(lr)
    reg_t = X.dtype.type(reg)
    n_chunks = min(rows.size, _FOLD_CHUNKS)
    for c in prange(n_chunks):
        state = np.empty(1, dtype=np.uint64)
        unused = np.empty(0, dtype=np.float64)
        for q in range(c, rows.size, n_chunks):
            u = rows[q]
            state[0] = seeds[q]
            fold_in_row(u, indptr[u], indptr[u + 1], indices, pool, state, Y, item_bias, lr_t, reg_t, fit_bias,
                        epochs, X, False, unused, unused)


@njit(cache=True, nogil=True)
def bpr_fold_in_traced(indices, pool, seed, Y, item_bias, lr, reg, fit_bias, epochs, x, weights, negative):
    """:func:`fold_in_row` with ``trace`` for one history ``indices`` into ``x`` (shape (1, k)); returns ``scale``."""
    state = np.empty(1, dtype=np.uint64)
    state[0] = seed
    return fold_in_row(0, 0, indices.size, indices, pool, state, Y, item_bias, x.dtype.type(lr), x.dtype.type(reg),
                       fit_bias, epochs, x, True, weights, negative)
