"""ItemKNN: the kNN-baseline model against a dense reference written from its definition."""

import numpy as np
import pytest

import mf
from mf.models import ItemKNN
from mf.similarity import item_similarity


def random_data(n_users=15, n_items=10, density=0.6, seed=0):
    rng = np.random.default_rng(seed)
    observed = rng.random((n_users, n_items)) < density
    observed[:, 0] = True
    observed[0] = True
    D = np.where(observed, rng.uniform(1, 5, (n_users, n_items)), 0.0)
    users, items = np.nonzero(observed)
    return D, observed, mf.Ratings(users, items, D[users, items])


def reference(D, observed, k, shrinkage, min_support, min_k, baseline, reg_user=15.0, reg_item=10.0, epochs=10):
    """Predictions for every (user, item) cell, straight from the kNN-baseline definition."""
    n_users, n_items = D.shape
    mu = D[observed].mean()
    bu, bi = np.zeros(n_users), np.zeros(n_items)
    for _ in range(epochs):
        for i in range(n_items):
            raters = observed[:, i]
            bi[i] = (D[raters, i] - mu - bu[raters]).sum() / (reg_item + raters.sum())
        for u in range(n_users):
            rated = observed[u]
            bu[u] = (D[u, rated] - mu - bi[rated]).sum() / (reg_user + rated.sum())
    base = mu + bu[:, None] + bi[None, :]
    X = D - base
    sim = np.zeros((n_items, n_items))
    for i in range(n_items):
        for j in range(n_items):
            co = observed[:, i] & observed[:, j]
            n = co.sum()
            if i == j or n == 0 or n < min_support:
                continue
            den = np.sqrt((X[co, i] ** 2).sum() * (X[co, j] ** 2).sum())
            if den > 0:
                sim[i, j] = (X[co, i] * X[co, j]).sum() / den
                if shrinkage > 0:
                    sim[i, j] *= (n - 1) / (n - 1 + shrinkage)
    pred = np.zeros((n_users, n_items))
    for u in range(n_users):
        for i in range(n_items):
            rated = [j for j in np.flatnonzero(observed[u]) if j != i]
            top = sorted(rated, key=lambda j: -sim[i, j])[:k]
            use = [j for j in top if sim[i, j] > 0]
            values = X[u] if baseline else D[u]
            fallback = base[u, i] if baseline else mu
            s = sim[i, use]
            if len(use) >= min_k and s.sum() > 0:
                pred[u, i] = (base[u, i] if baseline else 0.0) + (s @ values[use]) / s.sum()
            else:
                pred[u, i] = fallback
    return pred, sim, bu, bi


@pytest.mark.parametrize(
    "k, shrinkage, min_support, min_k, baseline, seed",
    [(40, 100, 1, 1, True, 0), (3, 0, 1, 1, True, 1), (2, 5, 3, 2, True, 2), (4, 10, 1, 1, False, 3),
     (1, 0, 2, 1, False, 4)],
)
def test_predictions_equal_the_dense_reference(k, shrinkage, min_support, min_k, baseline, seed):
    D, observed, data = random_data(seed=seed)
    model = ItemKNN(k=k, shrinkage=shrinkage, min_support=min_support, min_k=min_k, baseline=baseline,
                    max_neighbors=50, n_threads=2).fit(data)
    pred, sim, bu, bi = reference(D, observed, k, shrinkage, min_support, min_k, baseline)
    np.testing.assert_allclose(model.user_bias_, bu, atol=1e-6)
    np.testing.assert_allclose(model.item_bias_, bi, atol=1e-6)
    np.testing.assert_allclose(model.similarity_matrix().toarray(), np.where(sim > 0, sim, 0), atol=1e-6)
    users, items = np.meshgrid(np.arange(D.shape[0]), np.arange(D.shape[1]), indexing="ij")
    got = model.predict(users.ravel(), items.ravel(), clip=False).reshape(D.shape)
    np.testing.assert_allclose(got, pred, atol=1e-5)


def test_neighbour_lists_are_positive_sorted_and_capped():
    _, _, data = random_data(n_users=30, n_items=20, seed=5)
    full = ItemKNN(max_neighbors=100, shrinkage=0).fit(data)
    capped = ItemKNN(max_neighbors=3, shrinkage=0).fit(data)
    for model in (full, capped):
        ptr, sims = model.neighbor_indptr_, model.neighbor_similarities_
        assert (sims > 0).all()
        for i in range(20):
            row = sims[ptr[i]:ptr[i + 1]]
            assert (np.diff(row) <= 0).all()
            assert i not in model.neighbor_indices_[ptr[i]:ptr[i + 1]]
    assert np.diff(capped.neighbor_indptr_).max() <= 3
    for i in range(20):
        lo, hi = capped.neighbor_indptr_[i], capped.neighbor_indptr_[i + 1]
        flo = full.neighbor_indptr_[i]
        np.testing.assert_array_equal(capped.neighbor_indices_[lo:hi], full.neighbor_indices_[flo:flo + hi - lo])


