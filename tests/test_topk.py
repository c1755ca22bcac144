import numba
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from mf.kernels.topk import default_block_rows, topk_blocked, topk_cosine


def brute_topk(U, V, bias, rows, k, seen=None, candidates=None, excluded=None):
    """Stable descending argsort of the full score matrix with ineligible items dropped."""
    n_items = V.shape[0]
    eligible = np.ones(n_items, dtype=bool)
    if candidates is not None:
        eligible[:] = False
        eligible[candidates] = True
    if excluded is not None:
        eligible[excluded] = False
    k = min(k, int(eligible.sum()))
    scores = U.astype(np.float64) @ V.astype(np.float64).T + bias
    idx = np.full((len(rows), k), -1, dtype=np.int64)
    val = np.full((len(rows), k), -np.inf)
    for r, u in enumerate(rows):
        ok = eligible.copy()
        if seen is not None:
            ok[seen[u]] = False
        items = np.flatnonzero(ok)
        order = items[np.argsort(-scores[u, items], kind="stable")][:k]
        idx[r, : order.size] = order
        val[r, : order.size] = scores[u, order]
    return idx, val


@st.composite
def problems(draw):
    n_users = draw(st.integers(1, 7))
    n_items = draw(st.integers(1, 12))
    f = draw(st.integers(1, 3))
    ints = st.integers(-2, 2)
    U = np.array(draw(st.lists(ints, min_size=n_users * f, max_size=n_users * f)), dtype=np.float32)
    V = np.array(draw(st.lists(ints, min_size=n_items * f, max_size=n_items * f)), dtype=np.float32)
    bias = np.array(draw(st.lists(ints, min_size=n_items, max_size=n_items)), dtype=np.float32)
    seen = [
        sorted(draw(st.sets(st.integers(0, n_items - 1), max_size=n_items))) for _ in range(n_users)
    ]
    if n_users > 1:
        seen[0] = list(range(n_items))
    rows = draw(st.lists(st.integers(0, n_users - 1), min_size=1, max_size=9))
    k = draw(st.integers(1, n_items + 2))
    candidates = draw(st.none() | st.sets(st.integers(0, n_items - 1)).map(sorted))
    excluded = draw(st.none() | st.sets(st.integers(0, n_items - 1)).map(sorted))
    block_rows = draw(st.integers(1, 4))
    n_threads = draw(st.sampled_from([1, 2]))
    return (U.reshape(n_users, f), V.reshape(n_items, f), bias, seen, rows, k, candidates, excluded,
            block_rows, n_threads)


def to_csr_arrays(seen, n_items):
    indptr = np.zeros(len(seen) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(s) for s in seen])
    indices = np.array([j for s in seen for j in s], dtype=np.int32)
    return indptr, indices


@settings(max_examples=50, deadline=None)
@given(problems())
def test_topk_equals_stable_argsort_with_exact_ties(problem):
    U, V, bias, seen, rows, k, candidates, excluded, block_rows, n_threads = problem
    indptr, indices = to_csr_arrays(seen, V.shape[0])
    idx, val = topk_blocked(
        U, V, rows, k, item_bias=bias, indptr=indptr, indices=indices,
        candidates=None if candidates is None else np.array(candidates, dtype=np.int64),
        excluded=None if excluded is None else np.array(excluded, dtype=np.int64),
        block_rows=block_rows, n_threads=n_threads,
    )
    ref_idx, ref_val = brute_topk(U, V, bias, rows, k, seen, candidates, excluded)
    assert idx.dtype == np.int32 and val.dtype == np.float32
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_array_equal(val, ref_val.astype(np.float32))


@settings(max_examples=25, deadline=None)
@given(problems())
def test_without_seen_filter_every_row_is_full(problem):
    U, V, bias, _, rows, k, _, _, block_rows, _ = problem
    idx, val = topk_blocked(U, V, rows, k, item_bias=bias, block_rows=block_rows)
    ref_idx, _ = brute_topk(U, V, bias, rows, k)
    np.testing.assert_array_equal(idx, ref_idx)
    assert (idx >= 0).all()


def test_float_factors_match_reference_scores():
    rng = np.random.default_rng(0)
    U = rng.normal(size=(300, 16)).astype(np.float32)
    V = rng.normal(size=(500, 16)).astype(np.float32)
    bias = rng.normal(size=500).astype(np.float32)
    csr = sp.random(300, 500, density=0.05, format="csr", random_state=1)
    csr.sort_indices()
    rows = np.arange(300)
    idx, val = topk_blocked(U, V, rows, 10, item_bias=bias, indptr=csr.indptr, indices=csr.indices, block_rows=37)
    full = U.astype(np.float64) @ V.astype(np.float64).T + bias
    full[csr.toarray() != 0] = -np.inf
    ref = -np.sort(-full, axis=1)[:, :10]
    np.testing.assert_allclose(val, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.take_along_axis(full, idx.astype(np.int64), axis=1), val, rtol=1e-5, atol=1e-5)
    assert not (csr[np.repeat(rows, 10), idx.ravel()].A1 != 0).any()


def test_candidates_as_mask_equal_candidates_as_indices():
    rng = np.random.default_rng(1)
    U = rng.integers(-3, 4, size=(20, 4)).astype(np.float32)
    V = rng.integers(-3, 4, size=(30, 4)).astype(np.float32)
    mask = rng.random(30) < 0.5
    a = topk_blocked(U, V, np.arange(20), 5, candidates=mask, excluded=np.array([1, 2]))
    excl = np.zeros(30, dtype=bool)
    excl[[1, 2]] = True
    b = topk_blocked(U, V, np.arange(20), 5, candidates=np.flatnonzero(mask)[::-1], excluded=excl)
    np.testing.assert_array_equal(a[0], b[0])
    assert np.isin(a[0], np.flatnonzero(mask & ~excl)).all()


