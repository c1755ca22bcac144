"""Batch top-k selection: BLAS block scoring plus a numba partial selection.

For a batch of query rows (users), :func:`topk_blocked` scores a block of rows
at a time with one matrix product (``user_block @ item_factors.T``) and then a
numba ``parallel`` kernel keeps the best ``k`` columns of each row in a small
binary heap, skipping the row's seen items (read from CSR arrays), items outside
an optional candidate set and excluded items. The full ``rows x items`` score
matrix never exists; one block of ``block_rows x n_candidates`` float32 scores
does.

Conventions shared by every function here:

* Results are ``(indices, scores)``: ``int32`` item indices and ``float32``
  scores of shape ``(n_rows, k)``, best first.
* Ties are broken by the lower item index, so results equal a stable
  descending sort of the scores.
* A row with fewer than ``k`` eligible items is padded with index ``-1`` and
  score ``-inf``. Scores that are ``-inf`` or NaN are never selected (they only
  arise from non-finite factors, which the drivers reject).
* ``k`` is capped at the number of candidate items.
* The numba thread count applies for the call only and is restored after it.
  BLAS and the numba kernel take turns and never run at the same time. Idle
  workers of one pool may still spin for a while after their turn, so blocks are
  large (:func:`default_block_rows`) to keep the hand-overs few.
"""

import numpy as np
from numba import njit, prange

from .threads import numba_threads, resolve_threads

__all__ = ["topk_blocked", "topk_cosine", "default_block_rows"]

_BLOCK_FLOATS = 1 << 23
_CHUNK = 32


@njit(cache=True, nogil=True, inline="always")
def _worse(s1, c1, s2, c2):
    """True when entry (s1, c1) ranks below (s2, c2): lower score, then higher column."""
    return s1 < s2 or (s1 == s2 and c1 > c2)


@njit(cache=True, nogil=True)
def _sift_down(hs, hc, pos, size):
    s = hs[pos]
    c = hc[pos]
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        right = child + 1
        if right < size and _worse(hs[right], hc[right], hs[child], hc[child]):
            child = right
        if _worse(hs[child], hc[child], s, c):
            hs[pos] = hs[child]
            hc[pos] = hc[child]
            pos = child
        else:
            break
    hs[pos] = s
    hc[pos] = c


@njit(cache=True, nogil=True)
def _sift_up(hs, hc, pos):
    s = hs[pos]
    c = hc[pos]
    while pos > 0:
        parent = (pos - 1) // 2
        if _worse(s, c, hs[parent], hc[parent]):
            hs[pos] = hs[parent]
            hc[pos] = hc[parent]
            pos = parent
        else:
            break
    hs[pos] = s
    hc[pos] = c


@njit(cache=True, nogil=True, inline="always")
def sort_heap(hs, hc, size):
    """Sort the first ``size`` entries of a heap (worst at the root) in place, best first (heapsort)."""
    for end in range(size - 1, 0, -1):
        s = hs[0]
        c = hc[0]
        hs[0] = hs[end]
        hc[0] = hc[end]
        hs[end] = s
        hc[end] = c
        _sift_down(hs, hc, 0, end)


@njit(cache=True, nogil=True)
def _push(seg, seg_bias, offset, lo, hi, hs, hc, size, k, thresh):
    """Push entries ``lo..hi-1`` of a row segment (column ``offset + j``) into the heap.

    The heap keeps its worst entry at the root. Columns arrive in increasing
    order, so an entry equal to the current worst is itself worse (higher
    column) and the strict comparison skips it. Returns the new heap size and
    threshold (``-inf`` until the heap is full).
    """
    for j in range(lo, hi):
        s = seg[j] + seg_bias[j]
        if s > thresh:
            if size < k:
                hs[size] = s
                hc[size] = offset + j
                _sift_up(hs, hc, size)
                size += 1
                if size == k:
                    thresh = hs[0]
            else:
                hs[0] = s
                hc[0] = offset + j
                _sift_down(hs, hc, 0, size)
                thresh = hs[0]
    return size, thresh


