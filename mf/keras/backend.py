"""Process-wide state of :mod:`mf.keras`: layer names, random seed, thread count.

Examples
--------
>>> from mf.keras import backend
>>> backend.clear_session()
>>> backend.set_num_threads(1)
>>> backend.get_num_threads()
1
>>> backend.set_num_threads(None)
"""

import collections
import numbers

import numpy as np

from ..kernels.threads import max_threads, numba_threads

__all__ = ["clear_session", "set_num_threads", "get_num_threads", "floatx", "epsilon"]

_name_counts = collections.defaultdict(int)
_rng = [np.random.default_rng()]
_num_threads = [None]


def floatx():
    """The float type of all weights and outputs: ``'float32'``.

    Examples
    --------
    >>> floatx()
    'float32'
    """
    return "float32"


def epsilon():
    """The fuzz factor used by losses and optimizers, as Keras: ``1e-7``.

    Examples
    --------
    >>> epsilon()
    1e-07
    """
    return 1e-7


def clear_session():
    """Reset the layer-name counters, so the next layer is ``dense`` again, not ``dense_3``.

    Examples
    --------
    >>> from mf.keras.layers import Dense
    >>> clear_session()
    >>> Dense(1).name, Dense(1).name
    ('dense', 'dense_1')
    >>> clear_session()
    >>> Dense(1).name
    'dense'
    """
    _name_counts.clear()


def unique_name(prefix):
    """``prefix``, then ``prefix_1``, ``prefix_2``, ... (process-wide, like Keras)."""
    count = _name_counts[prefix]
    _name_counts[prefix] = count + 1
    return prefix if count == 0 else f"{prefix}_{count}"


def seed(value):
    """Restart the generator behind initialisers and shuffling from ``value``."""
    _rng[0] = np.random.default_rng(value)


def generator():
    """The process-wide generator (seeded by :func:`mf.keras.utils.set_random_seed`)."""
    return _rng[0]


def child_generator():
    """A new generator drawn from the process-wide one."""
    return np.random.default_rng(_rng[0].integers(2**63))


def set_num_threads(n):
    """Threads used by the numba kernels of :mod:`mf.keras` (``None``: all cores).

    The count is applied around each kernel call and restored afterwards;
    numba's global setting is never changed.

    Examples
    --------
    >>> set_num_threads(2)
    >>> get_num_threads()
    2
    >>> set_num_threads(None)  # back to all cores
    """
    if n is not None:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"set_num_threads: n must be a positive int or None, got {n!r}")
        n = int(n)
    _num_threads[0] = n


def get_num_threads():
    """The thread count set by :func:`set_num_threads`, or ``None`` for all cores.

    Examples
    --------
    >>> set_num_threads(None)
    >>> get_num_threads() is None
    True
    """
    return _num_threads[0]


def kernel_threads():
    """Context manager: run the body with numba's thread count set as configured; restore it afterwards."""
    limit = max_threads()
    return numba_threads(limit if _num_threads[0] is None else min(_num_threads[0], limit))
