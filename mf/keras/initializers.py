"""Weight initialisers with Keras's names and defaults.

Each initialiser is called as ``init(shape)`` and returns a float32 array.
Without a ``seed`` it draws from the generator that
:func:`mf.keras.utils.set_random_seed` seeds.

Examples
--------
>>> from mf.keras import initializers
>>> w = initializers.RandomUniform(seed=0)((3, 2))
>>> w.shape, w.dtype, bool(abs(w).max() <= 0.05)
((3, 2), dtype('float32'), True)
>>> initializers.get("zeros")((2,)).tolist()
[0.0, 0.0]
"""

import math

import numpy as np

from . import backend

__all__ = [
    "Initializer", "RandomUniform", "RandomNormal", "TruncatedNormal", "Zeros", "Ones",
    "Constant", "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "get",
]


class Initializer:
    """Base class: subclasses implement ``_sample(shape, rng)``.

    Examples
    --------
    >>> init = RandomNormal(stddev=0.1, seed=3)
    >>> isinstance(init, Initializer), init.get_config()
    (True, {'mean': 0.0, 'stddev': 0.1, 'seed': 3})
    >>> RandomNormal.from_config(init.get_config())
    RandomNormal(mean=0.0, stddev=0.1, seed=3)
    """

    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        rng = backend.generator() if self.seed is None else np.random.default_rng(self.seed)
        return np.asarray(self._sample(tuple(int(d) for d in shape), rng), dtype=np.float32)

    def get_config(self):
        return {"seed": self.seed}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class RandomUniform(Initializer):
    """Uniform on ``[minval, maxval)``; the Embedding default ``'uniform'`` is ``(-0.05, 0.05)``.

    Examples
    --------
    >>> w = RandomUniform(minval=0.0, maxval=1.0, seed=0)((2, 3))
    >>> w.shape, w.dtype, bool(w.min() >= 0.0 and w.max() < 1.0)
    ((2, 3), dtype('float32'), True)
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval = minval
        self.maxval = maxval

    def _sample(self, shape, rng):
        return rng.uniform(self.minval, self.maxval, shape)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class RandomNormal(Initializer):
    """Normal with ``mean`` and ``stddev`` (Keras default stddev 0.05).

    Examples
    --------
    >>> w = RandomNormal(seed=0)((10000,))
    >>> round(float(w.std()), 2)
    0.05
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean = mean
        self.stddev = stddev

    def _sample(self, shape, rng):
        return rng.normal(self.mean, self.stddev, shape)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


def _truncated_normal(rng, shape, stddev):
    """Normal(0, stddev) redrawn outside two standard deviations."""
    out = rng.normal(0.0, 1.0, shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.normal(0.0, 1.0, int(bad.sum()))
        bad = np.abs(out) > 2.0
    return out * stddev


class TruncatedNormal(RandomNormal):
    """Normal with values beyond two standard deviations redrawn.

    Examples
    --------
    >>> w = TruncatedNormal(stddev=0.05, seed=0)((10000,))
    >>> bool(abs(w).max() <= 0.1)
    True
    """

    def _sample(self, shape, rng):
        return self.mean + _truncated_normal(rng, shape, self.stddev)


class Zeros(Initializer):
    """All zeros (the Dense bias default).

    Examples
    --------
    >>> Zeros()((2, 2)).tolist()
    [[0.0, 0.0], [0.0, 0.0]]
    """

    def __init__(self):
        super().__init__(None)

    def _sample(self, shape, rng):
        return np.zeros(shape)

    def get_config(self):
        return {}


class Ones(Zeros):
    """All ones.

    Examples
    --------
    >>> Ones()((3,)).tolist()
    [1.0, 1.0, 1.0]
    """

    def _sample(self, shape, rng):
        return np.ones(shape)


class Constant(Initializer):
    """Every entry equal to ``value``.

    Examples
    --------
    >>> Constant(0.5)((2,)).tolist()
    [0.5, 0.5]
    """

    def __init__(self, value=0.0):
        super().__init__(None)
        self.value = value

    def _sample(self, shape, rng):
        return np.full(shape, self.value)

    def get_config(self):
        return {"value": self.value}


def _fans(shape):
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    return shape[-2], shape[-1]


class _VarianceScaling(Initializer):
    scale = 1.0
    mode = "fan_avg"
    uniform = True

    def _sample(self, shape, rng):
        fan_in, fan_out = _fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, fan)
        if self.uniform:
            limit = math.sqrt(3.0 * variance)
            return rng.uniform(-limit, limit, shape)
        # Keras corrects the standard deviation for the truncation at 2 sigma.
        return _truncated_normal(rng, shape, math.sqrt(variance) / 0.87962566103423978)


