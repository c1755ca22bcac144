import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import mf
from mf.similarity import item_similarity, user_similarity


def dense_similarity(D, observed, metric, shrinkage, min_support):
    """Item x item similarities of a dense users x items matrix, straight from the definitions.

    Returns (sim, eligible): eligible marks pairs that pass min_support, are not
    the diagonal, and have a nonzero similarity.
    """
    n_users, n_items = D.shape
    X = np.where(observed, D, 0.0)
    if metric == "adjusted_cosine":
        counts = observed.sum(axis=1)
        means = X.sum(axis=1) / np.maximum(counts, 1)
        X = np.where(observed, D - means[:, None], 0.0)
    support = observed.T.astype(float) @ observed.astype(float)
    sim = np.zeros((n_items, n_items))
    if metric in ("cosine", "adjusted_cosine"):
        norms = np.sqrt((X**2).sum(axis=0))
        for i in range(n_items):
            for j in range(n_items):
                if norms[i] > 0 and norms[j] > 0:
                    sim[i, j] = X[:, i] @ X[:, j] / (norms[i] * norms[j])
    else:
        for i in range(n_items):
            for j in range(n_items):
                co = observed[:, i] & observed[:, j]
                if co.sum() == 0:
                    continue
                x = D[co, i] - D[co, i].mean()
                y = D[co, j] - D[co, j].mean()
                den = np.sqrt((x**2).sum() * (y**2).sum())
                if den > 0:
                    sim[i, j] = (x * y).sum() / den
    sim = sim * np.divide(support, support + shrinkage, out=np.zeros_like(support), where=support > 0)
    eligible = (support >= min_support) & (support > 0) & ~np.eye(n_items, dtype=bool) & (np.abs(sim) > 1e-9)
    return sim, eligible


def check_against_reference(S, sim, eligible, k, atol=1e-5):
    S = S.tocsr()
    assert S.dtype == np.float32
    assert S.has_sorted_indices
    for i in range(S.shape[0]):
        cols = S.indices[S.indptr[i]:S.indptr[i + 1]]
        vals = S.data[S.indptr[i]:S.indptr[i + 1]]
        assert (np.diff(cols) > 0).all()
        assert i not in cols
        np.testing.assert_allclose(vals, sim[i, cols], atol=atol)
        assert (vals != 0).all()
        n_big = int(eligible[i].sum())
        assert min(k, n_big) <= cols.size <= k
        rest = np.setdiff1d(np.flatnonzero(eligible[i]), cols)
        if rest.size and cols.size:
            assert vals.min() >= sim[i, rest].max() - atol


@st.composite
def rating_data(draw):
    n_users = draw(st.integers(1, 8))
    n_items = draw(st.integers(1, 8))
    cells = draw(st.lists(st.booleans(), min_size=n_users * n_items, max_size=n_users * n_items))
    observed = np.array(cells).reshape(n_users, n_items)
    if not observed.any():
        observed[0, 0] = True
    values = np.array(draw(st.lists(st.sampled_from([1.0, 2.0, 3.5, 4.0, 5.0]),
                                    min_size=n_users * n_items, max_size=n_users * n_items)))
    D = values.reshape(n_users, n_items)
    u, i = np.nonzero(observed)
    ratings = mf.Ratings(u, i, D[u, i])
    # map the dense matrix onto the ratings' id maps (ids are the dense positions, sorted)
    D = D[np.ix_(ratings.user_ids, ratings.item_ids)]
    observed = observed[np.ix_(ratings.user_ids, ratings.item_ids)]
    return ratings, D, observed


@settings(max_examples=40, deadline=None)
@given(
    rating_data(),
    st.sampled_from(["cosine", "adjusted_cosine", "pearson"]),
    st.integers(1, 8),
    st.sampled_from([0.0, 2.5, 100.0]),
    st.integers(1, 3),
)
def test_item_similarity_equals_dense_reference(data, metric, k, shrinkage, min_support):
    ratings, D, observed = data
    S = item_similarity(ratings, metric=metric, k=k, shrinkage=shrinkage, min_support=min_support)
    assert S.shape == (ratings.n_items, ratings.n_items)
    sim, eligible = dense_similarity(D, observed, metric, shrinkage, min_support)
    check_against_reference(S, sim, eligible, k)


@settings(max_examples=25, deadline=None)
@given(rating_data(), st.sampled_from(["cosine", "adjusted_cosine", "pearson"]), st.integers(1, 8))
def test_user_similarity_is_item_similarity_of_the_transpose(data, metric, k):
    ratings, _, _ = data
    swapped = mf.Ratings(ratings.items, ratings.users, ratings.values)
    a = user_similarity(ratings, metric=metric, k=k, shrinkage=1.0)
    b = item_similarity(swapped, metric=metric, k=k, shrinkage=1.0)
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.data, b.data)


def test_larger_random_data_all_metrics_and_thread_counts():
    rng = np.random.default_rng(3)
    n_users, n_items = 120, 60
    observed = rng.random((n_users, n_items)) < 0.15
    D = rng.integers(1, 11, size=(n_users, n_items)) / 2.0
    u, i = np.nonzero(observed)
    ratings = mf.Ratings(u, i, D[u, i])
    D = D[np.ix_(ratings.user_ids, ratings.item_ids)]
    observed = observed[np.ix_(ratings.user_ids, ratings.item_ids)]
    for metric in ("cosine", "adjusted_cosine", "pearson"):
        S1 = item_similarity(ratings, metric=metric, k=7, shrinkage=10, min_support=2, n_threads=1)
        S2 = item_similarity(ratings, metric=metric, k=7, shrinkage=10, min_support=2, n_threads=2)
        assert (S1 != S2).nnz == 0
        sim, eligible = dense_similarity(D, observed, metric, 10, 2)
        check_against_reference(S1, sim, eligible, 7)


