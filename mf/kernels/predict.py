"""Scoring (user, item) pairs with a biased factor model.

An index of ``-1`` means unknown: its factors and bias count as zero.
"""

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, inline="always")
def score_pair(u, i, P, Q, user_bias, item_bias, global_mean):
    """``mu + b_u + b_i + P[u] . Q[i]`` with unknown (-1) sides left out."""
    s = global_mean
    if u >= 0:
        s += user_bias[u]
    if i >= 0:
        s += item_bias[i]
    if u >= 0 and i >= 0:
        acc = np.float32(0.0)
        for f in range(P.shape[1]):
            acc += P[u, f] * Q[i, f]
        s += acc
    return s


@njit(cache=True, nogil=True, parallel=True)
def predict_pairs(users, items, P, Q, user_bias, item_bias, global_mean, out):
    """Write the score of each (users[j], items[j]) pair into ``out[j]``."""
    for j in prange(users.size):
        out[j] = score_pair(users[j], items[j], P, Q, user_bias, item_bias, global_mean)


@njit(cache=True, nogil=True, parallel=True)
def squared_error_sum(users, items, values, P, Q, user_bias, item_bias, global_mean):
    """Sum of squared errors of the model on the given ratings (float64)."""
    total = 0.0
    for j in prange(users.size):
        e = values[j] - score_pair(users[j], items[j], P, Q, user_bias, item_bias, global_mean)
        total += e * e
    return total
