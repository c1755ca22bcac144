import numpy as np
import pytest
from numba import njit

from mf.kernels.prefetch import prefetch_row
from mf.kernels.sgd import sgd_block


@njit
def _touch_all_rows(M):
    for r in range(M.shape[0]):
        prefetch_row(M, r)
    return M.sum()


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.uint8])
@pytest.mark.parametrize("shape", [(7, 1), (3, 100), (5, 33), (4, 0)])
def test_prefetch_reads_and_changes_nothing(dtype, shape):
    M = (np.arange(np.prod(shape)) % 11).astype(dtype).reshape(shape)
    before = M.copy()
    assert _touch_all_rows(M) == before.sum()
    np.testing.assert_array_equal(M, before)


def test_prefetch_rejects_non_contiguous_matrices():
    with pytest.raises(Exception, match="prefetch_row"):
        _touch_all_rows(np.zeros((4, 6), np.float32)[:, ::2])


def test_sgd_block_with_prefetch_equals_a_plain_python_loop():
    rng = np.random.default_rng(3)
    n_users, n_items, n, k = 6, 5, 40, 9
    bu = rng.integers(0, n_users, n).astype(np.int32)
    bi = rng.integers(0, n_items, n).astype(np.int32)
    br = rng.uniform(1, 5, n).astype(np.float32)
    P = rng.normal(0, 0.1, (n_users, k)).astype(np.float32)
    Q = rng.normal(0, 0.1, (n_items, k)).astype(np.float32)
    ub = np.zeros(n_users, np.float32)
    ib = np.zeros(n_items, np.float32)
    mu, lr, reg, rb = 3.0, 0.05, 0.02, 0.01
    P0, Q0, ub0, ib0 = P.astype(np.float64), Q.astype(np.float64), ub.astype(np.float64), ib.astype(np.float64)
    sse = 0.0
    for u, i, r in zip(bu, bi, br):
        e = r - (mu + ub0[u] + ib0[i] + P0[u] @ Q0[i])
        sse += e * e
        ub0[u] += lr * (e - rb * ub0[u])
        ib0[i] += lr * (e - rb * ib0[i])
        P0[u], Q0[i] = P0[u] + lr * (e * Q0[i] - reg * P0[u]), Q0[i] + lr * (e * P0[u] - reg * Q0[i])
    total = sgd_block(0, n, bu, bi, br, np.uint64(0), False, P, Q, ub, ib, np.float32(mu), np.float32(lr),
                      np.float32(reg), np.float32(rb), True)
    np.testing.assert_allclose(total, sse, rtol=1e-4)
    np.testing.assert_allclose(P, P0, atol=1e-5)
    np.testing.assert_allclose(Q, Q0, atol=1e-5)
    np.testing.assert_allclose(ub, ub0, atol=1e-5)
    np.testing.assert_allclose(ib, ib0, atol=1e-5)