class GlorotUniform(_VarianceScaling):
    """Uniform on ``+-sqrt(6 / (fan_in + fan_out))`` (the Dense kernel default).

    Examples
    --------
    >>> w = GlorotUniform(seed=0)((4, 2))  # limit sqrt(6 / 6) = 1
    >>> w.shape, bool(abs(w).max() <= 1.0)
    ((4, 2), True)
    """


class GlorotNormal(_VarianceScaling):
    """Truncated normal with variance ``2 / (fan_in + fan_out)``.

    Examples
    --------
    >>> import numpy as np
    >>> w = GlorotNormal(seed=0)((400, 600))
    >>> round(float(w.std() / np.sqrt(2 / 1000)), 1)
    1.0
    """

    uniform = False


class HeUniform(_VarianceScaling):
    """Uniform on ``+-sqrt(6 / fan_in)``.

    Examples
    --------
    >>> w = HeUniform(seed=0)((6, 2))  # limit sqrt(6 / 6) = 1
    >>> w.shape, bool(abs(w).max() <= 1.0)
    ((6, 2), True)
    """

    scale = 2.0
    mode = "fan_in"


class HeNormal(_VarianceScaling):
    """Truncated normal with variance ``2 / fan_in``.

    Examples
    --------
    >>> import numpy as np
    >>> w = HeNormal(seed=0)((500, 10))
    >>> round(float(w.std() / np.sqrt(2 / 500)), 1)
    1.0
    """

    scale = 2.0
    mode = "fan_in"
    uniform = False


_BY_NAME = {
    "uniform": RandomUniform, "random_uniform": RandomUniform, "randomuniform": RandomUniform,
    "normal": RandomNormal, "random_normal": RandomNormal, "randomnormal": RandomNormal,
    "truncated_normal": TruncatedNormal, "truncatednormal": TruncatedNormal,
    "zeros": Zeros, "zero": Zeros, "ones": Ones, "one": Ones, "constant": Constant,
    "glorot_uniform": GlorotUniform, "glorotuniform": GlorotUniform,
    "glorot_normal": GlorotNormal, "glorotnormal": GlorotNormal,
    "he_uniform": HeUniform, "heuniform": HeUniform, "he_normal": HeNormal, "henormal": HeNormal,
}
_CLASSES = {c.__name__: c for c in set(_BY_NAME.values())}


def get(identifier, argument="initializer"):
    """An initialiser from a Keras name (``'uniform'``, ``'glorot_uniform'``, ...) or instance.

    Examples
    --------
    >>> get("glorot_uniform"), get("uniform").get_config()
    (GlorotUniform(seed=None), {'minval': -0.05, 'maxval': 0.05, 'seed': None})
    """
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(
        f"{argument}={identifier!r} is not a supported initializer; use one of "
        f"{sorted(k for k in _BY_NAME if '_' in k or k in ('uniform', 'normal', 'zeros', 'ones'))} "
        "or an instance from mf.keras.initializers")


def serialize(init):
    return {"class_name": type(init).__name__, "config": init.get_config()}


def deserialize(config):
    return _CLASSES[config["class_name"]].from_config(config["config"])
