"""Losses: mean squared / absolute error, binary cross-entropy, Huber.

Each loss is the mean over the output units of a per-sample value, averaged
over the batch, as in Keras.  Binary cross-entropy on a ``Dense(...,
activation='sigmoid')`` output is computed from the logits, as Keras does.

Examples
--------
>>> from mf.keras import losses
>>> losses.get("mse").name
'mean_squared_error'
>>> losses.Huber(delta=2.0).delta
2.0
"""

import inspect

from ..kernels import keras_graph as kg

__all__ = ["Loss", "MeanSquaredError", "MeanAbsoluteError", "BinaryCrossentropy", "Huber", "get"]


class Loss:
    """Base class; subclasses set the kernel code.

    Examples
    --------
    >>> loss = get("mse")
    >>> isinstance(loss, Loss), loss.get_config()
    (True, {'name': 'mean_squared_error'})
    """

    _code = None

    def __init__(self, name=None):
        self.name = name or self._default_name

    def get_config(self):
        return {"name": self.name}

    def __repr__(self):
        """The class with the settings that differ from their defaults, e.g. ``Huber(delta=2.0)``."""
        defaults = inspect.signature(type(self).__init__).parameters
        settings = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items()
                             if k != "name" and k in defaults and v != defaults[k].default)
        return f"{type(self).__name__}({settings})"


class MeanSquaredError(Loss):
    """``mean((y - p)**2)``.

    Examples
    --------
    >>> import numpy as np
    >>> from mf.keras.layers import Input, Embedding, Flatten
    >>> from mf.keras.models import Model
    >>> ids = Input(shape=(1,))
    >>> model = Model(ids, Flatten()(Embedding(2, 1, embeddings_initializer="zeros")(ids)))
    >>> model.compile(loss=MeanSquaredError())
    >>> round(model.evaluate(np.array([0, 1]), np.array([1.0, -3.0]), verbose=0), 4)  # predictions are 0: (1 + 9) / 2
    5.0
    """

    _code = kg.LOSS_MSE
    _default_name = "mean_squared_error"


class MeanAbsoluteError(Loss):
    """``mean(|y - p|)``.

    Examples
    --------
    >>> import numpy as np
    >>> from mf.keras.layers import Input, Embedding, Flatten
    >>> from mf.keras.models import Model
    >>> ids = Input(shape=(1,))
    >>> model = Model(ids, Flatten()(Embedding(2, 1, embeddings_initializer="zeros")(ids)))
    >>> model.compile(loss=MeanAbsoluteError())
    >>> round(model.evaluate(np.array([0, 1]), np.array([1.0, -3.0]), verbose=0), 4)  # predictions are 0: (1 + 3) / 2
    2.0
    """

    _code = kg.LOSS_MAE
    _default_name = "mean_absolute_error"


class BinaryCrossentropy(Loss):
    """``-mean(y log p + (1 - y) log(1 - p))``, ``p`` clipped to ``[1e-7, 1 - 1e-7]``;
    ``from_logits=True`` takes the model output as logits.

    Examples
    --------
    >>> import numpy as np
    >>> from mf.keras.layers import Input, Embedding, Flatten
    >>> from mf.keras.models import Model
    >>> ids = Input(shape=(1,))
    >>> model = Model(ids, Flatten()(Embedding(2, 1, embeddings_initializer="zeros")(ids)))
    >>> model.compile(loss=BinaryCrossentropy(from_logits=True))
    >>> round(model.evaluate(np.array([0, 1]), np.array([1.0, 0.0]), verbose=0), 4)  # logits 0: ln 2
    0.6931
    """

    _default_name = "binary_crossentropy"

    def __init__(self, from_logits=False, name=None):
        super().__init__(name)
        self.from_logits = bool(from_logits)
        self._code = kg.LOSS_BCE_LOGITS if self.from_logits else kg.LOSS_BCE

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits}


class Huber(Loss):
    """``0.5 e**2`` where ``|e| <= delta``, else ``delta (|e| - 0.5 delta)``.

    Examples
    --------
    >>> import numpy as np
    >>> from mf.keras.layers import Input, Embedding, Flatten
    >>> from mf.keras.models import Model
    >>> ids = Input(shape=(1,))
    >>> model = Model(ids, Flatten()(Embedding(2, 1, embeddings_initializer="zeros")(ids)))
    >>> model.compile(loss=Huber(delta=1.0))
    >>> round(model.evaluate(np.array([0, 1]), np.array([1.0, -3.0]), verbose=0), 4)  # (0.5 + 2.5) / 2
    1.5
    """

    _code = kg.LOSS_HUBER
    _default_name = "huber_loss"

    def __init__(self, delta=1.0, name=None):
        super().__init__(name)
        if not delta > 0:
            raise ValueError(f"Huber: delta must be > 0, got {delta!r}")
        self.delta = float(delta)

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


_BY_NAME = {
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "meansquarederror": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "meanabsoluteerror": MeanAbsoluteError,
    "binary_crossentropy": BinaryCrossentropy, "binarycrossentropy": BinaryCrossentropy,
    "huber": Huber, "huber_loss": Huber,
}
_CLASSES = {c.__name__: c for c in set(_BY_NAME.values())}


def get(identifier):
    """A loss from a Keras name (``'mean_squared_error'``, ``'mse'``, ``'mae'``,
    ``'binary_crossentropy'``, ``'huber'``) or instance.

    Examples
    --------
    >>> get("mae"), get("binary_crossentropy").get_config()
    (MeanAbsoluteError(), {'name': 'binary_crossentropy', 'from_logits': False})
    """
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"loss={identifier!r} is not supported; use 'mean_squared_error' ('mse'), "
                     "'mae', 'binary_crossentropy', 'huber' or an instance from mf.keras.losses")


def serialize(loss):
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def deserialize(config):
    return _CLASSES[config["class_name"]](**config["config"])
