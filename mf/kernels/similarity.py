"""Top-k neighbour similarities by sparse co-occurrence, one entity row at a time.

The entities being compared (items for item similarity) are the rows of a CSR
matrix ``A`` (entity -> contexts, e.g. item -> users who rated it); ``B`` is the
same data the other way round (context -> entities). For entity ``i`` the kernel
walks every context ``u`` of ``i`` and every entity ``j`` of ``u``, accumulating
the pair statistics of ``(i, j)`` in dense per-thread arrays indexed by ``j``.
It then turns the touched pairs into similarities, keeps the best ``k`` in a
small heap, and clears only the touched entries. Memory is ``O(n_threads x
n_entities)`` scratch plus ``O(n_entities x k)`` output: no
``n_entities x n_entities`` matrix is ever formed. Work is the number of
(context, entity, entity) triples, ``sum_u deg(u)^2``.
"""

import numpy as np
from numba import njit, prange

from .threads import numba_threads, resolve_threads
from .topk import _sift_down, _sift_up, _worse, sort_heap

__all__ = ["topk_neighbours", "COSINE", "PEARSON"]

COSINE = 0
"""Pair score ``sum x*y / (norm_i * norm_j)`` with whole-vector norms."""

PEARSON = 1
"""Pearson correlation of the co-rated pairs (means and variances over those pairs)."""

_ZERO_VARIANCE = 1e-10


@njit(cache=True, nogil=True)
def heap_offer(hv, hc, size, k, v, c):
    """Offer (v, c) to a heap of the best ``k`` (worst at the root); entries arrive in any order."""
    if size < k:
        hv[size] = v
        hc[size] = c
        _sift_up(hv, hc, size)
        return size + 1
    if _worse(hv[0], hc[0], v, c):
        hv[0] = v
        hc[0] = c
        _sift_down(hv, hc, 0, size)
    return size


@njit(cache=True, nogil=True, parallel=True)
def _neighbours_kernel(
    a_ptr, a_idx, a_val, b_ptr, b_idx, b_val, metric, norms, k, shrinkage, min_support, bounds,
    count, s_xy, s_x, s_y, s_xx, s_yy, touched, heap_v, heap_c, out_idx, out_val, out_len,
):
    """Rows ``bounds[g]..bounds[g+1]-1`` run on thread-group ``g`` with scratch row ``g``."""
    for g in prange(bounds.size - 1):
        cnt = count[g]
        sxy = s_xy[g]
        sx = s_x[g]
        sy = s_y[g]
        sxx = s_xx[g]
        syy = s_yy[g]
        seen = touched[g]
        hv = heap_v[g]
        hc = heap_c[g]
        for i in range(bounds[g], bounds[g + 1]):
            n_touched = 0
            for p in range(a_ptr[i], a_ptr[i + 1]):
                u = a_idx[p]
                x = np.float64(a_val[p])
                for q in range(b_ptr[u], b_ptr[u + 1]):
                    j = b_idx[q]
                    c = cnt[j]
                    seen[n_touched] = j  # branch-free append: kept only on the first touch
                    n_touched += c == 0
                    cnt[j] = c + 1
                    y = np.float64(b_val[q])
                    sxy[j] += x * y
                    if metric == PEARSON:
                        sx[j] += x
                        sy[j] += y
                        sxx[j] += x * x
                        syy[j] += y * y
            size = 0
            for t in range(n_touched):
                j = seen[t]
                n = cnt[j]
                sim = 0.0
                if n >= min_support and j != i:
                    if metric == PEARSON:
                        vx = sxx[j] - sx[j] * sx[j] / n
                        vy = syy[j] - sy[j] * sy[j] / n
                        if vx > _ZERO_VARIANCE * sxx[j] and vy > _ZERO_VARIANCE * syy[j]:
                            sim = (sxy[j] - sx[j] * sy[j] / n) / np.sqrt(vx * vy)
                    elif norms[i] > 0.0 and norms[j] > 0.0:
                        sim = sxy[j] / (norms[i] * norms[j])
                if sim != 0.0:
                    sim *= n / (n + shrinkage)
                    if size < k or sim > hv[0] or (sim == hv[0] and j < hc[0]):
                        size = heap_offer(hv, hc, size, k, sim, j)
                cnt[j] = 0
                sxy[j] = 0.0
                if metric == PEARSON:
                    sx[j] = 0.0
                    sy[j] = 0.0
                    sxx[j] = 0.0
                    syy[j] = 0.0
            sort_heap(hv, hc, size)
            for t in range(size):
                out_idx[i, t] = hc[t]
                out_val[i, t] = hv[t]
            out_len[i] = size