def test_hand_computed_cosine_and_pearson():
    # users x items, 0 = missing
    #        i0 i1 i2
    # u0      5  3  0
    # u1      4  0  4
    # u2      1  1  5
    r = mf.Ratings([0, 0, 1, 1, 2, 2, 2], [0, 1, 0, 2, 0, 1, 2], [5, 3, 4, 4, 1, 1, 5])
    S = item_similarity(r, metric="cosine", k=2, shrinkage=0).toarray()
    # cos(i0, i1) = (15 + 1) / (sqrt(42) sqrt(10))
    assert S[0, 1] == pytest.approx(16 / np.sqrt(420), rel=1e-6)
    # cos(i0, i2) = (16 + 5) / (sqrt(42) sqrt(41))
    assert S[0, 2] == pytest.approx(21 / np.sqrt(42 * 41), rel=1e-6)
    S = item_similarity(r, metric="pearson", k=2, shrinkage=0).toarray()
    # i0, i1 co-rated by u0, u2: (5, 1) vs (3, 1): perfectly correlated
    assert S[0, 1] == pytest.approx(1.0, rel=1e-6)
    # i0, i2 co-rated by u1, u2: (4, 1) vs (4, 5): perfectly anti-correlated
    assert S[0, 2] == pytest.approx(-1.0, rel=1e-6)
    # i1, i2 co-rated by u2 only: one pair has no variance -> 0, not stored
    assert S[1, 2] == 0 and S[2, 1] == 0
    S = item_similarity(r, metric="pearson", k=2, shrinkage=2).toarray()
    assert S[0, 1] == pytest.approx(2 / 4, rel=1e-6)
    S = item_similarity(r, metric="pearson", k=2, shrinkage=0, min_support=3).toarray()
    assert not S.any()


def test_adjusted_cosine_hand_computed():
    # user means: u0 = 4, u1 = 2; centred: u0 -> (+1, -1), u1 -> (+1, -1)
    r = mf.Ratings([0, 0, 1, 1], ["a", "b", "a", "b"], [5, 3, 3, 1])
    S = item_similarity(r, metric="adjusted_cosine", k=1, shrinkage=0).toarray()
    np.testing.assert_allclose(S, [[0, -1], [-1, 0]], atol=1e-7)
    S = user_similarity(r, metric="adjusted_cosine", k=1, shrinkage=0).toarray()
    # item means: a = 4, b = 2; centred: u0 -> (+1, +1), u1 -> (-1, -1)
    np.testing.assert_allclose(S, [[0, -1], [-1, 0]], atol=1e-7)


def test_k_keeps_the_best_and_breaks_ties_by_lower_index():
    # item 0 is identical to items 1, 2 and 3 (cosine 1 with each)
    r = mf.Ratings([0, 0, 0, 0, 1, 1, 1, 1], [0, 1, 2, 3, 0, 1, 2, 3], [1.0] * 8)
    S = item_similarity(r, k=2, shrinkage=0)
    assert S[0].indices.tolist() == [1, 2]
    assert S[3].indices.tolist() == [0, 1]


def test_items_without_ratings_have_empty_rows_and_ids_are_returned():
    r = mf.Ratings([1, 1, 2, 2, 3], ["a", "b", "a", "b", "c"], [5, 4, 4, 5, 1])
    s = r.subset(r.items != "c")
    S, ids = item_similarity(s, k=5, shrinkage=0, return_ids=True)
    assert ids.tolist() == ["a", "b", "c"]
    assert S.shape == (3, 3) and S[2].nnz == 0 and S[:, 2].nnz == 0
    U, uids = user_similarity(s, k=5, shrinkage=0, return_ids=True)
    assert uids.tolist() == [1, 2, 3] and U[2].nnz == 0


def test_implicit_data_cosine_and_pearson():
    r = mf.Ratings([0, 0, 1, 1, 2], [0, 1, 0, 1, 1])
    S = item_similarity(r, k=1, shrinkage=0).toarray()
    assert S[0, 1] == pytest.approx(2 / np.sqrt(2 * 3), rel=1e-6)
    assert item_similarity(r, metric="pearson", k=1).nnz == 0


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"k": 0}, ValueError, "k must be a positive integer"),
        ({"k": -3}, ValueError, "k must be"),
        ({"k": 2.0}, ValueError, "k must be"),
        ({"metric": "jaccard"}, ValueError, "metric must be one of"),
        ({"shrinkage": -1}, ValueError, "shrinkage"),
        ({"shrinkage": float("nan")}, ValueError, "shrinkage"),
        ({"min_support": 0}, ValueError, "min_support"),
        ({"n_threads": 0}, ValueError, "n_threads"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    r = mf.Ratings([0, 0, 1], [0, 1, 1], [1.0, 2.0, 3.0])
    with pytest.raises(error, match=match):
        item_similarity(r, **kwargs)
    with pytest.raises(error, match=match):
        user_similarity(r, **kwargs)


@pytest.mark.parametrize("bad", [sp.csr_matrix(np.eye(3)), np.eye(3), ([0, 1], [0, 1], [1.0, 2.0])])
def test_non_ratings_input(bad):
    with pytest.raises(TypeError, match="ratings must be mf.Ratings"):
        item_similarity(bad)
