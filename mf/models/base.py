"""Estimator plumbing shared by every model: parameters, validation helpers, registry."""

import inspect
import numbers

import numpy as np

from ..data.random import check_random_state
from ..exceptions import NotFittedError

__all__ = ["Estimator", "MODEL_REGISTRY"]

MODEL_REGISTRY = {}


class Estimator:
    """scikit-learn style parameter handling.

    Every parameter is an ``__init__`` keyword stored unchanged under its own
    name; validation happens in ``fit``; learned state ends with ``_``.
    Subclasses are registered by name so :func:`mf.load` can rebuild them.

    Examples
    --------
    >>> import mf
    >>> MODEL_REGISTRY["MatrixFactorization"] is mf.MatrixFactorization
    True
    >>> mf.MatrixFactorization(factors=8, solver="sgd")  # the repr shows the non-default parameters
    MatrixFactorization(factors=8, solver='sgd')
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        MODEL_REGISTRY[cls.__name__] = cls

    @classmethod
    def _param_names(cls):
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.name != "self" and p.kind != p.VAR_KEYWORD]

    def get_params(self, deep=True):
        """Parameters of this estimator as a dict.

        Examples
        --------
        >>> import mf
        >>> params = mf.ItemKNN(k=20).get_params()
        >>> params["k"], params["metric"]
        (20, 'pearson_baseline')
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set parameters (validated at the next ``fit``); returns self.

        Examples
        --------
        >>> import mf
        >>> mf.MatrixFactorization().set_params(factors=16, reg=0.05)
        MatrixFactorization(factors=16, reg=0.05)
        >>> mf.MatrixFactorization().set_params(rank=16)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: 'rank' is not a parameter of MatrixFactorization; valid parameters: ['factors', ...]
        """
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"{name!r} is not a parameter of {type(self).__name__}; valid parameters: {valid}")
            setattr(self, name, value)
        return self

    def __repr__(self):
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values() if p.name != "self"
        }
        changed = [
            f"{k}={v!r}" for k, v in self.get_params().items() if not (k in defaults and _same(defaults[k], v))
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    def check_params(self):
        """Validate the parameters now, as ``fit`` would, without fitting.

        Returns
        -------
        self

        Raises
        ------
        TypeError, ValueError
            A parameter has the wrong type or value; the message names it.

        Examples
        --------
        >>> import mf
        >>> mf.MatrixFactorization(factors=0).check_params()
        Traceback (most recent call last):
        ...
        ValueError: factors must be >= 1, got 0
        """
        self._validated()
        return self

    def _check_fitted(self, attribute):
        if not hasattr(self, attribute):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(...) before using this method"
            )


def _same(a, b):
    try:
        return bool(a == b) and type(a) is type(b)
    except (TypeError, ValueError):
        return a is b


def check_int(value, name, low=None, high=None, allow_none=False):
    """Validate an integer parameter."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r} of type {type(value).__name__}")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}")
    return value


def check_float(value, name, low=None, high=None, low_inclusive=True, allow_none=False):
    """Validate a finite real parameter."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r} of type {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and (value < low or (value == low and not low_inclusive)):
        bound = ">=" if low_inclusive else ">"
        raise ValueError(f"{name} must be {bound} {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}")
    return value


def check_choice(value, name, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


resolve_rng = check_random_state
