"""Item-kNN kernels: baseline-residual similarities and neighbourhood estimates.

Neighbour lists are CSR arrays ``(nb_ptr, nb_idx, nb_sim)`` over items whose
rows are sorted by *decreasing* similarity and hold only positive
similarities. A user's history is a CSR row of item indices and the values the
estimate averages (rating residuals ``r_uj - b_uj`` for the kNN-baseline
model, raw ratings without a baseline).

The estimate of user ``u`` for item ``i`` averages ``sum s_ij x_uj / sum
s_ij`` over the first ``k`` neighbours in ``i``'s list that ``u`` rated: the
``k`` most similar items ``u`` rated (ties go to the earlier list entry). To
find them the user's history is scattered into a dense per-thread scratch (a
stamp array marks rated items, so nothing needs clearing between users) and
the list is walked in order.
"""

import numpy as np
from numba import njit, prange

from .similarity import balanced_bounds, heap_offer
from .threads import numba_threads, resolve_threads
from .topk import sort_heap

__all__ = ["baseline_neighbours", "knn_score_block", "knn_predict_groups"]


@njit(cache=True, nogil=True)
def _estimate(i, nb_ptr, nb_idx, nb_sim, mark, value, stamp, k, min_k):
    """``(ok, sum s x / sum s)`` over the first ``k`` neighbours of ``i`` marked with ``stamp``."""
    sum_s = 0.0
    sum_sx = 0.0
    used = 0
    for p in range(nb_ptr[i], nb_ptr[i + 1]):
        j = nb_idx[p]
        if mark[j] == stamp:
            s = np.float64(nb_sim[p])
            sum_s += s
            sum_sx += s * value[j]
            used += 1
            if used == k:
                break
    if used < min_k or sum_s <= 0.0:
        return False, 0.0
    return True, sum_sx / sum_s


@njit(cache=True, nogil=True)
def _scatter(u, h_ptr, h_idx, h_val, mark, value, stamp):
    for p in range(h_ptr[u], h_ptr[u + 1]):
        j = h_idx[p]
        mark[j] = stamp
        value[j] = h_val[p]


@njit(cache=True, nogil=True, parallel=True)
def knn_score_block(rows, h_ptr, h_idx, h_val, row_base, cols, item_base, nb_ptr, nb_idx, nb_sim, rev_ptr, rev_idx,
                    rev_sim, k, min_k, fallback, n_chunks, out):
    """Estimates of every (query row, candidate column) pair, written to ``out``.

    ``out[r, c]`` is the estimate for user ``rows[r]`` (a row of the history
    CSR ``h_ptr, h_idx, h_val``) and item ``cols[c]``:
    ``row_base[rows[r]] + item_base[cols[c]]`` plus the neighbourhood average,
    or plus ``fallback`` when fewer than ``min_k`` rated neighbours (or none
    with positive weight) exist.

    ``rev_ptr, rev_idx, rev_sim`` is the transpose of the neighbour lists
    (row ``j``: the items that list ``j``, with the similarity). A first pass
    over the user's rated items pushes each rating into every item that lists
    it, counting the rated neighbours of each item and summing their weights;
    an item with at most ``k`` rated neighbours uses all of them, so its sums
    are final, and only items with more walk their list for the ``k`` most
    similar. The work per user is the number of (rated item, listing item)
    pairs plus the walks of those items, instead of every candidate's list.
    Rows are dealt to ``n_chunks`` strided tasks, each with its own
    ``O(n_items)`` scratch.
    """
    n_items = nb_ptr.size - 1
    n_rows = rows.size
    for c in prange(n_chunks):
        mark = np.zeros(n_items, dtype=np.int64)
        value = np.empty(n_items, dtype=np.float64)
        count = np.zeros(n_items, dtype=np.int64)
        sum_s = np.zeros(n_items, dtype=np.float64)
        sum_sx = np.zeros(n_items, dtype=np.float64)
        touched = np.empty(n_items, dtype=np.int64)
        for r in range(c, n_rows, n_chunks):
            u = rows[r]
            stamp = r + 1
            _scatter(u, h_ptr, h_idx, h_val, mark, value, stamp)
            n_touched = 0
            for p in range(h_ptr[u], h_ptr[u + 1]):
                j = h_idx[p]
                x = np.float64(h_val[p])
                for q in range(rev_ptr[j], rev_ptr[j + 1]):
                    i = rev_idx[q]
                    if count[i] == 0:
                        touched[n_touched] = i
                        n_touched += 1
                    count[i] += 1
                    s = np.float64(rev_sim[q])
                    sum_s[i] += s
                    sum_sx[i] += s * x
            base_u = row_base[u]
            for q in range(cols.size):
                i = cols[q]
                if count[i] > k:
                    ok, adj = _estimate(i, nb_ptr, nb_idx, nb_sim, mark, value, stamp, k, min_k)
                else:
                    ok = count[i] >= min_k and sum_s[i] > 0.0
                    adj = sum_sx[i] / sum_s[i] if ok else 0.0
                out[r, q] = base_u + item_base[i] + (adj if ok else fallback)
            for t in range(n_touched):
                i = touched[t]
                count[i] = 0
                sum_s[i] = 0.0
                sum_sx[i] = 0.0


