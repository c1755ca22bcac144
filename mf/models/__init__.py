"""Estimators: validate input, own parameters and learned state, call kernels."""

from .factorization import MatrixFactorization
from .itemknn import ItemKNN
from .recommender import ColdStartWarning, Explanation, Recommender

__all__ = ["MatrixFactorization", "ItemKNN", "Recommender", "ColdStartWarning", "Explanation"]
