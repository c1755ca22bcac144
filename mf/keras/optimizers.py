"""Optimizers with Keras 3's update rules and defaults.

The update of every optimizer is Keras 3's (TensorFlow backend), step for
step, in float32, so a model trains to the same weights as under Keras (the
tests compare against TensorFlow to float32 rounding).  In particular:

* Keras updates an embedding table *densely*: at each step Adam decays the
  moments of every row and moves every row whose first moment is not zero,
  RMSprop decays every row's second moment, and momentum keeps moving rows
  the batch did not touch.  ``mf.keras`` gives the same result.  Under Adam,
  a table without a regulariser is updated lazily: a row the batches skip
  is brought up to date when a batch next reads it, and every row at the
  end of each epoch (or every few batches while a progress bar updates),
  applying the skipped steps in closed form.  That form is exact but for
  ``epsilon``, which it carries as a weighted mean over the skipped steps:
  the difference is below 3e-5 of the skipped steps' move at the default
  betas, and nil where ``sqrt(v)`` is well above ``epsilon``.  Betas for
  which it could exceed 1e-4, a callback that sees every batch, RMSprop,
  momentum and regularised tables take one vectorised pass over the table
  per step.  Plain SGD and Adagrad leave untouched rows unchanged, and then
  only the touched rows are visited.
* Keras receives a table's gradient as one slice per sample and squares the
  slices before adding up those of a row that appears several times in a
  batch: the second moments of Adam, RMSprop and Adagrad grow by the sum of
  the squared per-sample gradients.  ``mf.keras`` does the same (a table with
  a regulariser gets a dense gradient in Keras, and the square of the sum).

Examples
--------
>>> from mf.keras import optimizers
>>> opt = optimizers.Adam(learning_rate=0.01)
>>> opt.learning_rate, opt.beta_1, opt.beta_2, opt.epsilon
(0.01, 0.9, 0.999, 1e-07)
>>> optimizers.get("sgd").learning_rate
0.01
"""

import functools
import numbers

import numpy as np

from ..kernels import keras_graph as kg

__all__ = ["Optimizer", "SGD", "Adam", "RMSprop", "Adagrad", "get"]


def _positive(name, value, allow_zero=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) \
            or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be a {'non-negative' if allow_zero else 'positive'} "
                         f"number, got {value!r}")
    return float(value)