def test_k_capped_at_candidates_and_empty_candidates():
    U = np.ones((2, 2), dtype=np.float32)
    V = np.eye(2, dtype=np.float32)
    idx, val = topk_blocked(U, V, [0, 1], 10)
    assert idx.shape == (2, 2)
    idx, val = topk_blocked(U, V, [0, 1], 10, candidates=np.zeros(2, dtype=bool))
    assert idx.shape == (2, 0) and val.shape == (2, 0)
    idx, val = topk_blocked(U, V, np.array([], dtype=np.int64), 3)
    assert idx.shape == (0, 2)


def test_unchecked_nan_scores_are_never_selected():
    U = np.ones((2, 2), dtype=np.float32)
    V = np.array([[1, 1], [np.nan, 0], [2, 2]], dtype=np.float32)
    with pytest.raises(ValueError, match="NaN"):
        topk_blocked(U, V, [0, 1], 3)
    idx, val = topk_blocked(U, V, [0, 1], 3, check_finite=False)
    np.testing.assert_array_equal(idx, [[2, 0, -1], [2, 0, -1]])
    np.testing.assert_array_equal(val[:, 2], -np.inf)


def test_threads_restored():
    before = numba.get_num_threads()
    U = np.ones((3, 2), dtype=np.float32)
    topk_blocked(U, U, [0, 1, 2], 1, n_threads=1)
    assert numba.get_num_threads() == before


def test_default_block_rows_bounds():
    assert default_block_rows(10**9) == 8
    assert default_block_rows(0) == 1 << 23
    assert default_block_rows(1000) * 1000 <= 1 << 23


def brute_cosine(F, rows, k):
    F = F.astype(np.float64)
    norms = np.linalg.norm(F, axis=1)
    norms[norms == 0] = 1
    unit = F / norms[:, None]
    seen = [[r] for r in range(F.shape[0])]
    return brute_topk(unit, unit, np.zeros(F.shape[0]), rows, k, seen)


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 15), st.integers(1, 4), st.integers(1, 16), st.integers(0, 2**31 - 1))
def test_topk_cosine_equals_brute_force(n, f, k, seed):
    rng = np.random.default_rng(seed)
    F = rng.normal(size=(n, f)).astype(np.float32)
    F[rng.random(n) < 0.2] = 0.0
    rows = rng.integers(0, n, size=5)
    idx, sim = topk_cosine(F, rows, k)
    ref_idx, ref_sim = brute_cosine(F, rows, k)
    assert idx.shape == ref_idx.shape == (5, min(k, n))
    assert (idx != rows[:, None]).all()
    np.testing.assert_allclose(sim, ref_sim, atol=1e-5)
    # returned scores are the true cosines of the returned rows
    unit = F / np.where(np.linalg.norm(F, axis=1) == 0, 1, np.linalg.norm(F, axis=1))[:, None]
    pad = idx < 0
    got = np.einsum("rf,rkf->rk", unit[rows], unit[np.where(pad, 0, idx)])
    np.testing.assert_allclose(np.where(pad, -np.inf, got), sim, atol=1e-5)


def test_topk_cosine_self_excluded_with_duplicates():
    F = np.array([[1.0, 1.0], [1.0, 1.0], [2.0, 2.0]], dtype=np.float32)
    idx, sim = topk_cosine(F, [0, 1, 2], 2)
    np.testing.assert_array_equal(idx, [[1, 2], [0, 2], [0, 1]])
    np.testing.assert_allclose(sim, 1.0, rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"k": 0}, ValueError, "k must be a positive integer"),
        ({"k": 2.5}, ValueError, "k must be a positive integer"),
        ({"rows": [5]}, IndexError, "rows"),
        ({"rows": [[0]]}, TypeError, "rows"),
        ({"item_factors": np.ones((3, 3))}, ValueError, "factors"),
        ({"user_factors": np.full((2, 2), np.nan)}, ValueError, "NaN"),
        ({"item_bias": np.ones(2)}, ValueError, "item_bias"),
        ({"indptr": np.array([0, 1, 1])}, ValueError, "both indptr and indices"),
        ({"indptr": np.array([0, 2, 2]), "indices": np.array([2, 1])}, ValueError, "sorted"),
        ({"indptr": np.array([0, 1, 1]), "indices": np.array([3])}, ValueError, "sorted"),
        ({"indptr": np.array([0, 1]), "indices": np.array([0])}, ValueError, "indptr"),
        ({"indptr": np.array([0, 5, 5]), "indices": np.array([0])}, ValueError, "indptr"),
        ({"candidates": np.ones(2, dtype=bool)}, ValueError, "candidates"),
        ({"candidates": np.array([0, 7])}, IndexError, "candidates"),
        ({"excluded": np.array([0.5])}, TypeError, "excluded"),
        ({"block_rows": 0}, ValueError, "block_rows"),
        ({"n_threads": 0}, ValueError, "n_threads"),
        ({"n_threads": 1.5}, TypeError, "n_threads"),
    ],
)
def test_bad_input(kwargs, error, match):
    args = {"user_factors": np.ones((2, 2)), "item_factors": np.ones((3, 2)), "rows": [0, 1], "k": 2}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        topk_blocked(
            args.pop("user_factors"), args.pop("item_factors"), args.pop("rows"), args.pop("k"), **args
        )
