import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import mf
from mf.kernels.implicit_als import gram, implicit_cg_rows, implicit_cholesky_rows
from mf.kernels.linalg import cholesky_solve
from mf.metrics import auc
from mf.models.implicit import ImplicitALS


def random_csr(rng, n_rows, n_cols, density, zeros=False, empty_rows=()):
    """Random non-negative CSR with sorted indices; some stored values are 0 when ``zeros``."""
    mask = rng.random((n_rows, n_cols)) < density
    mask[list(empty_rows)] = False
    values = rng.uniform(0.5, 5.0, (n_rows, n_cols)) * mask
    if zeros:
        values[mask & (rng.random((n_rows, n_cols)) < 0.2)] = 0.0
    rows, cols = np.nonzero(mask)
    m = sp.csr_matrix((values[rows, cols], (rows, cols)), shape=(n_rows, n_cols))
    m.sort_indices()
    return m


def dense_solution(D, Y, reg, alpha):
    """Exact row solutions of (Y^T C_u Y + reg I) x = Y^T C_u p_u built densely (float64)."""
    C = 1.0 + alpha * D
    P = (D > 0).astype(np.float64)
    k = Y.shape[1]
    return np.stack([np.linalg.solve(Y.T @ (C[u][:, None] * Y) + reg * np.eye(k), Y.T @ (C[u] * P[u]))
                     for u in range(D.shape[0])])


def weighted_sse(D, X, Y, alpha):
    C = 1.0 + alpha * D
    return float(np.sum(C * ((D > 0) - X @ Y.T) ** 2))


def objective(model, D, reg, alpha):
    X = model.user_factors_.astype(np.float64)
    Y = model.item_factors_.astype(np.float64)
    return weighted_sse(D, X, Y, alpha) + reg * (np.sum(X**2) + np.sum(Y**2))


def planted(n_groups=4, users_per_group=30, items_per_group=15, p_seen=0.5, seed=0):
    """Users of group g like every item of group g and have seen about half of them.

    Returns the training Ratings and, per user, the liked items not seen (the relevant items).
    """
    rng = np.random.default_rng(seed)
    users, items, relevant = [], [], []
    for u in range(n_groups * users_per_group):
        group = np.arange(items_per_group) + (u % n_groups) * items_per_group
        seen = rng.random(items_per_group) < p_seen
        seen[rng.integers(items_per_group)] = True
        users += [u] * int(seen.sum())
        items += group[seen].tolist()
        relevant.append(group[~seen])
    return mf.Ratings(np.array(users), np.array(items)), relevant


def holdout_auc(model, train, relevant):
    scores = model.user_factors_ @ model.item_factors_.T + getattr(model, "item_bias_", 0.0)
    seen = train.to_csr().toarray() > 0
    return auc(scores, relevant, candidates=~seen)


# ---------------------------------------------------------------- exact math of the kernels
@settings(max_examples=30, deadline=None)
@given(k=st.integers(1, 6), reg=st.floats(0.01, 2.0), alpha=st.floats(0.1, 20.0), seed=st.integers(0, 2**31))
def test_cholesky_row_solve_equals_numpy_solve(k, reg, alpha, seed):
    rng = np.random.default_rng(seed)
    M = random_csr(rng, 6, 9, 0.4, zeros=True, empty_rows=[0])
    Y = rng.normal(size=(9, k)).astype(np.float32)
    X = np.full((6, k), 7.0, dtype=np.float32)
    data = M.data.astype(np.float32)
    sse = implicit_cholesky_rows(np.arange(6), M.indptr, M.indices, data, Y, gram(Y), reg, alpha, X)
    D = M.toarray()
    Yd = Y.astype(np.float64)
    expected = dense_solution(D, Yd, reg, alpha)
    empty = np.diff(M.indptr) == 0
    expected[empty] = 0.0
    np.testing.assert_allclose(X, expected, rtol=1e-4, atol=1e-5)
    assert sse == pytest.approx(weighted_sse(D, X.astype(np.float64), Yd, alpha), rel=1e-4, abs=1e-5)


