"""Utilities: seeding and session reset, as in ``keras.utils``.

Examples
--------
>>> from mf.keras import utils
>>> from mf.keras.layers import Embedding, Input
>>> utils.set_random_seed(7)
>>> a = Embedding(3, 2); _ = a(Input(shape=(1,)))
>>> utils.set_random_seed(7)
>>> b = Embedding(3, 2); _ = b(Input(shape=(1,)))
>>> bool((a.get_weights()[0] == b.get_weights()[0]).all())
True
"""

import random

import numpy as np

from . import backend

__all__ = ["set_random_seed", "clear_session"]


def set_random_seed(seed):
    """Seed the weight initialisers and the shuffling of ``fit``, plus Python's ``random``
    and numpy's global generator, as ``keras.utils.set_random_seed`` does.

    Examples
    --------
    >>> from mf.keras import initializers
    >>> set_random_seed(3)
    >>> a = initializers.RandomNormal()((4,))
    >>> set_random_seed(3)
    >>> bool((initializers.RandomNormal()((4,)) == a).all())
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"set_random_seed: seed must be a non-negative int, got {seed!r}")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    backend.seed(int(seed))


def clear_session():
    """Reset layer-name counters (see :func:`mf.keras.backend.clear_session`).

    Examples
    --------
    >>> from mf.keras.layers import Embedding
    >>> clear_session()
    >>> Embedding(3, 2).name
    'embedding'
    """
    backend.clear_session()