@njit(cache=True, nogil=True, parallel=True)
def knn_predict_groups(group_ptr, group_user, items, h_ptr, h_idx, h_val, row_base, item_base, nb_ptr, nb_idx,
                       nb_sim, k, min_k, fallback, n_chunks, out):
    """Estimates for (user, item) pairs grouped by user.

    Pairs ``group_ptr[g]..group_ptr[g+1]-1`` belong to user ``group_user[g]``;
    ``items`` gives each pair's item and ``out`` receives its estimate (same
    formula as :func:`knn_score_block`).
    """
    n_items = nb_ptr.size - 1
    n_groups = group_user.size
    for c in prange(n_chunks):
        mark = np.zeros(n_items, dtype=np.int64)
        value = np.empty(n_items, dtype=np.float64)
        for g in range(c, n_groups, n_chunks):
            u = group_user[g]
            stamp = g + 1
            _scatter(u, h_ptr, h_idx, h_val, mark, value, stamp)
            for q in range(group_ptr[g], group_ptr[g + 1]):
                i = items[q]
                ok, adj = _estimate(i, nb_ptr, nb_idx, nb_sim, mark, value, stamp, k, min_k)
                out[q] = row_base[u] + item_base[i] + (adj if ok else fallback)


@njit(cache=True, nogil=True, parallel=True)
def _baseline_kernel(a_ptr, a_idx, a_val, b_ptr, b_idx, b_val, k, shrinkage, min_support, bounds,
                     count, s_xy, s_xx, s_yy, touched, heap_v, heap_c, out_idx, out_val, out_len):
    for g in prange(bounds.size - 1):
        cnt = count[g]
        sxy = s_xy[g]
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
                    if j == i:
                        continue
                    if cnt[j] == 0:
                        seen[n_touched] = j
                        n_touched += 1
                    cnt[j] += 1
                    y = np.float64(b_val[q])
                    sxy[j] += x * y
                    sxx[j] += x * x
                    syy[j] += y * y
            size = 0
            for t in range(n_touched):
                j = seen[t]
                n = cnt[j]
                if n >= min_support and sxx[j] > 0.0 and syy[j] > 0.0:
                    sim = sxy[j] / np.sqrt(sxx[j] * syy[j])
                    if shrinkage > 0.0:
                        sim *= (n - 1) / (n - 1 + shrinkage)
                    if sim > 0.0:
                        size = heap_offer(hv, hc, size, k, sim, j)
                cnt[j] = 0
                sxy[j] = 0.0
                sxx[j] = 0.0
                syy[j] = 0.0
            sort_heap(hv, hc, size)
            for t in range(size):
                out_idx[i, t] = hc[t]
                out_val[i, t] = hv[t]
            out_len[i] = size


def baseline_neighbours(a_ptr, a_idx, a_val, b_ptr, b_idx, b_val, k, shrinkage, min_support, n_threads=None):
    """Best ``k`` positive baseline-Pearson neighbours of every row of ``A``.

    ``A`` (entities x contexts: items x users) and ``B`` (its transpose) hold
    baseline residuals ``x_ui = r_ui - b_ui``. The similarity of ``i`` and
    ``j`` over their co-raters ``U_ij`` (``n = |U_ij|``) is Koren's shrunk
    baseline correlation::

        sum x_ui x_uj / sqrt(sum x_ui^2 sum x_uj^2) * (n - 1) / (n - 1 + shrinkage)

    with every sum over ``U_ij`` (zero where either sum of squares is zero or
    ``n < min_support``; ``shrinkage=0`` leaves the correlation unshrunk).
    Only positive similarities are kept.

    Returns
    -------
    indptr, indices, data : ndarray
        CSR arrays (int64, int32, float32); each row sorted by decreasing
        similarity, ties by lower column.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> R = sp.csr_matrix(np.array([[1, 1, 0], [-1, -1, 1], [1, 2, -1]], dtype=np.float32))
    >>> A = R.T.tocsr()
    >>> ptr, idx, sim = baseline_neighbours(A.indptr, A.indices, A.data, R.indptr, R.indices, R.data, 2, 0.0, 1, 1)
    >>> ptr, idx, np.round(sim, 3)
    (array([0, 1, 2, 2]), array([1, 0], dtype=int32), array([0.943, 0.943], dtype=float32))
    """
    n = a_ptr.size - 1
    k = int(min(k, max(n - 1, 0)))
    out_idx = np.zeros((n, k), dtype=np.int32)
    out_val = np.zeros((n, k), dtype=np.float32)
    out_len = np.zeros(n, dtype=np.int64)
    if n and k:
        n_threads = resolve_threads(n_threads)
        n_groups = max(1, min(n_threads, n))
        bounds = balanced_bounds(a_ptr, a_idx, b_ptr, n_groups)
        zeros = np.zeros
        with numba_threads(n_threads):
            _baseline_kernel(
                a_ptr, a_idx, a_val, b_ptr, b_idx, b_val, k, float(shrinkage), int(min_support), bounds,
                zeros((n_groups, n), dtype=np.int32), zeros((n_groups, n)), zeros((n_groups, n)),
                zeros((n_groups, n)), zeros((n_groups, n), dtype=np.int32), zeros((n_groups, k)),
                zeros((n_groups, k), dtype=np.int32), out_idx, out_val, out_len,
            )
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(out_len, out=indptr[1:])
    keep = np.arange(k) < out_len[:, None]
    return indptr, out_idx[keep], out_val[keep]

