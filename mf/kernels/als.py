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


_FAST = {"reassoc", "contract"}


@njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy")
def cholesky_solve(A, b, d):
    """Solve ``A[:d, :d] x = b[:d]`` in place for symmetric positive definite A.

    Only the lower triangle of ``A`` is read; it is overwritten by the
    Cholesky factor and ``b`` by the solution. Returns False when ``A`` is
    not positive definite.
    """
    for j in range(d):
        s = A[j, j]
        for k in range(j):
            s -= A[j, k] * A[j, k]
        if s <= 0.0:
            return False
        diag = np.sqrt(s)
        A[j, j] = diag
        for i in range(j + 1, d):
            s = A[i, j]
            for k in range(j):
                s -= A[i, k] * A[j, k]
            A[i, j] = s / diag
    for i in range(d):
        s = b[i]
        for k in range(i):
            s -= A[i, k] * b[k]
        b[i] = s / A[i, i]
    for i in range(d - 1, -1, -1):
        s = b[i]
        for k in range(i + 1, d):
            s -= A[k, i] * b[k]
        b[i] = s / A[i, i]
    return True


@njit(cache=True, nogil=True, fastmath=_FAST)
def build_ridge_system(start, end, indices, data, Y, y_bias, global_mean, reg, reg_bias, fit_bias, G, s, A, b):
    """Fill the normal equations of one row into ``A[:d, :d]`` and ``b[:d]``; return ``d``.

    ``d`` is k, or k + 1 with a bias. The Gram matrix is accumulated in the
    float32 scratch ``G`` (k x k) four ratings at a time so the inner loop is
    a contiguous fused multiply-add; the system itself is float64.
    """
    k = Y.shape[1]
    for a in range(k):
        s[a] = 0.0
        b[a] = 0.0
        for c in range(a + 1):
            G[a, c] = 0.0
    t_sum = 0.0
    p = start
    while p + 4 <= end:
        j0, j1, j2, j3 = indices[p], indices[p + 1], indices[p + 2], indices[p + 3]
        t0 = np.float32(data[p] - global_mean - y_bias[j0])
        t1 = np.float32(data[p + 1] - global_mean - y_bias[j1])
        t2 = np.float32(data[p + 2] - global_mean - y_bias[j2])
        t3 = np.float32(data[p + 3] - global_mean - y_bias[j3])
        t_sum += t0 + t1 + t2 + t3
        for a in range(k):
            c0, c1, c2, c3 = Y[j0, a], Y[j1, a], Y[j2, a], Y[j3, a]
            b[a] += t0 * c0 + t1 * c1 + t2 * c2 + t3 * c3
            s[a] += c0 + c1 + c2 + c3
            for c in range(a + 1):
                G[a, c] += c0 * Y[j0, c] + c1 * Y[j1, c] + c2 * Y[j2, c] + c3 * Y[j3, c]
        p += 4
    while p < end:
        j0 = indices[p]
        t0 = np.float32(data[p] - global_mean - y_bias[j0])
        t_sum += t0
        for a in range(k):
            c0 = Y[j0, a]
            b[a] += t0 * c0
            s[a] += c0
            for c in range(a + 1):
                G[a, c] += c0 * Y[j0, c]
        p += 1
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
                      X, x_bias, G, s, A, b):
    """Solve rows ``rows[c::n_chunks]`` in the calling thread with the given scratch; return the failures.

    ``G`` is k x k float32, ``s`` k float32, ``A`` (k+1) x (k+1) and ``b``
    k + 1 float64. ``als_solve_rows`` runs one call per chunk in parallel;
    fold-in of a single user calls it directly (no parallel start-up).
    """
    k = Y.shape[1]
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
        d = build_ridge_system(start, end, indices, data, Y, y_bias, global_mean, reg, reg_bias, fit_bias, G, s, A, b)
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
    k = Y.shape[1]
    failures = np.zeros(n_chunks, dtype=np.int64)
    for c in prange(n_chunks):
        G = np.empty((k, k), dtype=np.float32)
        s = np.empty(k, dtype=np.float32)
        A = np.empty((k + 1, k + 1), dtype=np.float64)
        b = np.empty(k + 1, dtype=np.float64)
        failures[c] = solve_rows_serial(c, n_chunks, rows, indptr, indices, data, Y, y_bias, global_mean, reg,
                                   reg_bias, fit_bias, X, x_bias, G, s, A, b)
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
