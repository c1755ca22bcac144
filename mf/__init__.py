"""mf: fast matrix factorization for recommendation, on numpy, scipy and numba."""

__version__ = "0.1.0"

from . import datasets, evaluate, metrics, similarity, split
from .data import Ratings
from .exceptions import FitError, NotFittedError
from .models import BPR, ColdStartWarning, ImplicitALS, ItemKNN, MatrixFactorization
from .persist import load

__all__ = [
    "Ratings",
    "MatrixFactorization",
    "ItemKNN",
    "ImplicitALS",
    "BPR",
    "ColdStartWarning",
    "FitError",
    "NotFittedError",
    "load",
    "datasets",
    "evaluate",
    "metrics",
    "similarity",
    "split",
    "__version__",
]
