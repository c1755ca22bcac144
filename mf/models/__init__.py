"""Estimators: validate input, own parameters and learned state, call kernels."""

from .factorization import MatrixFactorization
from .implicit import BPR, ImplicitALS
from .itemknn import ItemKNN
from .recommender import ColdStartWarning, Explanation, Recommender

__all__ = ["MatrixFactorization", "ImplicitALS", "BPR", "ItemKNN", "Recommender", "ColdStartWarning", "Explanation"]
