"""Weight penalties added to the loss, as Keras: ``l1 * sum(|w|) + l2 * sum(w**2)``.

Examples
--------
>>> import numpy as np
>>> from mf.keras import regularizers
>>> regularizers.get("l2").l2
0.01
>>> float(regularizers.L1L2(l1=0.5, l2=0.25)(np.array([1.0, -2.0])))
2.75
"""

import numpy as np

__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get"]


class Regularizer:
    """Penalty ``l1 * sum(|w|) + l2 * sum(w**2)`` on one weight variable.

    Examples
    --------
    >>> import numpy as np
    >>> penalty = Regularizer(l1=0.5, l2=0.25)
    >>> float(penalty(np.array([1.0, -2.0]))), penalty.get_config()  # 0.5 * 3 + 0.25 * 5
    (2.75, {'l1': 0.5, 'l2': 0.25})
    """

    def __init__(self, l1=0.0, l2=0.0):
        for name, value in (("l1", l1), ("l2", l2)):
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"regularizer {name} must be a finite number >= 0, got {value!r}")
        self.l1 = float(l1)
        self.l2 = float(l2)

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float64)
        return self.l1 * np.abs(x).sum() + self.l2 * np.square(x).sum()

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}

    def __repr__(self):
        return f"{type(self).__name__}(l1={self.l1}, l2={self.l2})"


class L1L2(Regularizer):
    """Both penalties (Keras defaults 0.0 and 0.0).

    ``l1_l2`` is the same class, as in Keras 3 (whose defaults are 0.0, not
    Keras 2's 0.01).

    Examples
    --------
    >>> import numpy as np
    >>> float(L1L2(l1=0.5, l2=0.25)(np.array([1.0, -2.0])))
    2.75
    >>> l1_l2()
    L1L2(l1=0.0, l2=0.0)
    """


class L1(Regularizer):
    """``l1 * sum(|w|)`` (Keras default 0.01).

    Examples
    --------
    >>> import numpy as np
    >>> float(L1(0.5)(np.array([1.0, -2.0])))
    1.5
    """

    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """``l2 * sum(w**2)`` (Keras default 0.01).

    The penalty is part of the loss ``fit`` minimises and ``evaluate`` reports.

    Examples
    --------
    >>> import numpy as np
    >>> from mf.keras.layers import Input, Embedding, Flatten
    >>> from mf.keras.models import Model
    >>> ids = Input(shape=(1,))
    >>> table = Embedding(2, 1, weights=[np.array([[1.0], [2.0]])], embeddings_regularizer=L2(0.5))
    >>> model = Model(ids, Flatten()(table(ids)))
    >>> model.compile(loss="mse")
    >>> model.evaluate(np.array([0, 1]), np.array([1.0, 2.0]), verbose=0)  # exact fit: 0.5 * (1 + 4)
    2.5
    """

    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


l1 = L1
l2 = L2
l1_l2 = L1L2

_BY_NAME = {"l1": L1, "l2": L2, "l1l2": L1L2}
_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2}


def get(identifier, argument="regularizer"):
    """``None``, a name or a :class:`Regularizer`.

    The names are Keras 3's: ``'l1'``, ``'l2'`` (factor 0.01), ``'l1l2'``
    (factors 0.0) and the class names ``'L1'``, ``'L2'``, ``'L1L2'``; Keras 3
    does not accept ``'l1_l2'`` either.

    Examples
    --------
    >>> get("l2"), get("L1L2"), get(None)
    (L2(l1=0.0, l2=0.01), L1L2(l1=0.0, l2=0.0), None)
    """
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str) and (identifier in _BY_NAME or identifier in _CLASSES):
        return {**_BY_NAME, **_CLASSES}[identifier]()
    raise ValueError(f"{argument}={identifier!r} is not a supported regularizer; use 'l1', 'l2', 'l1l2' "
                     "or an instance from mf.keras.regularizers such as L1L2(l1=0.01, l2=0.01)")


def serialize(reg):
    return None if reg is None else {"class_name": type(reg).__name__, "config": reg.get_config()}


def deserialize(config):
    return None if config is None else _CLASSES[config["class_name"]](**config["config"])
