"""Exceptions raised by mf."""

__all__ = ["NotFittedError", "FitError"]


class NotFittedError(ValueError, AttributeError):
    """A method that needs a fitted model was called before ``fit``."""


class FitError(FloatingPointError):
    """Training diverged: a loss or a parameter became NaN or infinite."""
