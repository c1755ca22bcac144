"""Dense linear algebra on small systems, one per row of a factor matrix.

The ALS kernels solve thousands of k x k symmetric positive definite systems
per half-step (k is the number of factors, tens to a few hundred), each in
the thread that built it: a LAPACK call per system would cost more in
overhead than the solve, and would bring BLAS threads into numba's.
"""

import numpy as np
from numba import njit

__all__ = ["cholesky_solve"]

_FAST = {"reassoc", "contract"}


@njit(cache=True, nogil=True, fastmath=_FAST)
def cholesky_solve(A, b, k):
    """Solve ``A[:k, :k] x = b[:k]`` in place for symmetric positive definite ``A``; False if it is not.

    Only the lower triangle of ``A`` is read; it is overwritten by the
    Cholesky factor ``L`` and ``b`` by the solution. Left-looking, four rows
    of a column at a time so the inner dot products share their loads.
    """
    for j in range(k):
        s = A[j, j]
        for m in range(j):
            s -= A[j, m] * A[j, m]
        if not s > 0.0:
            return False
        d = np.sqrt(s)
        A[j, j] = d
        inv = 1.0 / d
        i = j + 1
        while i + 4 <= k:
            s0, s1, s2, s3 = A[i, j], A[i + 1, j], A[i + 2, j], A[i + 3, j]
            for m in range(j):
                ajm = A[j, m]
                s0 -= A[i, m] * ajm
                s1 -= A[i + 1, m] * ajm
                s2 -= A[i + 2, m] * ajm
                s3 -= A[i + 3, m] * ajm
            A[i, j] = s0 * inv
            A[i + 1, j] = s1 * inv
            A[i + 2, j] = s2 * inv
            A[i + 3, j] = s3 * inv
            i += 4
        while i < k:
            s0 = A[i, j]
            for m in range(j):
                s0 -= A[i, m] * A[j, m]
            A[i, j] = s0 * inv
            i += 1
    for i in range(k):
        s = b[i]
        for m in range(i):
            s -= A[i, m] * b[m]
        b[i] = s / A[i, i]
    for i in range(k - 1, -1, -1):
        xi = b[i] / A[i, i]
        b[i] = xi
        for m in range(i):
            b[m] -= A[i, m] * xi
    return True
