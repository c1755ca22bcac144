"""Implicit-feedback ALS (Hu, Koren and Volinsky 2008): blocks of rows solved by CG or Cholesky.

One half-step solves, for every row ``u`` of a block (a user, or an item
when the roles are swapped), the weighted ridge problem

    minimise  sum_{all j} c_uj (p_uj - x . y_j)^2 + reg * |x|^2

over the row's factor vector ``x`` with the other side's factors ``y_j``
fixed. For a stored value ``r_uj`` the confidence is ``c_uj = 1 + alpha *
r_uj`` and the preference ``p_uj = [r_uj > 0]``; every column that is not
stored has ``c = 1`` and ``p = 0``. The normal equations are

    (Y^T Y + Y^T (C_u - I) Y + reg * I) x = Y^T C_u p_u

where the Gram matrix ``Y^T Y`` is shared by all rows (computed once per
half-step by :func:`gram`) and ``C_u - I`` is non-zero only on the row's
stored columns, so a row costs ``O(n_u k^2 + k^3)`` with Cholesky and
``O(steps (n_u k + k^2))`` with conjugate gradient (Takacs, Pilaszy and Tikk
2011), which starts from the row's current vector.

Both solvers also return the block's weighted squared error over *all*
columns, ``sum_u sum_j c_uj (p_uj - x_u . y_j)^2``, at the new vectors,
without visiting the unstored columns: with ``A`` and ``b`` the system above
and ``f(x) = x^T A x / 2 - b^T x``, a row's error is
``2 f(x) - reg |x|^2 + sum_j c_uj p_uj^2``. Cholesky gets ``f`` from
``A x = b``; CG tracks it along its steps (each step lowers it by
``step * |r|^2 / 2``).

Rows are dealt to a fixed number of strided chunks, each with its own
scratch, and chunk results are summed in chunk order, so the solution and
the returned error do not depend on the thread count.
"""

import numpy as np
from numba import njit, prange

from .linalg import cholesky_solve

__all__ = ["gram", "implicit_cg_rows", "implicit_cholesky_rows", "N_CHUNKS"]

_FAST = {"reassoc", "contract"}
N_CHUNKS = 64
_GRAM_PARTS = 32
_TINY = 1e-20


@njit(cache=True, nogil=True, fastmath=_FAST)
def _gram_part(Y, start, end, G):
    """Accumulate the lower triangle of ``Y[start:end]^T Y[start:end]`` into ``G``, four rows at a time."""
    k = Y.shape[1]
    for a in range(k):
        for c in range(a + 1):
            G[a, c] = 0.0
    q = start
    while q + 4 <= end:
        for a in range(k):
            w0, w1, w2, w3 = Y[q, a], Y[q + 1, a], Y[q + 2, a], Y[q + 3, a]
            for c in range(a + 1):
                G[a, c] += w0 * Y[q, c] + w1 * Y[q + 1, c] + w2 * Y[q + 2, c] + w3 * Y[q + 3, c]
        q += 4
    while q < end:
        for a in range(k):
            w0 = Y[q, a]
            for c in range(a + 1):
                G[a, c] += w0 * Y[q, c]
        q += 1