@njit(cache=True, nogil=True)
def _scan(row, bias, lo, hi, hs, hc, size, k, thresh):
    """Push columns ``lo..hi-1`` of a score row into the heap, skipping hopeless chunks.

    Each chunk is first tested with a branch-free compare-and-or loop (SIMD
    code); once the heap is full almost every chunk fails the test, so most
    scores cost a fraction of one scalar compare.
    """
    seg = row[lo:hi]
    seg_bias = bias[lo:hi]
    n = seg.size
    for q in range((n + _CHUNK - 1) // _CHUNK):
        start = q * _CHUNK
        m = min(_CHUNK, n - start)
        hit = False
        for j in range(m):
            hit |= seg[start + j] + seg_bias[start + j] > thresh
        if hit:
            size, thresh = _push(seg, seg_bias, lo, start, start + m, hs, hc, size, k, thresh)
    return size, thresh


@njit(cache=True, nogil=True, parallel=True)
def select_topk_block(scores, bias, rows, indptr, indices, filter_seen, item_col, col_item, k, out_items, out_scores):
    """Top-k columns of each score row, best first, written to ``out_items``/``out_scores``.

    ``scores[r]`` belongs to query row ``rows[r]``; its seen items are
    ``indices[indptr[rows[r]]:indptr[rows[r] + 1]]`` (sorted item indices),
    mapped to columns by ``item_col`` (-1: not a candidate). ``col_item`` maps
    a column back to its item index.
    """
    n_cols = scores.shape[1]
    neg_inf = np.float32(-np.inf)
    for r in prange(scores.shape[0]):
        row = scores[r]
        hs = out_scores[r]
        hc = out_items[r]
        size = 0
        thresh = neg_inf
        lo = 0
        if filter_seen:
            u = rows[r]
            for p in range(indptr[u], indptr[u + 1]):
                c = item_col[indices[p]]
                if c >= lo:
                    size, thresh = _scan(row, bias, lo, c, hs, hc, size, k, thresh)
                    lo = c + 1
        size, thresh = _scan(row, bias, lo, n_cols, hs, hc, size, k, thresh)
        sort_heap(hs, hc, size)
        for j in range(size):
            hc[j] = col_item[hc[j]]
        for j in range(size, k):
            hc[j] = -1
            hs[j] = neg_inf


@njit(cache=True, nogil=True)
def _first_bad_seen_row(rows, indptr, indices, n_items):
    """First query row whose seen list is unsorted or out of ``[0, n_items)``; -1 if none."""
    for r in range(rows.size):
        u = rows[r]
        prev = 0
        for p in range(indptr[u], indptr[u + 1]):
            j = indices[p]
            if j < prev or j >= n_items:
                return r
            prev = j
    return -1


def default_block_rows(n_cols):
    """Rows per scoring block: about 32 MiB of float32 scores (few BLAS/numba hand-overs), at least 8 rows."""
    return max(8, _BLOCK_FLOATS // max(int(n_cols), 1))


def _as_factors(x, name, check_finite):
    arr = np.asarray(x)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (rows x factors), got shape {arr.shape}")
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if check_finite and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values; the model that produced them diverged")
    return arr


def _as_index_set(values, n, name):
    """Sorted unique int64 indices from a boolean mask of length ``n`` or an index array."""
    arr = np.asarray(values)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise ValueError(f"{name}: a boolean mask must have shape ({n},), got {arr.shape}")
        return np.flatnonzero(arr)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise TypeError(f"{name} must be a boolean mask or a 1-D array of item indices, got {arr.dtype} {arr.shape}")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        raise IndexError(f"{name} holds indices outside [0, {n})")
    return np.unique(arr)


def _check_k(k):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)


def topk_blocked(
    user_factors,
    item_factors,
    rows,
    k,
    *,
    item_bias=None,
    indptr=None,
    indices=None,
    candidates=None,
    excluded=None,
    block_rows=None,
    n_threads=None,
    check_finite=True,
):
    """Best ``k`` items for each query row by ``user_factors[row] @ item_factors.T + item_bias``.

    Parameters
    ----------
    user_factors : ndarray of shape (n_users, f)
    item_factors : ndarray of shape (n_items, f)
    rows : array-like of int
        Indices into ``user_factors`` (and into ``indptr``) of the query rows.
    k : int
        Items to return per row; capped at the number of candidate items.
    item_bias : ndarray of shape (n_items,), optional
        Added to every score (a per-row constant such as a user bias does not
        change the ranking; the caller adds it to the returned scores).
    indptr, indices : ndarray, optional
        CSR arrays (row -> sorted item indices) of each row's seen items, which
        are never returned. ``None`` (both) disables seen-item filtering.
    candidates : bool mask of shape (n_items,) or int array, optional
        Restrict the result to these items.
    excluded : bool mask of shape (n_items,) or int array, optional
        Never return these items.
    block_rows : int, optional
        Rows scored per matrix product; default :func:`default_block_rows`.
    n_threads : int, optional
        Numba threads for this call; ``None`` or ``-1``: all cores.
    check_finite : bool
        Reject NaN or infinite factors and biases (a pass over every factor).
        Callers that already know their factors are finite, such as a fitted
        model answering many small queries, can skip it.

    Returns
    -------
    indices : int32 ndarray of shape (n_rows, k)
        Item indices best first; ``-1`` pads rows with fewer than ``k``
        eligible items.
    scores : float32 ndarray of shape (n_rows, k)
        Their scores; ``-inf`` where the index is ``-1``.

    Examples
    --------
    >>> U = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    >>> V = np.array([[3.0, 1.0], [2.0, 2.0], [1.0, 3.0]], dtype=np.float32)
    >>> idx, sc = topk_blocked(U, V, [0, 1], 2)
    >>> idx
    array([[0, 1],
           [2, 1]], dtype=int32)
    >>> idx, sc = topk_blocked(U, V, [0], 3, indptr=np.array([0, 1, 1]), indices=np.array([1]))
    >>> idx, sc
    (array([[ 0,  2, -1]], dtype=int32), array([[  3.,   1., -inf]], dtype=float32))
    """
    U = _as_factors(user_factors, "user_factors", check_finite)
    V = _as_factors(item_factors, "item_factors", check_finite)
    if U.shape[1] != V.shape[1]:
        raise ValueError(f"user_factors has {U.shape[1]} factors but item_factors has {V.shape[1]}")
    n_users, n_items = U.shape[0], V.shape[0]
    k = _check_k(k)
    rows = np.asarray(rows)
    if rows.ndim != 1 or (rows.size and rows.dtype.kind not in "iu"):
        raise TypeError(f"rows must be a 1-D array of row indices, got {rows.dtype} {rows.shape}")
    rows = rows.astype(np.int64)
    if rows.size and (rows.min() < 0 or rows.max() >= n_users):
        raise IndexError(f"rows holds indices outside [0, {n_users})")
    bias = np.zeros(n_items, dtype=np.float32) if item_bias is None else np.asarray(item_bias, dtype=np.float32)
    if bias.shape != (n_items,):
        raise ValueError(f"item_bias must have shape ({n_items},), got {bias.shape}")
    if check_finite and not np.isfinite(bias).all():
        raise ValueError("item_bias contains NaN or infinite values")

    filter_seen = indptr is not None or indices is not None
    if filter_seen:
        if indptr is None or indices is None:
            raise ValueError("pass both indptr and indices (the seen-items CSR), or neither")
        indptr = np.asarray(indptr)
        indices = np.asarray(indices)
        if indptr.ndim != 1 or indptr.size < n_users + 1:
            raise ValueError(f"indptr must be 1-D with at least {n_users + 1} entries (one row per user)")
        if indptr.dtype.kind not in "iu" or indices.dtype.kind not in "iu" or indices.ndim != 1:
            raise TypeError("indptr and indices must be 1-D integer arrays")
        if rows.size and ((indptr[rows + 1] < indptr[rows]).any() or indptr[rows + 1].max() > indices.size):
            raise ValueError("indptr is not a valid CSR row pointer for indices")
        if _first_bad_seen_row(rows, indptr, indices, n_items) >= 0:
            raise ValueError("seen items must be sorted within each row and lie in [0, n_items); sort the CSR indices")
    else:
        indptr = np.zeros(1, dtype=np.int64)
        indices = np.zeros(0, dtype=np.int32)

    cols = None
    if candidates is not None:
        cols = _as_index_set(candidates, n_items, "candidates")
    if excluded is not None:
        drop = _as_index_set(excluded, n_items, "excluded")
        cols = np.setdiff1d(np.arange(n_items) if cols is None else cols, drop, assume_unique=True)
    if cols is None or cols.size == n_items:
        col_item = np.arange(n_items, dtype=np.int32)
        item_col = col_item
        Vc, bc = V, bias
    else:
        col_item = cols.astype(np.int32)
        item_col = np.full(n_items, -1, dtype=np.int32)
        item_col[col_item] = np.arange(col_item.size, dtype=np.int32)
        Vc, bc = V[col_item], bias[col_item]
    n_cols = col_item.size
    k = min(k, n_cols)
    out_items = np.empty((rows.size, k), dtype=np.int32)
    out_scores = np.empty((rows.size, k), dtype=np.float32)
    if k == 0 or rows.size == 0:
        return out_items, out_scores

    if block_rows is None:
        block_rows = default_block_rows(n_cols)
    elif isinstance(block_rows, bool) or not isinstance(block_rows, (int, np.integer)) or block_rows < 1:
        raise ValueError(f"block_rows must be a positive integer, got {block_rows!r}")
    block_rows = int(min(block_rows, rows.size))
    buf = np.empty((block_rows, n_cols), dtype=np.float32)
    VcT = Vc.T
    with numba_threads(resolve_threads(n_threads)):
        for start in range(0, rows.size, block_rows):
            stop = min(start + block_rows, rows.size)
            block = buf[: stop - start]
            np.matmul(U[rows[start:stop]], VcT, out=block)
            select_topk_block(
                block, bc, rows[start:stop], indptr, indices, filter_seen, item_col, col_item, k,
                out_items[start:stop], out_scores[start:stop],
            )
    return out_items, out_scores


def topk_cosine(factors, rows, k, *, candidates=None, excluded=None, block_rows=None, n_threads=None,
                check_finite=True):
    """Most cosine-similar rows of ``factors`` to each query row, the query itself excluded.

    Cosine is computed in float32 over the factor rows; a row of zeros has
    similarity 0 to every row. Same output conventions and keyword arguments
    as :func:`topk_blocked`.

    Examples
    --------
    >>> F = np.array([[1.0, 0.0], [2.0, 0.1], [0.0, 1.0], [-1.0, 0.0]], dtype=np.float32)
    >>> idx, sim = topk_cosine(F, [0, 2], 2)
    >>> idx
    array([[1, 2],
           [1, 0]], dtype=int32)
    >>> np.round(sim, 3)
    array([[0.999, 0.   ],
           [0.05 , 0.   ]], dtype=float32)
    """
    F = _as_factors(factors, "factors", check_finite)
    norms = np.linalg.norm(F, axis=1)
    norms[norms == 0] = 1.0
    unit = F / norms[:, None]
    n = F.shape[0]
    self_ptr = np.arange(n + 1, dtype=np.int64)
    self_idx = np.arange(n, dtype=np.int32)
    return topk_blocked(
        unit, unit, rows, k, indptr=self_ptr, indices=self_idx,
        candidates=candidates, excluded=excluded, block_rows=block_rows, n_threads=n_threads, check_finite=False,
    )
