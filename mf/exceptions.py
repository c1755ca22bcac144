"""Exceptions raised by mf."""

__all__ = ["NotFittedError", "FitError"]


class NotFittedError(ValueError, AttributeError):
    """A method that needs a fitted model was called before ``fit``.

    Examples
    --------
    >>> import mf
    >>> mf.MatrixFactorization().predict([1], [10])
    Traceback (most recent call last):
    ...
    mf.exceptions.NotFittedError: this MatrixFactorization is not fitted yet; call fit(...) before using this method
    """


class FitError(FloatingPointError):
    """Training diverged: a loss or a parameter became NaN or infinite.

    Examples
    --------
    >>> import mf
    >>> r = mf.Ratings([1, 1, 2, 2, 3], [10, 20, 10, 30, 20], [4.0, 3.0, 5.0, 2.0, 4.0])
    >>> mf.MatrixFactorization(solver="sgd", lr=100.0, random_state=0).fit(r)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mf.exceptions.FitError: solver 'sgd' diverged at epoch ...; use a smaller lr (now 100.0) or a larger reg (now 0.1)
    """
