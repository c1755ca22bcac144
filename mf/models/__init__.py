"""Estimators: validate input, own parameters and learned state, call kernels."""

from .factorization import MatrixFactorization

__all__ = ["MatrixFactorization"]
