"""mf: fast matrix factorization for recommendation, on numpy, scipy and numba."""

__version__ = "0.1.0"

from .data import Ratings

__all__ = ["Ratings", "__version__"]
