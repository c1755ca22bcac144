"""A tiny counter-free RNG for numba kernels.

Each parallel task owns its state (one uint64), seeded from the caller's
``random_state``, so results do not depend on how tasks map to threads.
"""

import numpy as np
from numba import njit

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
"""SplitMix64's counter increment."""
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@njit(cache=True, nogil=True, inline="always")
def mix64(z):
    """SplitMix64's output function: 64 well-mixed bits from the counter value ``z``."""
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True, inline="always")
def splitmix64(state):
    """Advance ``state`` (a 1-element uint64 array) and return 64 random bits."""
    state[0] += GOLDEN
    return mix64(state[0])


@njit(cache=True, nogil=True, inline="always")
def below(bits, n):
    """``bits`` (64 random bits) mapped to a uniform integer in ``[0, n)``, ``n`` < 2**32."""
    return np.int64(((bits >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32))


@njit(cache=True, nogil=True, inline="always")
def randbelow(state, n):
    """Uniform integer in ``[0, n)``, ``n`` < 2**32 (multiply-shift, negligible bias)."""
    return below(splitmix64(state), n)


@njit(cache=True, nogil=True, inline="always")
def uniform(state):
    """Uniform float in ``[0, 1)`` with 53 random bits."""
    return np.float64(splitmix64(state) >> np.uint64(11)) * (1.0 / 9007199254740992.0)