@njit(cache=True, nogil=True, parallel=True)
def gram(Y):
    """``Y^T Y`` as a float64 ``(k, k)`` array.

    Rows are cut into a fixed number of contiguous parts whose partial sums
    (in ``Y``'s precision) are added in part order, so the result does not
    depend on the thread count.
    """
    n, k = Y.shape
    parts = np.zeros((_GRAM_PARTS, k, k), dtype=Y.dtype)
    for t in prange(_GRAM_PARTS):
        _gram_part(Y, t * n // _GRAM_PARTS, (t + 1) * n // _GRAM_PARTS, parts[t])
    out = np.zeros((k, k), dtype=np.float64)
    for t in range(_GRAM_PARTS):
        for a in range(k):
            for c in range(a + 1):
                out[a, c] += parts[t, a, c]
    for a in range(k):
        for c in range(a):
            out[c, a] = out[a, c]
    return out


@njit(cache=True, nogil=True, fastmath=_FAST)
def _gram_times(G, reg, v, out):
    """``out = (G + reg I) v`` for symmetric ``G`` (column-wise, no horizontal sums)."""
    k = v.size
    for a in range(k):
        out[a] = reg * v[a]
    for c in range(k):
        vc = v[c]
        for a in range(k):
            out[a] += G[c, a] * vc


@njit(cache=True, nogil=True, fastmath=_FAST)
def cg_row(u, start, end, indices, data, Y, G, reg, alpha, steps, X, r, p, ap):
    """Improve ``X[u]`` by ``steps`` conjugate-gradient steps; return the row's weighted squared error.

    ``G`` is ``Y^T Y`` in ``Y``'s precision; ``r``, ``p``, ``ap`` are
    length-k scratch vectors.
    """
    k = Y.shape[1]
    x = X[u]
    _gram_times(G, reg, x, ap)
    for a in range(k):
        r[a] = -ap[a]
    bx = 0.0
    cpp = 0.0
    for q in range(start, end):
        j = indices[q]
        w = alpha * data[q]
        s = Y.dtype.type(0.0)
        for a in range(k):
            s += Y[j, a] * x[a]
        cp = w + 1.0 if data[q] > 0 else 0.0
        coef = Y.dtype.type(cp - w * s)
        for a in range(k):
            r[a] += coef * Y[j, a]
        bx += cp * s
        cpp += cp
    xr = 0.0
    rs = 0.0
    for a in range(k):
        xr += x[a] * r[a]
        rs += r[a] * r[a]
        p[a] = r[a]
    f = -0.5 * (xr + bx)
    for _ in range(steps):
        if rs < _TINY:
            break
        _gram_times(G, reg, p, ap)
        for q in range(start, end):
            j = indices[q]
            s = Y.dtype.type(0.0)
            for a in range(k):
                s += Y[j, a] * p[a]
            coef = Y.dtype.type(alpha * data[q] * s)
            for a in range(k):
                ap[a] += coef * Y[j, a]
        pap = 0.0
        for a in range(k):
            pap += p[a] * ap[a]
        if not pap > 0.0:
            break
        step = rs / pap
        step_t = Y.dtype.type(step)
        rs_new = 0.0
        for a in range(k):
            x[a] += step_t * p[a]
            r[a] -= step_t * ap[a]
            rs_new += r[a] * r[a]
        f -= 0.5 * step * rs
        beta = Y.dtype.type(rs_new / rs)
        for a in range(k):
            p[a] = r[a] + beta * p[a]
        rs = rs_new
    xx = 0.0
    for a in range(k):
        xx += x[a] * x[a]
    return 2.0 * f - reg * xx + cpp


@njit(cache=True, nogil=True, parallel=True)
def implicit_cg_rows(rows, indptr, indices, data, Y, G, reg, alpha, steps, X):
    """Conjugate-gradient half-step for the rows ``rows``, warm-started from ``X``.

    ``indptr, indices, data`` are the CSR arrays of the rows' stored values
    over the other side, whose factors are ``Y``; ``G`` is ``Y^T Y`` (any
    float dtype, used in ``Y``'s precision). Each row's ``X[u]`` is improved
    by ``steps`` CG steps (fewer when the residual vanishes); rows without
    stored values get zeros. Returns the block's weighted squared error (see
    the module docstring) at the new vectors.
    """
    k = Y.shape[1]
    Gt = G.astype(Y.dtype)
    totals = np.zeros(N_CHUNKS, dtype=np.float64)
    for c in prange(N_CHUNKS):
        r = np.empty(k, dtype=Y.dtype)
        p = np.empty(k, dtype=Y.dtype)
        ap = np.empty(k, dtype=Y.dtype)
        total = 0.0
        for q in range(c, rows.size, N_CHUNKS):
            u = rows[q]
            start, end = indptr[u], indptr[u + 1]
            if end == start:
                for a in range(k):
                    X[u, a] = 0.0
                continue
            total += cg_row(u, start, end, indices, data, Y, Gt, reg, alpha, steps, X, r, p, ap)
        totals[c] = total
    return totals.sum()


@njit(cache=True, nogil=True, fastmath=_FAST)
def cholesky_row(u, start, end, indices, data, Y, G, reg, alpha, X, S, A, b, x):
    """Solve row ``u`` exactly; return its weighted squared error, or NaN if the system is not positive definite.

    ``S`` is a ``(k, k)`` scratch in ``Y``'s precision accumulating
    ``Y^T (C_u - I) Y`` four values at a time; ``A`` (k, k) and ``b``, ``x``
    (k) are float64 scratch.
    """
    k = Y.shape[1]
    for a in range(k):
        b[a] = 0.0
        for c in range(a + 1):
            S[a, c] = 0.0
    cpp = 0.0
    q = start
    while q + 4 <= end:
        j0, j1, j2, j3 = indices[q], indices[q + 1], indices[q + 2], indices[q + 3]
        v0, v1, v2, v3 = data[q], data[q + 1], data[q + 2], data[q + 3]
        w0 = Y.dtype.type(alpha * v0)
        w1 = Y.dtype.type(alpha * v1)
        w2 = Y.dtype.type(alpha * v2)
        w3 = Y.dtype.type(alpha * v3)
        c0 = w0 + 1.0 if v0 > 0 else 0.0
        c1 = w1 + 1.0 if v1 > 0 else 0.0
        c2 = w2 + 1.0 if v2 > 0 else 0.0
        c3 = w3 + 1.0 if v3 > 0 else 0.0
        cpp += c0 + c1 + c2 + c3
        for a in range(k):
            y0, y1, y2, y3 = Y[j0, a], Y[j1, a], Y[j2, a], Y[j3, a]
            b[a] += c0 * y0 + c1 * y1 + c2 * y2 + c3 * y3
            z0, z1, z2, z3 = w0 * y0, w1 * y1, w2 * y2, w3 * y3
            for c in range(a + 1):
                S[a, c] += z0 * Y[j0, c] + z1 * Y[j1, c] + z2 * Y[j2, c] + z3 * Y[j3, c]
        q += 4
    while q < end:
        j0 = indices[q]
        v0 = data[q]
        w0 = Y.dtype.type(alpha * v0)
        c0 = w0 + 1.0 if v0 > 0 else 0.0
        cpp += c0
        for a in range(k):
            y0 = Y[j0, a]
            b[a] += c0 * y0
            z0 = w0 * y0
            for c in range(a + 1):
                S[a, c] += z0 * Y[j0, c]
        q += 1
    for a in range(k):
        for c in range(a + 1):
            A[a, c] = G[a, c] + S[a, c]
        A[a, a] += reg
        x[a] = b[a]
    if not cholesky_solve(A, x, k):
        return np.nan
    bx = 0.0
    xx = 0.0
    for a in range(k):
        bx += b[a] * x[a]
        xx += x[a] * x[a]
        X[u, a] = x[a]
    return cpp - bx - reg * xx


@njit(cache=True, nogil=True, parallel=True)
def implicit_cholesky_rows(rows, indptr, indices, data, Y, G, reg, alpha, X):
    """Exact half-step for the rows ``rows`` (Cholesky of each k x k system in float64).

    Same arguments as :func:`implicit_cg_rows` without ``steps``; ``G``
    should be float64. Rows without stored values get zeros. Returns the
    block's weighted squared error at the new vectors, NaN when a system was
    not positive definite (that row is left unchanged).
    """
    k = Y.shape[1]
    totals = np.zeros(N_CHUNKS, dtype=np.float64)
    for c in prange(N_CHUNKS):
        S = np.empty((k, k), dtype=Y.dtype)
        A = np.empty((k, k), dtype=np.float64)
        b = np.empty(k, dtype=np.float64)
        x = np.empty(k, dtype=np.float64)
        total = 0.0
        for q in range(c, rows.size, N_CHUNKS):
            u = rows[q]
            start, end = indptr[u], indptr[u + 1]
            if end == start:
                for a in range(k):
                    X[u, a] = 0.0
                continue
            total += cholesky_row(u, start, end, indices, data, Y, G, reg, alpha, X, S, A, b, x)
        totals[c] = total
    return totals.sum()
