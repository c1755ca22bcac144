"""Keras-compatible front: run Keras recommendation models on mf's numba kernels.

Change only the imports of a Keras model built from ``Input``, ``Embedding``,
``Flatten``, ``Dot``, ``Concatenate``, ``Add``, ``Multiply`` and ``Dense``::

    from mf.keras.models import Model
    from mf.keras.layers import Input, Embedding, Flatten, Dot, Concatenate, Dense

and ``compile`` / ``fit`` / ``predict`` / ``evaluate`` / ``summary`` behave as
in Keras 3 -- same defaults, same update rules, same ``History`` -- with no
deep-learning framework installed.

Examples
--------
>>> import numpy as np
>>> import mf.keras as keras
>>> keras.backend.clear_session(); keras.utils.set_random_seed(1)
>>> u, i = keras.layers.Input(shape=(1,)), keras.layers.Input(shape=(1,))
>>> vec = lambda n, t: keras.layers.Flatten()(keras.layers.Embedding(n, 8)(t))
>>> out = keras.layers.Dot(axes=1)([vec(3, u), vec(3, i)])
>>> model = keras.Model([u, i], out)
>>> model.predict([np.array([0, 2]), np.array([1, 1])]).dtype
dtype('float32')
"""

from . import (backend, callbacks, initializers, layers, losses, metrics, models, optimizers,
               regularizers, utils)
from .layers import Input
from .models import Model, load_model

__all__ = ["Model", "Input", "load_model", "backend", "callbacks", "initializers", "layers",
           "losses", "metrics", "models", "optimizers", "regularizers", "utils"]
