"""Linear-time ordering of (user, item) pairs, used to build Ratings."""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _scatter(keys, n_keys, source, out):
    """Stable counting sort: ``out`` receives ``source`` ordered by ``keys[source]``."""
    starts = np.zeros(n_keys + 1, dtype=np.int64)
    for j in range(source.size):
        starts[keys[source[j]] + 1] += 1
    for k in range(n_keys):
        starts[k + 1] += starts[k]
    for j in range(source.size):
        s = source[j]
        k = keys[s]
        out[starts[k]] = s
        starts[k] += 1


@njit(cache=True, nogil=True)
def _identity(out):
    for j in range(out.size):
        out[j] = j


def canonical_order(users, items, n_users, n_items):
    """Permutation sorting pairs by (user, item), stable for equal pairs."""
    dtype = np.int32 if users.size < 2**31 - 1 else np.int64
    first = np.empty(users.size, dtype=dtype)
    second = np.empty(users.size, dtype=dtype)
    _identity(first)
    _scatter(items, n_items, first, second)
    _scatter(users, n_users, second, first)
    return first
