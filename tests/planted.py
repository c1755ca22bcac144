"""Ratings from a planted low-rank model, shared by the explicit-model tests."""

import numpy as np

import mf


def planted(n_users=60, n_items=40, rank=5, density=0.5, noise=0.0, seed=0):
    """``3 + 0.4 U V^T`` plus Gaussian noise, observed on a random ``density`` share of the cells."""
    rng = np.random.default_rng(seed)
    U = rng.normal(0, 1, (n_users, rank))
    V = rng.normal(0, 1, (n_items, rank))
    dense = 3 + 0.4 * U @ V.T + noise * rng.normal(size=(n_users, n_items))
    mask = rng.random((n_users, n_items)) < density
    users, items = np.nonzero(mask)
    return mf.Ratings(users, items, dense[users, items])
