"""Sparse top-k similarity matrices between items or between users.

Both functions return a ``scipy.sparse.csr_matrix`` (float32) whose row and
column ``k`` stand for the entity of dense index ``k`` in the ratings' id map:
``ratings.item_ids[k]`` for :func:`item_similarity`, ``ratings.user_ids[k]``
for :func:`user_similarity` (pass ``return_ids=True`` to get that array with
the matrix). Row ``i`` keeps the ``k`` most similar *other* entities, column
indices sorted; pairs with similarity exactly 0 are not stored, negative
similarities are kept when they rank among the best ``k``. The matrix need not
be symmetric: ``j`` can be among ``i``'s neighbours without ``i`` being among
``j``'s.

Metrics, written for item similarity (entities are items ``i, j``, contexts
are users ``u``; for :func:`user_similarity` swap the roles). ``U_i`` is the
set of users who rated ``i``, ``U_ij = U_i & U_j`` the co-raters and
``n_ij = |U_ij|`` the support:

``"cosine"``
    Cosine of the raw rating columns, missing ratings counting as 0:
    ``sum_{u in U_ij} r_ui r_uj / (sqrt(sum_{u in U_i} r_ui^2) sqrt(sum_{u in U_j} r_uj^2))``.
``"adjusted_cosine"``
    The same cosine after subtracting each user's mean rating from their
    ratings, ``x_ui = r_ui - mean_u`` (for user similarity: each item's mean).
    Missing ratings still count as 0, so norms run over all of an item's raters.
``"pearson"``
    Pearson correlation over the co-raters only, means taken over the co-rated
    pairs (the sample correlation of ``(r_ui, r_uj), u in U_ij``; the same
    definition as Surprise's ``pearson``):
    ``sum (r_ui - m_i)(r_uj - m_j) / sqrt(sum (r_ui - m_i)^2 sum (r_uj - m_j)^2)``
    with ``m_i = mean_{u in U_ij} r_ui`` and all sums over ``U_ij``. A pair
    where either side is constant over ``U_ij`` (including ``n_ij = 1``) has
    similarity 0.

Every similarity is then multiplied by ``n_ij / (n_ij + shrinkage)`` and pairs
with ``n_ij < min_support`` are dropped. Sums run in float64.

The computation walks the co-occurrences one entity row at a time on each
thread and never forms a dense entities x entities matrix; scratch memory is
``O(n_threads x n_entities)`` and the result ``O(n_entities x k)``.
"""

import numbers

import numpy as np
import scipy.sparse as sp

from .data import Ratings
from .kernels.similarity import COSINE, PEARSON, topk_neighbours

__all__ = ["item_similarity", "user_similarity", "METRICS"]

METRICS = ("cosine", "adjusted_cosine", "pearson")


def item_similarity(ratings, metric="cosine", k=50, shrinkage=100, min_support=1, n_threads=None,
                    return_ids=False):
    """Top-k item-item similarity matrix.

    Parameters
    ----------
    ratings : mf.Ratings
    metric : {"cosine", "adjusted_cosine", "pearson"}
        See the module documentation for the exact definitions.
    k : int
        Neighbours kept per item (the item itself is never one).
    shrinkage : float
        Multiply each similarity by ``support / (support + shrinkage)``; 0
        disables shrinkage.
    min_support : int
        Drop pairs rated together by fewer than this many users.
    n_threads : int, optional
        Threads; ``None`` or ``-1``: all cores.
    return_ids : bool
        Also return ``ratings.item_ids``, the raw id of each row/column.

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n_items, n_items), float32
        Row ``i`` holds the neighbours of item ``ratings.item_ids[i]``.
        With ``return_ids=True``: ``(matrix, item_ids)``.

    Examples
    --------
    >>> import mf
    >>> r = mf.Ratings([1, 1, 2, 2, 2, 3, 3], ["a", "b", "a", "b", "c", "b", "c"], [5, 4, 4, 5, 1, 4, 2])
    >>> S, ids = item_similarity(r, k=1, shrinkage=0, return_ids=True)
    >>> ids.tolist()
    ['a', 'b', 'c']
    >>> np.round(S.toarray(), 3)
    array([[0.   , 0.827, 0.   ],
           [0.827, 0.   , 0.   ],
           [0.   , 0.77 , 0.   ]], dtype=float32)
    """
    return _similarity(ratings, metric, k, shrinkage, min_support, n_threads, return_ids, by_item=True)


