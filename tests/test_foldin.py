"""Fold-in of new users, partial fits and explanations: exact math against the ALS ridge solve."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mf
from mf.models import ItemKNN, MatrixFactorization

from planted import planted

DATA = planted(rank=4, noise=0.3)


@pytest.fixture(scope="module")
def converged():
    model = MatrixFactorization(factors=4, solver="als", reg=0.1, epochs=60, random_state=0).fit(DATA)
    assert model.history_["train_rmse"][-2] - model.history_["train_rmse"][-1] < 1e-6
    return model


def history(model, user):
    csr = model.user_items_
    u = model.user_map_.index(user)
    lo, hi = csr.indptr[u], csr.indptr[u + 1]
    return model.item_map_.ids[csr.indices[lo:hi]], csr.data[lo:hi]


def ridge_reference(model, items, ratings, reg, reg_bias, biases):
    """The weighted-lambda ridge solution for one user, straight from the normal equations."""
    cols = model.item_map_.index(items)
    Y = model.item_factors_[cols].astype(np.float64)
    t = np.asarray(ratings, dtype=np.float64) - model.global_mean_ - model.item_bias_[cols]
    penalty = np.full(Y.shape[1], reg * cols.size)
    if biases:
        Y = np.hstack([Y, np.ones((cols.size, 1))])
        penalty = np.append(penalty, reg_bias * cols.size)
    x = np.linalg.solve(Y.T @ Y + np.diag(penalty), Y.T @ t)
    return (x[:-1], x[-1]) if biases else (x, 0.0)


def test_fold_in_of_a_training_user_reproduces_converged_als_factors(converged):
    for user in DATA.user_ids:
        vector, bias = converged.fold_in(*history(converged, user))
        u = converged.user_map_.index(user)
        np.testing.assert_allclose(vector, converged.user_factors_[u], atol=1e-4)
        assert bias == pytest.approx(float(converged.user_bias_[u]), abs=1e-4)


def test_recommend_for_a_training_user_equals_recommend(converged):
    for user in DATA.user_ids[:10]:
        ids, scores = converged.recommend(user, n=8)
        ids2, scores2 = converged.recommend_for(*history(converged, user), n=8)
        np.testing.assert_array_equal(ids, ids2)
        np.testing.assert_allclose(scores, scores2, atol=1e-4)


@settings(max_examples=30, deadline=None)
@given(
    solver=st.sampled_from(["als", "sgd", "adam"]),
    biases=st.booleans(),
    reg=st.floats(0.01, 1.0),
    reg_bias=st.none() | st.floats(0.01, 1.0),
    size=st.integers(1, 12),
    seed=st.integers(0, 2**31),
)
def test_fold_in_is_the_ridge_solution_for_any_solver(solver, biases, reg, reg_bias, size, seed):
    model = MatrixFactorization(factors=3, solver=solver, epochs=2, reg=reg, reg_bias=reg_bias, biases=biases,
                                random_state=0, n_threads=1).fit(DATA)
    rng = np.random.default_rng(seed)
    items = rng.choice(DATA.item_ids, size=size, replace=False)
    ratings = rng.uniform(1, 5, size)
    vector, bias = model.fold_in(items, ratings)
    ref_vector, ref_bias = ridge_reference(model, items, ratings, reg, reg if reg_bias is None else reg_bias, biases)
    assert vector.dtype == np.float32 and vector.shape == (3,)
    np.testing.assert_allclose(vector, ref_vector, rtol=1e-4, atol=1e-4)
    assert bias == pytest.approx(ref_bias, abs=1e-4)
    if not biases:
        assert bias == 0.0


def test_partial_fit_of_several_users_equals_their_fold_ins():
    rng = np.random.default_rng(3)
    users, items, ratings = [], [], []
    for name in ("ann", "bob", "cy"):
        chosen = rng.choice(DATA.item_ids, size=5, replace=False)
        users += [name] * 5
        items += list(chosen)
        ratings += list(rng.uniform(1, 5, 5))
    model = MatrixFactorization(factors=4, reg=0.1, epochs=3, random_state=1).fit(
        mf.Ratings(DATA.users.astype(str), DATA.items, DATA.values))
    before = model.user_factors_.copy()
    model.partial_fit_users(users, items, ratings)
    np.testing.assert_array_equal(model.user_factors_[: before.shape[0]], before)
    for q, name in enumerate(("ann", "bob", "cy")):
        vector, bias = model.fold_in(items[5 * q: 5 * q + 5], ratings[5 * q: 5 * q + 5])
        u = model.user_map_.index(name)
        np.testing.assert_array_equal(model.user_factors_[u], vector)
        assert float(model.user_bias_[u]) == bias


def test_explain_is_the_exact_decomposition_of_the_ridge_solve(converged):
    user, item = DATA.user_ids[3], DATA.item_ids[7]
    e = converged.explain(user, item, n=3)
    full = converged.explain(user, item, n=1000)
    items, ratings = history(converged, user)
    assert sorted(full.items.tolist()) == sorted(items.tolist())
    np.testing.assert_array_equal(e.items, full.items[:3])
    i = converged.item_map_.index(item)
    assert full.baseline == pytest.approx(converged.global_mean_ + float(converged.item_bias_[i]))
    vector, bias = converged.fold_in(items, ratings)
    user_part = float(vector @ converged.item_factors_[i] + bias)
    assert full.contributions.sum() == pytest.approx(user_part, abs=1e-5)
    predicted = float(converged.predict([user], [item], clip=False)[0])
    assert full.total == pytest.approx(predicted, abs=1e-4)


def test_explain_without_biases_sums_to_the_dot_product():
    model = MatrixFactorization(factors=3, biases=False, reg=0.1, epochs=60, random_state=0).fit(DATA)
    user, item = DATA.user_ids[5], DATA.item_ids[2]
    e = model.explain(user, item, n=1000)
    u, i = model.user_map_.index(user), model.item_map_.index(item)
    assert e.baseline == pytest.approx(model.global_mean_)
    dot = float(model.user_factors_[u] @ model.item_factors_[i])
    assert e.contributions.sum() == pytest.approx(dot, abs=1e-4)


def test_fold_in_needs_a_positive_reg():
    model = MatrixFactorization(factors=2, solver="sgd", reg=0.0, epochs=2, random_state=0).fit(DATA)
    with pytest.raises(ValueError, match="reg > 0"):
        model.fold_in(DATA.item_ids[:3], [3.0, 4.0, 5.0])


def test_itemknn_fold_in_of_a_training_user_reproduces_its_baseline():
    model = ItemKNN(k=10, shrinkage=10).fit(DATA)
    for user in DATA.user_ids[:15]:
        vector, bias = model.fold_in(*history(model, user))
        assert vector.shape == (0,)
        assert bias == pytest.approx(float(model.user_bias_[model.user_map_.index(user)]), abs=1e-5)
        ids, scores = model.recommend(user, n=6)
        ids2, scores2 = model.recommend_for(*history(model, user), n=6)
        np.testing.assert_array_equal(ids, ids2)
        np.testing.assert_allclose(scores, scores2, atol=1e-5)