class Optimizer:
    """Base class.  ``learning_rate`` may be changed between epochs (e.g. by a callback).

    Examples
    --------
    >>> opt = get("adam")
    >>> isinstance(opt, Optimizer), opt.iterations
    (True, 0)
    >>> opt.learning_rate = 0.01
    >>> opt
    Adam(learning_rate=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-07)
    """

    _code = None
    _n_slots = 0

    def __init__(self, learning_rate, name=None, **kwargs):
        for key, value in kwargs.items():
            if value is not None and value is not False:
                raise NotImplementedError(
                    f"{type(self).__name__}: argument {key}={value!r} is not supported")
        self.learning_rate = learning_rate
        self.name = name or type(self).__name__.lower()
        self.iterations = 0
        self._slots = None

    @property
    def learning_rate(self):
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        if callable(value):
            raise NotImplementedError("learning-rate schedules are not supported; pass a float "
                                      "(a callback may change optimizer.learning_rate)")
        self._learning_rate = _positive("learning_rate", value)

    def _hyper(self):
        raise NotImplementedError

    def _slot_init(self):
        """Initial value of the first state array (Adagrad's initial accumulator)."""
        return 0.0

    def _lazy(self):
        """Whether embedding rows a batch skips may be brought up to date in closed form when
        next read, instead of being updated at every step."""
        return False

    def _slots_for(self, n_params):
        """State arrays for ``n_params`` weights, kept across ``fit`` calls."""
        if self._slots is None or self._slots[0].shape[0] not in (0, n_params):
            shapes = [n_params if k < self._n_slots else 0 for k in range(3)]
            self._slots = [np.zeros(n, dtype=np.float32) for n in shapes]
            self._slots[0][:] = self._slot_init()
        return self._slots

    def get_config(self):
        return {"name": self.name, "learning_rate": self.learning_rate}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """``w -= lr * g``; with ``momentum``, Keras's (optionally Nesterov) velocity update.

    Examples
    --------
    >>> import numpy as np
    >>> from mf.keras.layers import Input, Embedding, Flatten
    >>> from mf.keras.models import Model
    >>> ids = Input(shape=(1,))
    >>> model = Model(ids, Flatten()(Embedding(2, 1, embeddings_initializer="zeros")(ids)))
    >>> model.compile(optimizer=SGD(learning_rate=0.1), loss="mse")
    >>> _ = model.fit(np.array([0]), np.array([1.0]), verbose=0)  # one step, gradient -2
    >>> model.get_weights()[0].ravel().round(4)  # 0.1 * 2; row 1 was not in the batch
    array([0.2, 0. ], dtype=float32)
    """

    _code = kg.OPT_SGD

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name=None, **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.momentum = _positive("momentum", momentum, allow_zero=True)
        self.nesterov = bool(nesterov)
        self._n_slots = 1 if self.momentum else 0

    def _hyper(self):
        return np.array([self.learning_rate, self.momentum, self.nesterov], dtype=np.float32)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Keras Adam: ``m += (g - m)(1 - beta_1)``, ``v += (g**2 - v)(1 - beta_2)``,
    ``w -= alpha_t * m / (sqrt(v) + epsilon)`` with
    ``alpha_t = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)``.

    Examples
    --------
    >>> import numpy as np
    >>> from mf.keras.layers import Input, Embedding, Flatten
    >>> from mf.keras.models import Model
    >>> ids = Input(shape=(1,))
    >>> model = Model(ids, Flatten()(Embedding(2, 1, embeddings_initializer="zeros")(ids)))
    >>> model.compile(optimizer=Adam(learning_rate=0.1), loss="mse")
    >>> _ = model.fit(np.array([0]), np.array([1.0]), verbose=0)  # one step, gradient -2
    >>> model.get_weights()[0].ravel().round(4)  # the first step is lr, whatever the gradient's size
    array([0.1, 0. ], dtype=float32)
    """

    _code = kg.OPT_ADAM
    _n_slots = 2

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, name=None, **kwargs):
        super().__init__(learning_rate, name, amsgrad=amsgrad, **kwargs)
        self.beta_1 = _positive("beta_1", beta_1, allow_zero=True)
        self.beta_2 = _positive("beta_2", beta_2, allow_zero=True)
        self.epsilon = _positive("epsilon", epsilon)
        if self.beta_1 >= 1 or self.beta_2 >= 1:
            raise ValueError(f"beta_1 and beta_2 must be < 1, got {beta_1} and {beta_2}")

    def _hyper(self):
        return np.array([self.learning_rate, self.beta_1, self.beta_2, self.epsilon],
                        dtype=np.float32)

    def _lazy(self):
        return self.beta_1 < self.beta_2 and \
            _skipped_steps_error(self.beta_1, self.beta_2) <= LAZY_TOLERANCE

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


LAZY_TOLERANCE = 1e-4


@functools.lru_cache(maxsize=64)
def _skipped_steps_error(beta_1, beta_2):
    """Worst relative error of the closed form that brings a skipped embedding row up to date
    under Adam (``mf.kernels.keras_graph._adam_catch_up``) against Keras's steps one by one.

    Scanned over gaps, the step count before the gap (0 to 100,000) and ``sqrt(v) / epsilon``
    from 1e-3 to 1e3, where the form's ``epsilon`` term is approximate (it is exact for
    ``sqrt(v) >> epsilon``).  2.7e-5 at the default betas; it grows quickly as ``beta_2``
    moves away from 1 (1.3e-2 at 0.98).

    Examples
    --------
    >>> _skipped_steps_error(0.9, 0.999) < LAZY_TOLERANCE < _skipped_steps_error(0.9, 0.98)
    True
    """
    if beta_1 == 0:  # the first moment is zero after one skipped step: nothing moves
        return 0.0
    ratio = beta_1 / np.sqrt(beta_2)
    n = int(min(20_000, np.ceil(np.log(1e-12) / np.log(ratio))))
    j = np.arange(1, n + 1, dtype=np.float64)
    scale = np.sqrt(beta_2 ** j)
    x = np.logspace(-3, 3, 61)
    worst = 0.0
    for t0 in (0, 10, 100, 1_000, 100_000):
        t = t0 + j
        weight = np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t) * beta_1 ** j
        c = np.cumsum(weight / scale)
        kappa = np.cumsum(weight / scale ** 2) / c
        exact = np.cumsum(weight[:, None] / (scale[:, None] * x + 1.0), axis=0)
        approx = c[:, None] / (x + kappa[:, None])
        worst = max(worst, float(np.max(np.abs(approx - exact) / exact)))
    return worst


class RMSprop(Optimizer):
    """Keras RMSprop: ``v = rho v + (1 - rho) g**2``, ``w -= lr g / sqrt(v + epsilon)``.

    Examples
    --------
    >>> import numpy as np
    >>> from mf.keras.layers import Input, Embedding, Flatten
    >>> from mf.keras.models import Model
    >>> ids = Input(shape=(1,))
    >>> model = Model(ids, Flatten()(Embedding(2, 1, embeddings_initializer="zeros")(ids)))
    >>> model.compile(optimizer=RMSprop(learning_rate=0.1), loss="mse")
    >>> _ = model.fit(np.array([0]), np.array([1.0]), verbose=0)  # one step, gradient -2
    >>> model.get_weights()[0].ravel().round(4)  # 0.1 * 2 / sqrt(0.1 * 4)
    array([0.3162, 0.    ], dtype=float32)
    """

    _code = kg.OPT_RMSPROP

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 name=None, **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.rho = _positive("rho", rho, allow_zero=True)
        self.momentum = _positive("momentum", momentum, allow_zero=True)
        self.epsilon = _positive("epsilon", epsilon)
        self.centered = bool(centered)
        self._n_slots = 3 if self.centered else (2 if self.momentum else 1)

    def _hyper(self):
        return np.array([self.learning_rate, self.rho, self.momentum, self.epsilon,
                         self.centered], dtype=np.float32)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


class Adagrad(Optimizer):
    """Keras Adagrad: ``acc += g**2``, ``w -= lr g / sqrt(acc + epsilon)``, ``acc`` starting at
    ``initial_accumulator_value``.

    Examples
    --------
    >>> import numpy as np
    >>> from mf.keras.layers import Input, Embedding, Flatten
    >>> from mf.keras.models import Model
    >>> ids = Input(shape=(1,))
    >>> model = Model(ids, Flatten()(Embedding(2, 1, embeddings_initializer="zeros")(ids)))
    >>> model.compile(optimizer=Adagrad(learning_rate=0.1), loss="mse")
    >>> _ = model.fit(np.array([0]), np.array([1.0]), verbose=0)  # one step, gradient -2
    >>> model.get_weights()[0].ravel().round(4)  # 0.1 * 2 / sqrt(0.1 + 4)
    array([0.0988, 0.    ], dtype=float32)
    """

    _code = kg.OPT_ADAGRAD
    _n_slots = 1

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 name=None, **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.initial_accumulator_value = _positive("initial_accumulator_value",
                                                   initial_accumulator_value, allow_zero=True)
        self.epsilon = _positive("epsilon", epsilon)

    def _slot_init(self):
        return self.initial_accumulator_value

    def _hyper(self):
        return np.array([self.learning_rate, self.epsilon], dtype=np.float32)

    def get_config(self):
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


_BY_NAME = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop, "adagrad": Adagrad}
_CLASSES = {"SGD": SGD, "Adam": Adam, "RMSprop": RMSprop, "Adagrad": Adagrad}


def get(identifier):
    """An optimizer from a name (``'adam'``, ``'sgd'``, ``'rmsprop'``, ``'adagrad'``) or an
    instance.

    Examples
    --------
    >>> get("rmsprop")
    RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-07, centered=False)
    >>> opt = SGD(learning_rate=0.5)
    >>> get(opt) is opt
    True
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"optimizer={identifier!r} is not supported; use 'adam', 'sgd', 'rmsprop', "
                     "'adagrad' or an instance from mf.keras.optimizers")


def serialize(opt):
    return {"class_name": type(opt).__name__, "config": opt.get_config()}


def deserialize(config):
    return _CLASSES[config["class_name"]].from_config(config["config"])