def balanced_bounds(a_ptr, a_idx, b_ptr, n_groups):
    """Split rows into ``n_groups`` contiguous ranges of about equal work (triples)."""
    n = a_ptr.size - 1
    deg_b = np.diff(b_ptr).astype(np.float64)
    row_of = np.repeat(np.arange(n), np.diff(a_ptr))
    work = np.bincount(row_of, weights=deg_b[a_idx], minlength=n)
    cum = np.cumsum(work)
    total = cum[-1] if n else 0.0
    cuts = np.searchsorted(cum, total * np.arange(1, n_groups) / n_groups, side="right")
    return np.concatenate(([0], cuts, [n])).astype(np.int64)


def topk_neighbours(a_ptr, a_idx, a_val, b_ptr, b_idx, b_val, metric, k, shrinkage, min_support, norms=None,
                    n_threads=None):
    """Best ``k`` neighbours of every row of ``A`` by co-occurrence through ``B``.

    Parameters
    ----------
    a_ptr, a_idx, a_val : ndarray
        CSR arrays of ``A`` (n_entities x n_contexts).
    b_ptr, b_idx, b_val : ndarray
        CSR arrays of ``B`` (n_contexts x n_entities), the same values as ``A``
        transposed.
    metric : {COSINE, PEARSON}
        ``COSINE``: ``sum_u x_iu x_ju / (norms[i] norms[j])`` over co-occurring
        contexts (0 where a norm is 0). ``PEARSON``: sample correlation of the
        ``(x_iu, x_ju)`` pairs over co-occurring contexts (0 where either side
        has no variance there).
    k : int
        Neighbours kept per row (self excluded).
    shrinkage : float
        Each similarity is multiplied by ``n / (n + shrinkage)``, ``n`` being
        the number of co-occurring contexts (the support).
    min_support : int
        Pairs with support below this are dropped.
    norms : ndarray of shape (n_entities,), optional
        Row norms of ``A`` for ``COSINE``.
    n_threads : int, optional
        Numba threads; ``None`` or ``-1``: all cores.

    Returns
    -------
    indptr, indices, data : ndarray
        CSR arrays (int64, int32, float32) of the n_entities x n_entities
        neighbour matrix, column indices sorted within each row. Pairs whose
        similarity is exactly 0 are not stored. Ties at the ``k``-th place go
        to the lower column index.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> R = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1]], dtype=np.float32))
    >>> A, B = R.T.tocsr(), R
    >>> norms = np.sqrt(np.asarray(A.multiply(A).sum(axis=1)).ravel())
    >>> ptr, idx, val = topk_neighbours(A.indptr, A.indices, A.data, B.indptr, B.indices, B.data,
    ...                                 COSINE, 1, 0.0, 1, norms)
    >>> ptr, idx, np.round(val, 4)
    (array([0, 1, 2, 3]), array([1, 0, 1], dtype=int32), array([0.8165, 0.8165, 0.8165], dtype=float32))
    """
    n = a_ptr.size - 1
    n_threads = resolve_threads(n_threads)
    k = int(min(k, max(n - 1, 0)))
    out_idx = np.zeros((n, k), dtype=np.int32)
    out_val = np.zeros((n, k), dtype=np.float32)
    out_len = np.zeros(n, dtype=np.int64)
    if n and k:
        n_groups = max(1, min(n_threads, n))
        bounds = balanced_bounds(a_ptr, a_idx, b_ptr, n_groups)
        full = metric == PEARSON
        width = n if full else 0
        if norms is None:
            norms = np.zeros(n, dtype=np.float64)
        with numba_threads(n_threads):
            _neighbours_kernel(
                a_ptr, a_idx, a_val, b_ptr, b_idx, b_val, metric, np.asarray(norms, dtype=np.float64), k,
                float(shrinkage), int(min_support), bounds,
                np.zeros((n_groups, n), dtype=np.int32),
                np.zeros((n_groups, n), dtype=np.float64),
                np.zeros((n_groups, width), dtype=np.float64),
                np.zeros((n_groups, width), dtype=np.float64),
                np.zeros((n_groups, width), dtype=np.float64),
                np.zeros((n_groups, width), dtype=np.float64),
                np.zeros((n_groups, n + 1), dtype=np.int32),
                np.zeros((n_groups, k), dtype=np.float64),
                np.zeros((n_groups, k), dtype=np.int32),
                out_idx, out_val, out_len,
            )
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(out_len, out=indptr[1:])
    keep = np.arange(k) < out_len[:, None]
    indices = out_idx[keep]
    data = out_val[keep]
    order = np.lexsort((indices, np.repeat(np.arange(n), out_len)))
    return indptr, indices[order], data[order]