def test_cholesky_solves_only_the_given_rows():
    rng = np.random.default_rng(3)
    M = random_csr(rng, 8, 10, 0.5)
    Y = rng.normal(size=(10, 3))
    X = np.full((8, 3), 5.0)
    implicit_cholesky_rows(np.array([1, 6]), M.indptr, M.indices, M.data, Y, gram(Y), 0.1, 2.0, X)
    expected = dense_solution(M.toarray(), Y, 0.1, 2.0)
    np.testing.assert_allclose(X[[1, 6]], expected[[1, 6]], rtol=1e-10)
    untouched = np.setdiff1d(np.arange(8), [1, 6])
    assert np.all(X[untouched] == 5.0)


def test_gram_equals_numpy_and_is_symmetric():
    rng = np.random.default_rng(0)
    for n in (1, 3, 37, 1000):
        Y = rng.normal(size=(n, 5)).astype(np.float32)
        G = gram(Y)
        assert G.dtype == np.float64
        np.testing.assert_allclose(G, Y.astype(np.float64).T @ Y.astype(np.float64), rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(G, G.T)


@settings(max_examples=25, deadline=None)
@given(k=st.integers(2, 8), seed=st.integers(0, 2**31))
def test_cg_equals_cholesky_after_k_steps_in_float64(k, seed):
    rng = np.random.default_rng(seed)
    M = random_csr(rng, 5, 12, 0.5)
    Y = rng.normal(size=(12, k))
    reg, alpha = 0.5, 3.0
    exact = np.zeros((5, k))
    implicit_cholesky_rows(np.arange(5), M.indptr, M.indices, M.data, Y, gram(Y), reg, alpha, exact)
    X = rng.normal(size=(5, k))
    sse = implicit_cg_rows(np.arange(5), M.indptr, M.indices, M.data, Y, gram(Y), reg, alpha, k, X)
    np.testing.assert_allclose(X, exact, rtol=1e-5, atol=1e-6)
    # the tracked error is second order in the solution's rounding (X above agrees to 1e-5); a wrong formula
    # for it would be off by orders of magnitude more than this tolerance
    assert sse == pytest.approx(weighted_sse(M.toarray(), exact, Y, alpha), rel=1e-7)


def test_cg_error_shrinks_as_steps_grow():
    rng = np.random.default_rng(1)
    k = 12
    M = random_csr(rng, 20, 40, 0.3)
    Y = rng.normal(size=(40, k))
    reg, alpha = 0.1, 5.0
    exact = np.zeros((20, k))
    implicit_cholesky_rows(np.arange(20), M.indptr, M.indices, M.data, Y, gram(Y), reg, alpha, exact)
    start = rng.normal(size=(20, k))
    errors = []
    for steps in range(1, k + 1):
        X = start.copy()
        implicit_cg_rows(np.arange(20), M.indptr, M.indices, M.data, Y, gram(Y), reg, alpha, steps, X)
        errors.append(np.linalg.norm(X - exact, axis=1))
    errors = np.array(errors)
    # CG's error norm never grows from one step to the next (Hestenes and Stiefel), and vanishes at step k
    assert np.all(np.diff(errors, axis=0) <= 1e-9 * (1 + errors[:-1]))
    assert np.all(errors[-1] < 1e-5 * errors[0])


@settings(max_examples=25, deadline=None)
@given(steps=st.integers(1, 4), seed=st.integers(0, 2**31))
def test_cg_returned_error_equals_dense_weighted_error(steps, seed):
    rng = np.random.default_rng(seed)
    M = random_csr(rng, 7, 11, 0.4, zeros=True)
    Y = rng.normal(size=(11, 4))
    X = rng.normal(size=(7, 4))
    sse = implicit_cg_rows(np.arange(7), M.indptr, M.indices, M.data, Y, gram(Y), 0.3, 2.0, steps, X)
    assert sse == pytest.approx(weighted_sse(M.toarray(), X, Y, 2.0), rel=1e-9)


def test_cg_in_float32_is_close_to_the_exact_solution():
    rng = np.random.default_rng(2)
    M = random_csr(rng, 30, 50, 0.2)
    Y = rng.normal(size=(50, 6)).astype(np.float32)
    exact = np.zeros((30, 6), dtype=np.float32)
    implicit_cholesky_rows(np.arange(30), M.indptr, M.indices, M.data.astype(np.float32), Y, gram(Y), 0.1, 1.0,
                           exact)
    X = np.zeros((30, 6), dtype=np.float32)
    implicit_cg_rows(np.arange(30), M.indptr, M.indices, M.data.astype(np.float32), Y, gram(Y), 0.1, 1.0, 6, X)
    np.testing.assert_allclose(X, exact, rtol=1e-3, atol=1e-4)


# ---------------------------------------------------------------- the model
@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(5)
    return random_csr(rng, 40, 25, 0.2)


def test_cholesky_objective_never_increases_and_history_is_exact(small):
    reg, alpha = 0.05, 4.0
    model = ImplicitALS(factors=5, reg=reg, alpha=alpha, iterations=12, solver="cholesky", random_state=0).fit(small)
    loss = np.array(model.history_["loss"])
    assert np.all(np.diff(loss) <= 1e-9 * loss[:-1])
    assert loss[-1] == pytest.approx(objective(model, small.toarray(), reg, alpha), rel=1e-5)


def test_cg_history_tracks_the_objective(small):
    reg, alpha = 0.05, 4.0
    model = ImplicitALS(factors=5, reg=reg, alpha=alpha, iterations=8, random_state=0).fit(small)
    loss = model.history_["loss"]
    assert loss[-1] < loss[0]
    assert loss[-1] == pytest.approx(objective(model, small.toarray(), reg, alpha), rel=1e-4)
    assert model.history_["iteration"] == list(range(1, 9))
    assert len(model.history_["seconds"]) == 8


def test_cg_fit_approaches_the_cholesky_fit_as_steps_grow(small):
    exact = ImplicitALS(factors=4, iterations=3, solver="cholesky", random_state=0).fit(small)
    distances = []
    for steps in (1, 2, 4):
        model = ImplicitALS(factors=4, iterations=3, cg_steps=steps, random_state=0).fit(small)
        distances.append(np.abs(model.item_factors_ - exact.item_factors_).max())
    assert distances[0] > distances[1] > distances[2]
    assert distances[2] < 1e-3 * np.abs(exact.item_factors_).max()  # 4 = factors steps: exact up to rounding


@pytest.mark.parametrize("solver", ["cg", "cholesky"])
def test_planted_blocks_are_ranked_correctly(solver):
    train, relevant = planted()
    model = ImplicitALS(factors=8, reg=0.1, alpha=5.0, iterations=10, solver=solver, random_state=0).fit(train)
    assert holdout_auc(model, train, relevant) > 0.95
    ids, _ = model.recommend(0, n=5)
    assert np.all(ids // 15 == 0)  # user 0 is in group 0


def test_fixed_seed_is_bitwise_reproducible_whatever_the_threads(small):
    fits = [ImplicitALS(factors=6, iterations=4, random_state=7, n_threads=t).fit(small) for t in (1, 2, 2)]
    for other in fits[1:]:
        np.testing.assert_array_equal(fits[0].user_factors_, other.user_factors_)
        np.testing.assert_array_equal(fits[0].item_factors_, other.item_factors_)
        assert fits[0].history_["loss"] == other.history_["loss"]
    different = ImplicitALS(factors=6, iterations=4, random_state=8).fit(small)
    assert not np.array_equal(fits[0].item_factors_, different.item_factors_)


def test_factors_are_float32_and_state_names(small):
    model = ImplicitALS(factors=3, iterations=2, random_state=0).fit(small)
    assert model.user_factors_.dtype == np.float32 and model.user_factors_.shape == (40, 3)
    assert model.item_factors_.dtype == np.float32 and model.item_factors_.shape == (25, 3)
    assert len(model.user_map_) == 40 and len(model.item_map_) == 25
    assert (model.user_items_ != small.astype(np.float32)).nnz == 0


def test_ratings_and_sparse_inputs_agree(small):
    coo = small.tocoo()
    ratings = mf.Ratings(coo.row, coo.col, coo.data)
    a = ImplicitALS(factors=3, iterations=3, random_state=0).fit(small)
    b = ImplicitALS(factors=3, iterations=3, random_state=0).fit(ratings)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)


def test_binarize_keeps_values_at_or_above_the_threshold():
    rng = np.random.default_rng(0)
    users, items = rng.integers(0, 30, 400), rng.integers(0, 20, 400)
    stars = rng.integers(1, 6, 400).astype(float)
    data = mf.Ratings(users, items, stars, duplicates="last")
    model = ImplicitALS(factors=3, iterations=3, binarize=4, random_state=0).fit(data)
    keep = data.values >= 4
    ones = mf.Ratings._from_canonical(data.user_map, data.item_map, data.user_indices[keep],
                                      data.item_indices[keep], np.ones(int(keep.sum()), np.float32), None, True)
    reference = ImplicitALS(factors=3, iterations=3, random_state=0).fit(ones)
    np.testing.assert_array_equal(model.item_factors_, reference.item_factors_)
    assert (model.user_items_ != data.to_csr()).nnz == 0  # history keeps the ratings as given


def test_zero_values_count_as_missing_cells():
    rng = np.random.default_rng(4)
    M = random_csr(rng, 20, 15, 0.4)
    users, items = M.nonzero()
    extra_u, extra_i = np.array([0, 3, 7]), np.array([14, 2, 9])
    free = M.toarray()[extra_u, extra_i] == 0
    extra_u, extra_i = extra_u[free], extra_i[free]
    with_zeros = mf.Ratings(np.r_[users, extra_u], np.r_[items, extra_i], np.r_[M.data, np.zeros(extra_u.size)])
    plain = mf.Ratings(users, items, M.data)
    a = ImplicitALS(factors=3, iterations=3, solver="cholesky", random_state=0).fit(with_zeros)
    b = ImplicitALS(factors=3, iterations=3, solver="cholesky", random_state=0).fit(plain)
    np.testing.assert_allclose(a.item_factors_, b.item_factors_, rtol=1e-6)


def test_users_and_items_without_positives_get_zero_vectors():
    data = mf.Ratings([0, 0, 1, 1, 2, 3], [0, 1, 1, 2, 0, 3], [2.0, 5.0, 1.0, 4.0, 2.0, 1.0])
    model = ImplicitALS(factors=2, iterations=3, binarize=4, random_state=0).fit(data)
    assert np.all(model.user_factors_[[2, 3]] == 0) and np.all(model.item_factors_[[0, 3]] == 0)
    assert np.any(model.user_factors_[0] != 0)
    ids, scores = model.recommend(3, n=2)  # a history without positives: known, but scores are all 0
    assert ids.size == 2 and np.all(scores == 0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ids, _ = model.recommend(99, n=2)  # unknown user: cold-start ranking by number of positives
    assert any(issubclass(w.category, mf.models.recommender.ColdStartWarning) for w in caught)
    assert ids[0] == 1


# ---------------------------------------------------------------- fold-in, explanations, persistence
def test_fold_in_is_the_exact_solution_given_the_item_factors(small):
    reg, alpha = 0.05, 3.0
    model = ImplicitALS(factors=4, reg=reg, alpha=alpha, iterations=5, random_state=0).fit(small)
    items, values = np.array([2, 5, 11]), np.array([1.0, 4.0, 2.0])
    x, bias = model.fold_in(items, values)
    D = np.zeros((1, 25))
    D[0, items] = values
    expected = dense_solution(D, model.item_factors_.astype(np.float64), reg, alpha)[0]
    np.testing.assert_allclose(x, expected, rtol=1e-4, atol=1e-6)
    assert bias == 0.0 and x.dtype == np.float32
    np.testing.assert_array_equal(model.fold_in(items)[0], model.fold_in(items, np.ones(3))[0])


def test_partial_fit_users_adds_the_folded_in_user(small):
    model = ImplicitALS(factors=4, iterations=3, random_state=0).fit(small)
    x, _ = model.fold_in([1, 4, 9], [2.0, 1.0, 3.0])
    model.partial_fit_users([1000, 1000, 1000], [1, 4, 9], [2.0, 1.0, 3.0])
    np.testing.assert_allclose(model.user_factors_[-1], x, rtol=1e-6)


def test_fold_in_rejects_negative_confidences(small):
    model = ImplicitALS(factors=2, iterations=1, random_state=0).fit(small)
    with pytest.raises(ValueError, match="negative"):
        model.fold_in([1, 2], [1.0, -1.0])


def test_explain_contributions_sum_to_the_fold_in_score(small):
    model = ImplicitALS(factors=4, reg=0.1, alpha=2.0, iterations=4, random_state=0).fit(small)
    user = 3
    cols = small.indices[small.indptr[user]:small.indptr[user + 1]]
    x, _ = model.fold_in(cols, small.data[small.indptr[user]:small.indptr[user + 1]])
    explanation = model.explain(user, 0, n=100)
    assert explanation.baseline == 0.0
    assert explanation.total == pytest.approx(float(x @ model.item_factors_[0]), rel=1e-4, abs=1e-6)
    assert sorted(explanation.items.tolist()) == sorted(cols.tolist())


def test_save_and_load_round_trip(tmp_path, small):
    model = ImplicitALS(factors=3, iterations=2, alpha=2.5, random_state=0).fit(small)
    path = model.save(tmp_path / "als.npz")
    loaded = mf.load(path)
    assert type(loaded) is ImplicitALS and loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.user_factors_, model.user_factors_)
    np.testing.assert_array_equal(loaded.item_factors_, model.item_factors_)
    assert loaded.history_ == model.history_
    np.testing.assert_array_equal(loaded.recommend([0, 1], n=4)[0], model.recommend([0, 1], n=4)[0])
    np.testing.assert_allclose(loaded.fold_in([1, 2])[0], model.fold_in([1, 2])[0])


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"alpha": 0.0}, ValueError, "alpha"),
        ({"alpha": -1.0}, ValueError, "alpha"),
        ({"factors": 0}, ValueError, "factors"),
        ({"factors": 2.5}, TypeError, "factors"),
        ({"reg": -0.1}, ValueError, "reg"),
        ({"iterations": 0}, ValueError, "iterations"),
        ({"solver": "lu"}, ValueError, "solver"),
        ({"cg_steps": 0}, ValueError, "cg_steps"),
        ({"binarize": "4"}, TypeError, "binarize"),
        ({"binarize": float("nan")}, ValueError, "binarize"),
        ({"n_threads": 0}, ValueError, "n_threads"),
        ({"verbose": -1}, ValueError, "verbose"),
        ({"random_state": "seed"}, TypeError, "random_state"),
    ],
)
def test_invalid_parameters_are_rejected_at_fit(small, params, error, match):
    with pytest.raises(error, match=match):
        ImplicitALS(**params).fit(small)


