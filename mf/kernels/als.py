"""Explicit-feedback ALS: exact ridge solves for blocks of rows.

One half-step solves, for every row ``u`` of a block (a user, or an item
when the roles are swapped), the ridge problem

    minimise  sum_{i in R(u)} (r_ui - mu - c_i - x . y_i - b)^2
              + reg * n_u * |x|^2 + reg_bias * n_u * b^2

over the row's factor vector ``x`` and bias ``b`` with the other side's
factors ``y_i`` and biases ``c_i`` fixed (weighted-lambda regularisation,
Zhou et al. 2008). The (k+1) x (k+1) normal equations are built and solved
by Cholesky in float64 (the Gram
matrix is accumulated in float32). A row with fewer ratings than factors is
solved through the equivalent n x n dual system instead, which is much
cheaper on long-tailed data where most items have a handful of ratings. The same kernel serves full half-steps, fold-in of
new users and any partition of rows.
"""

import numpy as np
from numba import njit, prange

from .linalg import cholesky_solve


_FAST = {"reassoc", "contract"}


LANES = 16
"""Width the Gram scratch is padded to: one AVX-512 register of float32."""
CHUNK = 128
"""Ratings whose factor rows are gathered into the scratch at a time."""


@njit(cache=True, nogil=True)
def ridge_scratch(k):
    """Scratch arrays for :func:`build_ridge_system` and the solves, for k factors.

    Returns ``G`` (k x kp float32, kp = k rounded up to ``LANES``), ``Z``
    (``CHUNK`` x kp float32, zero past column k), ``t`` (``CHUNK`` float32),
    ``s`` (kp float64), ``A`` ((k+1) x (k+1) float64) and ``b`` (k+1
    float64). The dual solve of a row with n < k ratings uses the leading
    n x n block of ``A`` and the first n entries of ``b``.
    """
    kp = -(-k // LANES) * LANES
    return (np.empty((k, kp), dtype=np.float32), np.zeros((CHUNK, kp), dtype=np.float32),
            np.empty(CHUNK, dtype=np.float32), np.empty(kp, dtype=np.float64),
            np.empty((k + 1, k + 1), dtype=np.float64), np.empty(k + 1, dtype=np.float64))


@njit(cache=True, nogil=True, fastmath=_FAST)
def build_ridge_system(start, end, indices, data, Y, y_bias, global_mean, reg, reg_bias, fit_bias, G, Z, t, s, A,
                       b):
    """Fill the normal equations of one row into ``A[:d, :d]`` and ``b[:d]``; return ``d``.

    ``d`` is k, or k + 1 with a bias; the scratch comes from
    :func:`ridge_scratch`. The ratings' factor rows are gathered ``CHUNK`` at
    a time into ``Z``, whose rows are padded to a whole number of vector
    lanes, and the Gram matrix is accumulated in float32 eight rows of ``Z``
    at a time, each row of ``G`` up to the lane boundary past its diagonal:
    the inner loop is a contiguous fused multiply-add with no scalar
    remainder (1.35x faster half-steps than four unpadded rows at a time, at
    k = 50 and 64 on 1M ratings).
    The system itself is float64.
    """
    k = Y.shape[1]
    kp = G.shape[1]
    for a in range(k):
        for c in range(min((a // LANES + 1) * LANES, kp)):
            G[a, c] = 0.0
    for f in range(kp):
        s[f] = 0.0
    for f in range(k):
        b[f] = 0.0
    t_sum = 0.0
    p = start
    while p < end:
        m = min(CHUNK, end - p)
        for r in range(m):
            j = indices[p + r]
            t[r] = data[p + r] - global_mean - y_bias[j]
            for f in range(k):
                Z[r, f] = Y[j, f]
        r = 0
        while r + 8 <= m:
            for a in range(k):
                c0, c1, c2, c3 = Z[r, a], Z[r + 1, a], Z[r + 2, a], Z[r + 3, a]
                c4, c5, c6, c7 = Z[r + 4, a], Z[r + 5, a], Z[r + 6, a], Z[r + 7, a]
                for c in range(min((a // LANES + 1) * LANES, kp)):
                    G[a, c] += ((c0 * Z[r, c] + c1 * Z[r + 1, c]) + (c2 * Z[r + 2, c] + c3 * Z[r + 3, c])) + (
                        (c4 * Z[r + 4, c] + c5 * Z[r + 5, c]) + (c6 * Z[r + 6, c] + c7 * Z[r + 7, c]))
            r += 8
        while r < m:
            for a in range(k):
                c0 = Z[r, a]
                for c in range(min((a // LANES + 1) * LANES, kp)):
                    G[a, c] += c0 * Z[r, c]
            r += 1
        for r in range(m):
            tr = np.float64(t[r])
            t_sum += tr
            for f in range(kp):
                s[f] += Z[r, f]
            for f in range(k):
                b[f] += tr * Z[r, f]
        p += m
    n = end - start
    for a in range(k):
        for c in range(a + 1):
            A[a, c] = G[a, c]
        A[a, a] += reg * n
    if fit_bias:
        for c in range(k):
            A[k, c] = s[c]
        A[k, k] = (1.0 + reg_bias) * n
        b[k] = t_sum
        return k + 1
    return k


@njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy")
def solve_dual(u, start, end, indices, data, Y, y_bias, global_mean, reg, reg_bias, fit_bias, X, x_bias, A, b):
    """Solve one row's ridge problem through its n x n dual system (for n ratings < k).

    With ``D`` the diagonal penalty and ``Z`` the n x d design (rows
    ``[y_j, 1]``), ``(D + Z^T Z)^{-1} Z^T t = D^{-1} Z^T (I + Z D^{-1} Z^T)^{-1} t``:
    the same solution from an n x n Cholesky instead of a d x d one. Returns
    False when the system is not positive definite.
    """
    k = Y.shape[1]
    n = end - start
    inv_reg = 1.0 / (reg * n)
    inv_bias = 1.0 / (reg_bias * n) if fit_bias else 0.0
    for a in range(n):
        ja = indices[start + a]
        b[a] = data[start + a] - global_mean - y_bias[ja]
        for c in range(a + 1):
            jc = indices[start + c]
            dot = 0.0
            for f in range(k):
                dot += np.float64(Y[ja, f]) * Y[jc, f]
            A[a, c] = dot * inv_reg + inv_bias
        A[a, a] += 1.0
    if not cholesky_solve(A, b, n):
        return False
    for f in range(k):
        acc = 0.0
        for a in range(n):
            acc += Y[indices[start + a], f] * b[a]
        X[u, f] = acc * inv_reg
    bias = 0.0
    for a in range(n):
        bias += b[a]
    x_bias[u] = bias * inv_bias
    return True


@njit(cache=True, nogil=True)
def solve_rows_serial(c, n_chunks, rows, indptr, indices, data, Y, y_bias, global_mean, reg, reg_bias, fit_bias,
                      X, x_bias):
    """Solve rows ``rows[c::n_chunks]`` in the calling thread; return the number of failures.

    ``als_solve_rows`` runs one call per chunk in parallel; fold-in of a
    single user calls it directly (no parallel start-up).
    """
    k = Y.shape[1]
    G, Z, t, s, A, b = ridge_scratch(k)
    failures = 0
    for q in range(c, rows.size, n_chunks):
        u = rows[q]
        start, end = indptr[u], indptr[u + 1]
        if end == start:
            for a in range(k):
                X[u, a] = 0.0
            x_bias[u] = 0.0
            continue
        if end - start < k and (reg_bias > 0 or not fit_bias):
            if not solve_dual(u, start, end, indices, data, Y, y_bias, global_mean, reg, reg_bias, fit_bias, X,
                              x_bias, A, b):
                failures += 1
            continue
        d = build_ridge_system(start, end, indices, data, Y, y_bias, global_mean, reg, reg_bias, fit_bias, G, Z, t,
                               s, A, b)
        if not cholesky_solve(A, b, d):
            failures += 1
            continue
        for a in range(k):
            X[u, a] = b[a]
        x_bias[u] = b[k] if fit_bias else 0.0
    return failures


@njit(cache=True, nogil=True, parallel=True)
def als_solve_rows(rows, indptr, indices, data, Y, y_bias, global_mean, reg, reg_bias, fit_bias, X, x_bias,
                   n_chunks):
    """Solve the ridge problem of each row in ``rows``, writing ``X[u]`` and ``x_bias[u]``.

    ``indptr, indices, data`` are the CSR arrays of the rows' ratings over the
    other side, whose factors and biases are ``Y`` and ``y_bias``. Rows
    without ratings get zeros. Work is split into ``n_chunks`` strided tasks,
    each with its own scratch. Returns the number of rows whose system was
    not positive definite (those rows are left unchanged).
    """
    failures = np.zeros(n_chunks, dtype=np.int64)
    for c in prange(n_chunks):
        failures[c] = solve_rows_serial(c, n_chunks, rows, indptr, indices, data, Y, y_bias, global_mean, reg,
                                        reg_bias, fit_bias, X, x_bias)
    return failures.sum()


@njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy")
def _apply_system(start, end, indices, Y, fit_bias, pen, pen_bias, v, v_bias, out):
    """``out = A v`` for one row's system ``A = sum_j z_j z_j^T + D`` with ``z_j = [y_j, 1]``.

    Returns the bias component of ``A v`` (0 without a bias).
    """
    k = Y.shape[1]
    for f in range(k):
        out[f] = pen * v[f]
    out_bias = pen_bias * v_bias
    for p in range(start, end):
        j = indices[p]
        dot = v_bias if fit_bias else np.float32(0.0)
        for f in range(k):
            dot += Y[j, f] * v[f]
        for f in range(k):
            out[f] += dot * Y[j, f]
        out_bias += dot
    return out_bias if fit_bias else np.float32(0.0)


@njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy")
def cg_solve_row(u, start, end, indices, data, Y, y_bias, global_mean, reg, reg_bias, fit_bias, steps, X, x_bias,
                 r, d, Ad):
    """Improve ``X[u]``, ``x_bias[u]`` by ``steps`` conjugate-gradient steps on the row's ridge system.

    Warm-started from the current values; each step costs one pass over the
    row's ratings (O(n k)), against O(n k^2) for forming the system. ``r``,
    ``d``, ``Ad`` are float32 scratch vectors of length k.
    """
    k = Y.shape[1]
    n = end - start
    pen = np.float32(reg * n)
    pen_bias = np.float32(reg_bias * n) if fit_bias else np.float32(0.0)
    x = X[u]
    xb = x_bias[u] if fit_bias else np.float32(0.0)
    # r = rhs - A x, with rhs = sum_j z_j t_j
    r_bias = -_apply_system(start, end, indices, Y, fit_bias, pen, pen_bias, x, xb, Ad)
    for f in range(k):
        r[f] = -Ad[f]
    for p in range(start, end):
        j = indices[p]
        t = data[p] - global_mean - y_bias[j]
        for f in range(k):
            r[f] += t * Y[j, f]
        if fit_bias:
            r_bias += t
    rs = r_bias * r_bias
    for f in range(k):
        rs += r[f] * r[f]
        d[f] = r[f]
    d_bias = r_bias
    for _ in range(steps):
        if rs <= 1e-20:
            break
        Ad_bias = _apply_system(start, end, indices, Y, fit_bias, pen, pen_bias, d, d_bias, Ad)
        dAd = d_bias * Ad_bias
        for f in range(k):
            dAd += d[f] * Ad[f]
        if dAd <= 0.0:
            break
        alpha = rs / dAd
        for f in range(k):
            x[f] += alpha * d[f]
            r[f] -= alpha * Ad[f]
        xb += alpha * d_bias
        r_bias -= alpha * Ad_bias
        rs_new = r_bias * r_bias
        for f in range(k):
            rs_new += r[f] * r[f]
        beta = rs_new / rs
        for f in range(k):
            d[f] = r[f] + beta * d[f]
        d_bias = r_bias + beta * d_bias
        rs = rs_new
    if fit_bias:
        x_bias[u] = xb


@njit(cache=True, nogil=True, parallel=True)
def als_cg_rows(rows, indptr, indices, data, Y, y_bias, global_mean, reg, reg_bias, fit_bias, steps, X, x_bias,
                n_chunks):
    """:func:`als_solve_rows` with ``steps`` warm-started CG steps per row instead of an exact solve.

    Rows without ratings get zeros. Each row is independent, so the result
    does not depend on ``n_chunks`` or the thread count.
    """
    k = Y.shape[1]
    for c in prange(n_chunks):
        r = np.empty(k, dtype=np.float32)
        d = np.empty(k, dtype=np.float32)
        Ad = np.empty(k, dtype=np.float32)
        for q in range(c, rows.size, n_chunks):
            u = rows[q]
            start, end = indptr[u], indptr[u + 1]
            if end == start:
                for f in range(k):
                    X[u, f] = 0.0
                x_bias[u] = 0.0
                continue
            cg_solve_row(u, start, end, indices, data, Y, y_bias, global_mean, reg, reg_bias, fit_bias, steps, X,
                         x_bias, r, d, Ad)
