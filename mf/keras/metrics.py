"""Metrics reported by ``fit`` and ``evaluate``: MAE, MSE and RMSE.

A metric given as a string is reported under that string (``'mae'`` gives
``history['mae']`` and ``history['val_mae']``), as in Keras; a metric object
under its ``name``.

Examples
--------
>>> from mf.keras import metrics
>>> metrics.get("RootMeanSquaredError").name
'RootMeanSquaredError'
>>> metrics.RootMeanSquaredError().name
'root_mean_squared_error'
"""

import math

__all__ = ["Metric", "MeanAbsoluteError", "MeanSquaredError", "RootMeanSquaredError", "get"]


class Metric:
    """Base class: ``result(abs_sum, sq_sum, count)`` from summed errors.

    Examples
    --------
    >>> metric = get("mae")
    >>> isinstance(metric, Metric), metric.name, metric.result(abs_sum=3.0, sq_sum=5.0, count=2)
    (True, 'mae', 1.5)
    """

    def __init__(self, name=None):
        self.name = name or self._default_name

    def get_config(self):
        return {"name": self.name}

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


class MeanAbsoluteError(Metric):
    """Mean of ``|y - p|``.

    Examples
    --------
    >>> MeanAbsoluteError().result(abs_sum=3.0, sq_sum=5.0, count=2)  # errors 1 and 2
    1.5
    """

    _default_name = "mean_absolute_error"

    def result(self, abs_sum, sq_sum, count):
        return abs_sum / count


class MeanSquaredError(Metric):
    """Mean of ``(y - p)**2``.

    Examples
    --------
    >>> MeanSquaredError().result(abs_sum=3.0, sq_sum=5.0, count=2)  # errors 1 and 2
    2.5
    """

    _default_name = "mean_squared_error"

    def result(self, abs_sum, sq_sum, count):
        return sq_sum / count


class RootMeanSquaredError(Metric):
    """Square root of the mean of ``(y - p)**2``.

    Examples
    --------
    >>> RootMeanSquaredError().result(abs_sum=4.0, sq_sum=8.0, count=2)  # errors 2 and 2
    2.0
    """

    _default_name = "root_mean_squared_error"

    def result(self, abs_sum, sq_sum, count):
        return math.sqrt(sq_sum / count)


_BY_NAME = {
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "meanabsoluteerror": MeanAbsoluteError,
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "meansquarederror": MeanSquaredError,
    "rmse": RootMeanSquaredError, "root_mean_squared_error": RootMeanSquaredError,
    "rootmeansquarederror": RootMeanSquaredError,
}
_CLASSES = {c.__name__: c for c in set(_BY_NAME.values())}


def get(identifier):
    """A metric from a name (``'mae'``, ``'mse'``, ``'RootMeanSquaredError'``, ``'rmse'``) or
    instance; a string keeps its spelling as the metric's name.

    Examples
    --------
    >>> get("rmse")
    RootMeanSquaredError(name='rmse')
    >>> get(MeanSquaredError()).name
    'mean_squared_error'
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()](name=identifier)
    raise ValueError(f"metric {identifier!r} is not supported; use 'mae', 'mse', "
                     "'RootMeanSquaredError' ('rmse') or an instance from mf.keras.metrics")


def serialize(metric):
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


def deserialize(config):
    return _CLASSES[config["class_name"]](**config["config"])