def test_negative_confidences_are_rejected():
    with pytest.raises(ValueError, match="negative values"):
        ImplicitALS().fit(mf.Ratings([0, 1], [0, 1], [1.0, -2.0]))


def test_nan_values_are_rejected():
    m = sp.csr_matrix(np.array([[1.0, np.nan], [0.0, 2.0]]))
    with pytest.raises(ValueError, match="NaN"):
        ImplicitALS().fit(m)


def test_nothing_to_learn_is_rejected():
    with pytest.raises(ValueError, match="binarize=6"):
        ImplicitALS(binarize=6).fit(mf.Ratings([0, 1], [0, 1], [1.0, 5.0]))
    with pytest.raises(ValueError, match="no positive"):
        ImplicitALS().fit(mf.Ratings([0, 1], [0, 1], [0.0, 0.0]))


def test_y_and_unsupported_inputs_are_rejected(small):
    with pytest.raises(TypeError, match="takes no y"):
        ImplicitALS().fit(small, np.ones(small.nnz))
    with pytest.raises(TypeError, match="X must be"):
        ImplicitALS().fit("ratings.csv")


def test_unfitted_model_raises():
    with pytest.raises(mf.NotFittedError):
        ImplicitALS().recommend(1)


def test_verbose_prints_one_line_per_iteration(small, capsys):
    ImplicitALS(factors=2, iterations=3, verbose=1, random_state=0).fit(small)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("Iteration 1/3")


@settings(max_examples=30, deadline=None)
@given(k=st.integers(1, 11), seed=st.integers(0, 2**31))
def test_cholesky_solve_equals_numpy_and_rejects_indefinite_matrices(k, seed):
    rng = np.random.default_rng(seed)
    R = rng.normal(size=(k + 3, k))
    A = R.T @ R + 0.1 * np.eye(k)
    b = rng.normal(size=k)
    work, x = A.copy(), b.copy()
    assert cholesky_solve(work, x, k)
    np.testing.assert_allclose(x, np.linalg.solve(A, b), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(np.tril(work) @ np.tril(work).T, A, rtol=1e-10, atol=1e-10)
    A[k // 2, k // 2] = -1.0
    assert not cholesky_solve(A.copy(), b.copy(), k)
