"""Kernels of the synthetic rating generator.

Each user draws from its own splitmix64 stream seeded from the caller's
Generator, so the output does not depend on the number of threads.
"""

import math

import numpy as np
from numba import njit, prange

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)


@njit(cache=True, nogil=True)
def _uniform(state):
    """Uniform float in (0, 1) from the splitmix64 state ``state[0]``, which advances."""
    state[0] += _GOLDEN
    z = state[0]
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    z = z ^ (z >> _S31)
    return ((z >> _S11) + 0.5) * (1.0 / 9007199254740992.0)


@njit(cache=True, nogil=True)
def _normal(state):
    u = _uniform(state)
    v = _uniform(state)
    return math.sqrt(-2.0 * math.log(u)) * math.cos(2.0 * math.pi * v)


@njit(cache=True, nogil=True)
def _select_smallest(keys, idx, n, k):
    """Reorder ``keys[:n]`` and ``idx[:n]`` together so the first ``k`` hold the ``k`` smallest keys."""
    lo = 0
    hi = n - 1
    while lo < hi:
        pivot = keys[(lo + hi) // 2]
        i = lo
        j = hi
        while i <= j:
            while keys[i] < pivot:
                i += 1
            while keys[j] > pivot:
                j -= 1
            if i <= j:
                keys[i], keys[j] = keys[j], keys[i]
                idx[i], idx[j] = idx[j], idx[i]
                i += 1
                j -= 1
        if k - 1 <= j:
            hi = j
        elif k - 1 >= i:
            lo = i
        else:
            break


@njit(cache=True, nogil=True)
def alias_table(weights):
    """Walker/Vose alias table ``(prob, alias)`` for O(1) draws proportional to ``weights``."""
    n = weights.size
    prob = weights * (n / weights.sum())
    alias = np.arange(n).astype(np.int32)
    small = np.empty(n, dtype=np.int32)
    large = np.empty(n, dtype=np.int32)
    n_small = 0
    n_large = 0
    for i in range(n):
        if prob[i] < 1.0:
            small[n_small] = i
            n_small += 1
        else:
            large[n_large] = i
            n_large += 1
    while n_small > 0 and n_large > 0:
        n_small -= 1
        s = small[n_small]
        g = large[n_large - 1]
        alias[s] = g
        prob[g] += prob[s] - 1.0
        if prob[g] < 1.0:
            n_large -= 1
            small[n_small] = g
            n_small += 1
    for k in range(n_large):
        prob[large[k]] = 1.0
    for k in range(n_small):
        prob[small[k]] = 1.0
    return prob, alias


@njit(cache=True, nogil=True)
def _sample_items(m, prob, alias, weights, state, stamp, mark, cand, keys):
    """``m`` distinct items drawn by weight without replacement, into ``cand[:m]``.

    Successive draws (alias method) with rejection of repeats while that is
    cheap; else exponential keys (``E / w``, the ``m`` smallest win), which
    gives the same distribution.
    """
    n = prob.size
    if 4 * m <= n:
        got = 0
        budget = 8 * m + 64
        while got < m and budget > 0:
            budget -= 1
            i = min(int(_uniform(state) * n), n - 1)
            if _uniform(state) >= prob[i]:
                i = alias[i]
            if mark[i] != stamp:
                mark[i] = stamp
                cand[got] = i
                got += 1
        if got == m:
            return
    for i in range(n):
        cand[i] = i
        keys[i] = -math.log(_uniform(state)) / weights[i]
    _select_smallest(keys, cand, n, m)


@njit(cache=True, nogil=True, parallel=True)
def fill(indptr, prob, alias, weights, user_factors, item_factors, user_bias, item_bias, mean, noise, seeds,
         implicit, oversample, n_blocks, items, values):  # fmt: skip
    """Write each user's items (sorted) and ratings into ``items``/``values[indptr[u]:indptr[u + 1]]``.

    Explicit: items drawn by popularity, rating ``mean + b_u + c_i + p_u.q_i +
    noise * N(0, 1)`` clipped to [1, 5] and rounded to a half star. Implicit:
    of ``oversample * d`` items drawn by popularity, the ``d`` with the
    highest ``c_i + p_u.q_i + noise * N(0, 1)``; ``values`` is not written.
    """
    n_users = indptr.size - 1
    n_items = prob.size
    rank = user_factors.shape[1]
    per_block = (n_users + n_blocks - 1) // n_blocks
    for b in prange(n_blocks):
        mark = np.full(n_items, -1, dtype=np.int64)
        cand = np.empty(n_items, dtype=np.int32)
        keys = np.empty(n_items, dtype=np.float64)
        state = np.empty(1, dtype=np.uint64)
        for u in range(b * per_block, min((b + 1) * per_block, n_users)):
            start = indptr[u]
            d = indptr[u + 1] - start
            if d == 0:
                continue
            state[0] = seeds[u]
            m = min(n_items, oversample * d) if implicit else d
            _sample_items(m, prob, alias, weights, state, u, mark, cand, keys)
            if implicit:
                for k in range(m):
                    i = cand[k]
                    score = item_bias[i] + noise * _normal(state)
                    for f in range(rank):
                        score += user_factors[u, f] * item_factors[i, f]
                    keys[k] = -score
                _select_smallest(keys, cand, m, d)
            chosen = cand[:d]
            chosen.sort()
            for k in range(d):
                i = chosen[k]
                items[start + k] = i
                if not implicit:
                    r = mean + user_bias[u] + item_bias[i] + noise * _normal(state)
                    for f in range(rank):
                        r += user_factors[u, f] * item_factors[i, f]
                    r = min(max(r, 1.0), 5.0)
                    values[start + k] = math.floor(2.0 * r + 0.5) / 2.0
