"""Per-call control of numba's thread count.

The kernels never call BLAS from inside a numba parallel region, and the
models never run a BLAS call while a numba kernel runs, so the two thread
pools take turns instead of oversubscribing the cores.
"""

import contextlib
import numbers
import os

import numba

__all__ = ["max_threads", "resolve_threads", "numba_threads"]


def max_threads():
    """Largest thread count numba can use in this process."""
    return int(numba.config.NUMBA_NUM_THREADS)


def resolve_threads(n_threads, name="n_threads"):
    """Validate ``n_threads`` (``None`` or ``-1`` means all cores) and return an int."""
    limit = max_threads()
    if n_threads is None or n_threads == -1:
        return min(limit, os.cpu_count() or 1)
    if isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral):
        raise TypeError(f"{name} must be a positive int or None, got {n_threads!r}")
    n = int(n_threads)
    if n < 1:
        raise ValueError(f"{name} must be >= 1 (or None for all cores), got {n}")
    return min(n, limit)


@contextlib.contextmanager
def numba_threads(n):
    """Run the body with numba's thread count set to ``n``; restore it afterwards."""
    previous = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(previous)