@pytest.mark.parametrize("metric", ["cosine", "adjusted_cosine", "pearson"])
def test_other_metrics_use_mf_similarity(metric):
    _, _, data = random_data(n_users=30, n_items=20, seed=6)
    model = ItemKNN(metric=metric, max_neighbors=7, shrinkage=3).fit(data)
    S = item_similarity(data, metric, k=7, shrinkage=3).toarray()
    np.testing.assert_allclose(model.similarity_matrix().toarray(), np.where(S > 0, S, 0), atol=1e-7)


def test_similar_items_reads_the_neighbour_lists():
    _, _, data = random_data(n_users=30, n_items=20, seed=7)
    model = ItemKNN(shrinkage=0).fit(data)
    S = model.similarity_matrix().toarray()
    ids, sims = model.similar_items(np.arange(20), n=4)
    for i in range(20):
        order = np.argsort(-S[i], kind="stable")[:4]
        order = order[S[i, order] > 0]
        np.testing.assert_array_equal(ids[i][: order.size], order)
        np.testing.assert_allclose(sims[i][: order.size], S[i, order])
        assert (ids[i][order.size:] == -1).all()


def test_similar_users_is_the_cosine_of_residual_vectors():
    D, observed, data = random_data(n_users=25, n_items=12, seed=8)
    model = ItemKNN().fit(data)
    X = np.where(observed, D - model.global_mean_ - model.user_bias_[:, None] - model.item_bias_[None, :], 0.0)
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    C = unit @ unit.T
    np.fill_diagonal(C, -np.inf)
    ids, sims = model.similar_users(np.arange(25), n=5)
    np.testing.assert_allclose(sims, -np.sort(-C, axis=1)[:, :5], atol=1e-5)
    np.testing.assert_allclose(np.take_along_axis(C, ids.astype(np.int64), axis=1), sims, atol=1e-5)


def test_exact_ties_go_to_the_earlier_item():
    D, observed, _ = random_data(n_users=20, n_items=8, seed=9)
    D = np.hstack([D, D[:, [3]]])
    observed = np.hstack([observed, observed[:, [3]]])
    observed[1, [3, 8]] = False
    users, items = np.nonzero(observed)
    model = ItemKNN(k=3, shrinkage=1).fit(mf.Ratings(users, items, D[users, items]))
    ids, scores = model.recommend(np.arange(20), n=9, exclude_seen=False)
    for u in range(20):
        pos3, pos8 = list(ids[u]).index(3), list(ids[u]).index(8)
        assert scores[u, pos3] == scores[u, pos8]
        assert pos3 < pos8
    assert 3 in model.recommend(1, n=9)[0] and 8 in model.recommend(1, n=9)[0]


def test_unknown_users_and_items():
    _, _, data = random_data(seed=10)
    model = ItemKNN().fit(data)
    mu, bu, bi = model.global_mean_, model.user_bias_, model.item_bias_
    got = model.predict([0, 99, 99], [99, 2, 98], clip=False)
    np.testing.assert_allclose(got, [mu + bu[0], mu + bi[2], mu], rtol=1e-6)
    assert np.isnan(model.set_params(unknown="nan").predict([99], [2])).all()
    with pytest.raises(KeyError, match="99"):
        model.set_params(unknown="raise").predict([99], [2])


@pytest.mark.parametrize(
    "params, error, match",
    [({"k": 0}, ValueError, "k must be >= 1"), ({"metric": "jaccard"}, ValueError, "metric must be one of"),
     ({"min_k": 5, "k": 2}, ValueError, "min_k must be <= k"), ({"baseline": "yes"}, TypeError, "baseline"),
     ({"reg_item": -1.0}, ValueError, "reg_item"), ({"max_neighbors": 0}, ValueError, "max_neighbors"),
     ({"shrinkage": float("nan")}, ValueError, "shrinkage"), ({"unknown": "skip"}, ValueError, "unknown")],
)
def test_bad_parameters(params, error, match):
    _, _, data = random_data()
    with pytest.raises(error, match=match):
        ItemKNN(**params).fit(data)


def test_implicit_data_is_rejected():
    with pytest.raises(ValueError, match="implicit"):
        ItemKNN().fit(mf.Ratings([1, 2], [3, 4]))
