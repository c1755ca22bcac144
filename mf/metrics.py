"""Accuracy metrics for rating prediction and ranking."""

import numpy as np

__all__ = ["rmse", "mae"]


def _pair(y_true, y_pred):
    y_true = np.asarray(y_true, dtype=np.float64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} values but y_pred has {y_pred.size}; pass one prediction per rating")
    if y_true.size == 0:
        raise ValueError("y_true is empty: there is nothing to score")
    return y_true, y_pred


def rmse(y_true, y_pred):
    """Root mean squared error.

    Examples
    --------
    >>> rmse([1, 2, 3], [1, 2, 5])
    1.1547005383792515
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2)))


def mae(y_true, y_pred):
    """Mean absolute error.

    Examples
    --------
    >>> mae([1, 2, 3], [1, 2, 5])
    0.6666666666666666
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean(np.abs(y_true - y_pred)))
