"""mf: fast matrix factorization for recommendation, on numpy, scipy and numba."""

__version__ = "0.1.0"

from . import datasets, metrics, split
from .data import Ratings
from .exceptions import FitError, NotFittedError
from .models import MatrixFactorization
from .persist import load

__all__ = ["Ratings", "MatrixFactorization", "FitError", "NotFittedError", "load", "datasets", "metrics", "split", "__version__"]