def user_similarity(ratings, metric="cosine", k=50, shrinkage=100, min_support=1, n_threads=None,
                    return_ids=False):
    """Top-k user-user similarity matrix.

    The same as :func:`item_similarity` with users and items swapped: users are
    compared over the items they rated, ``"adjusted_cosine"`` subtracts each
    item's mean rating and ``"pearson"`` correlates two users over their
    co-rated items.

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n_users, n_users), float32
        Row ``u`` holds the neighbours of user ``ratings.user_ids[u]``.
        With ``return_ids=True``: ``(matrix, user_ids)``.

    Examples
    --------
    >>> import mf
    >>> r = mf.Ratings(["x", "x", "y", "y", "z"], [1, 2, 1, 2, 2], [5, 1, 4, 2, 3])
    >>> S = user_similarity(r, metric="pearson", shrinkage=0)
    >>> S.toarray()
    array([[0., 1., 0.],
           [1., 0., 0.],
           [0., 0., 0.]], dtype=float32)
    """
    return _similarity(ratings, metric, k, shrinkage, min_support, n_threads, return_ids, by_item=False)


def _check_args(ratings, metric, k, shrinkage, min_support):
    if not isinstance(ratings, Ratings):
        raise TypeError(
            f"ratings must be mf.Ratings, got {type(ratings).__name__}; build one with "
            f"mf.Ratings(users, items, ratings) or mf.data.as_ratings(X)"
        )
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k must be a positive integer (neighbours per row), got {k!r}")
    if isinstance(shrinkage, bool) or not isinstance(shrinkage, numbers.Real) or not np.isfinite(shrinkage) \
            or shrinkage < 0:
        raise ValueError(f"shrinkage must be a finite number >= 0 (0 disables it), got {shrinkage!r}")
    if isinstance(min_support, bool) or not isinstance(min_support, numbers.Integral) or min_support < 1:
        raise ValueError(f"min_support must be a positive integer, got {min_support!r}")


def _means(groups, values, n):
    counts = np.bincount(groups, minlength=n)
    return np.bincount(groups, weights=values, minlength=n) / np.maximum(counts, 1)


def _similarity(ratings, metric, k, shrinkage, min_support, n_threads, return_ids, by_item):
    _check_args(ratings, metric, k, shrinkage, min_support)
    csr = ratings.to_csr()
    values = csr.data.astype(np.float64)
    user_of = np.repeat(np.arange(ratings.n_users), np.diff(csr.indptr))
    item_of = csr.indices
    context_of, n_context, entity_of, n_entity = (
        (user_of, ratings.n_users, item_of, ratings.n_items) if by_item
        else (item_of, ratings.n_items, user_of, ratings.n_users)
    )
    if metric == "adjusted_cosine":
        values -= _means(context_of, values, n_context)[context_of]
    elif metric == "pearson":
        # a per-entity shift leaves the correlation unchanged and keeps the sums small
        values -= _means(entity_of, values, n_entity)[entity_of]
    centred = sp.csr_matrix((values.astype(np.float32), csr.indices, csr.indptr), shape=csr.shape)
    by_context = centred
    by_entity = centred.T.tocsr()
    if not by_item:
        by_context, by_entity = by_entity, by_context
    by_entity.sort_indices()
    by_context.sort_indices()
    code = PEARSON if metric == "pearson" else COSINE
    norms = None
    if code == COSINE:
        sq = by_entity.data.astype(np.float64) ** 2
        norms = np.sqrt(np.bincount(np.repeat(np.arange(by_entity.shape[0]), np.diff(by_entity.indptr)),
                                    weights=sq, minlength=by_entity.shape[0]))
    indptr, indices, data = topk_neighbours(
        by_entity.indptr, by_entity.indices, by_entity.data,
        by_context.indptr, by_context.indices, by_context.data,
        code, int(k), float(shrinkage), int(min_support), norms, n_threads,
    )
    n = by_entity.shape[0]
    result = sp.csr_matrix((data, indices, indptr), shape=(n, n))
    result.has_sorted_indices = True
    if return_ids:
        return result, (ratings.item_ids if by_item else ratings.user_ids)
    return result
