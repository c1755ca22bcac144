"""The one place a ``random_state`` argument becomes a random generator."""

import numbers

import numpy as np

__all__ = ["check_random_state"]


def check_random_state(random_state):
    """A ``numpy.random.Generator`` for a ``random_state`` argument.

    Parameters
    ----------
    random_state : int, None or numpy.random.Generator
        A non-negative int seeds a new generator (the same seed gives the
        same draws), ``None`` gives a freshly seeded one, and a generator is
        returned as it is (its state is shared with the caller).

    Returns
    -------
    numpy.random.Generator

    Raises
    ------
    ValueError
        ``random_state`` is a negative int.
    TypeError
        ``random_state`` is of any other type (a bool included).

    Examples
    --------
    >>> from mf.data.random import check_random_state
    >>> int(check_random_state(7).integers(100)) == int(check_random_state(7).integers(100))
    True
    >>> g = check_random_state(None)
    >>> check_random_state(g) is g
    True
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, (bool, np.bool_)):
        if random_state < 0:
            raise ValueError(f"random_state must be a non-negative int, got {random_state}")
        return np.random.default_rng(int(random_state))
    raise TypeError(
        f"random_state must be an int, None or a numpy.random.Generator, got {type(random_state).__name__}"
    )
