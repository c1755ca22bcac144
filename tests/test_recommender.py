"""Conformance suite: every model must pass these recommendation tests.

Add a model by adding one entry to ``MODELS``: a name and a factory returning
an unfitted estimator. The model must implement ``predict(users, items,
clip=False)`` giving the scores ``recommend`` ranks by.
"""

import copy
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mf
from mf.exceptions import NotFittedError
from mf.models import BPR, ColdStartWarning, ImplicitALS, ItemKNN, MatrixFactorization

MODELS = {
    "mf-als": lambda: MatrixFactorization(factors=3, solver="als", epochs=10, reg=0.1, random_state=0, n_threads=1),
    "mf-sgd": lambda: MatrixFactorization(factors=3, solver="sgd", epochs=15, reg=0.05, random_state=0, n_threads=1),
    "mf-adam": lambda: MatrixFactorization(factors=3, solver="adam", epochs=10, random_state=0),
    "itemknn": lambda: ItemKNN(k=5, shrinkage=5, n_threads=1),
    "implicit-als": lambda: ImplicitALS(factors=3, iterations=10, reg=0.1, random_state=0, n_threads=1),
    "bpr": lambda: BPR(factors=3, epochs=30, lr=0.05, random_state=0, n_threads=1),
}

N_USERS, N_ITEMS = 40, 25
ITEM_IDS = np.array([f"m{j:02d}" for j in range(N_ITEMS)])
FULL_USER = 100  # rated every item
GHOST = 999  # in the id map through the test split, without a training rating


def make_data():
    rng = np.random.default_rng(0)
    U = rng.normal(size=(N_USERS, 3))
    V = rng.normal(size=(N_ITEMS, 3))
    dense = np.clip(np.round(3 + U @ V.T), 1, 5)
    mask = rng.random((N_USERS, N_ITEMS)) < 0.35
    mask[0] = True
    users, items = np.nonzero(mask)
    train = mf.Ratings(100 + users, ITEM_IDS[items], dense[users, items])
    return mf.split.predefined(train, ([GHOST], ["m01"], [3.0]))


DATA = make_data()
TRAIN = DATA[0]
WARM_USERS = TRAIN.user_ids[np.diff(TRAIN.to_csr().indptr) > 0]


MF_STATE = MatrixFactorization(factors=2, epochs=1, random_state=0).fit(TRAIN)


@pytest.fixture(scope="module", params=list(MODELS))
def fitted(request):
    return MODELS[request.param]().fit(TRAIN)


def seen_items(user):
    csr = TRAIN.to_csr()
    u = TRAIN.user_index(user)
    return csr.indices[csr.indptr[u]:csr.indptr[u + 1]]


def brute_force(model, user, exclude_seen=True, items=None, exclude=None):
    """Eligible item indices by a stable descending argsort of predicted scores, and all scores."""
    scores = model.predict(np.repeat(user, N_ITEMS), TRAIN.item_ids, clip=False).astype(np.float64)
    eligible = np.ones(N_ITEMS, dtype=bool)
    if items is not None:
        eligible &= np.isin(TRAIN.item_ids, items)
    if exclude is not None:
        eligible &= ~np.isin(TRAIN.item_ids, exclude)
    if exclude_seen:
        eligible[seen_items(user)] = False
    idx = np.flatnonzero(eligible)
    return idx[np.argsort(-scores[idx], kind="stable")], scores


def check_row(ids, scores, order, ref, width):
    """A returned row is a best-first top list of the eligible items (up to float rounding)."""
    valid = scores > -np.inf
    assert not (~valid[:-1] & valid[1:]).any(), "padding must come last"
    got = TRAIN.item_map.index(ids[valid]) if valid.any() else np.zeros(0, dtype=np.int64)
    assert got.size == min(width, order.size)
    assert np.isin(got, order).all()
    assert np.unique(got).size == got.size
    assert (np.diff(scores[valid]) <= 0).all()
    np.testing.assert_allclose(scores[valid], ref[got], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scores[valid], ref[order[: got.size]], rtol=1e-5, atol=1e-5)
    rest = np.setdiff1d(order, got)
    if got.size and rest.size:
        assert ref[rest].max() <= ref[got].min() + 1e-5


@st.composite
def queries(draw):
    users = draw(st.lists(st.sampled_from(list(WARM_USERS)), min_size=1, max_size=6))
    n = draw(st.integers(1, N_ITEMS + 3))
    exclude_seen = draw(st.booleans())
    ids = st.sampled_from(list(ITEM_IDS))
    items = draw(st.none() | st.lists(ids, max_size=12))
    exclude = draw(st.none() | st.lists(ids, max_size=12))
    return users, n, exclude_seen, items, exclude


# ---------------------------------------------------------------- top-N
@settings(max_examples=30, deadline=None)
@given(q=queries())
def test_batch_recommend_equals_brute_force(fitted, q):
    users, n, exclude_seen, items, exclude = q
    ids, scores = fitted.recommend(np.array(users), n=n, exclude_seen=exclude_seen, items=items, exclude=exclude)
    candidates = set(ITEM_IDS if items is None else items) - set(exclude or [])
    width = min(n, len(candidates))
    assert ids.shape == scores.shape == (len(users), width)
    assert scores.dtype == np.float32
    for row, user in enumerate(users):
        order, ref = brute_force(fitted, user, exclude_seen, items, exclude)
        check_row(ids[row], scores[row], order, ref, width)
        one_ids, one_scores = fitted.recommend(user, n=n, exclude_seen=exclude_seen, items=items, exclude=exclude)
        assert one_ids.shape == one_scores.shape == ((scores[row] > -np.inf).sum(),)
        check_row(one_ids, one_scores, order, ref, width)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31), q=queries())
def test_exact_ties_rank_by_item_order(seed, q):
    """Integer-valued factors make every score exact: the result must equal a stable argsort bit for bit."""
    users, n, exclude_seen, items, exclude = q
    rng = np.random.default_rng(seed)
    model = copy.deepcopy(MF_STATE)
    model.user_factors_ = rng.integers(-2, 3, model.user_factors_.shape).astype(np.float32)
    model.item_factors_ = rng.integers(-2, 3, model.item_factors_.shape).astype(np.float32)
    model.user_bias_ = rng.integers(-2, 3, model.user_bias_.shape).astype(np.float32)
    model.item_bias_ = rng.integers(-1, 2, model.item_bias_.shape).astype(np.float32)
    model.global_mean_ = 3.0
    ids, scores = model.recommend(np.array(users), n=n, exclude_seen=exclude_seen, items=items, exclude=exclude)
    for row, user in enumerate(users):
        order, ref = brute_force(model, user, exclude_seen, items, exclude)
        width = ids.shape[1]
        expected = np.full(width, None, dtype=object)
        expected[: min(width, order.size)] = ITEM_IDS[order[:width]]
        assert list(ids[row]) == list(expected)
        np.testing.assert_array_equal(scores[row][: order.size], ref[order[:width]].astype(np.float32))


def test_user_who_saw_every_item_gets_an_empty_padded_row(fitted):
    ids, scores = fitted.recommend(np.array([FULL_USER, 101]), n=3)
    assert ids.dtype == object and ids.shape == (2, 3)
    assert list(ids[0]) == [None, None, None]
    assert np.isneginf(scores[0]).all()
    assert np.isfinite(scores[1]).all()
    ids, scores = fitted.recommend(FULL_USER, n=3)
    assert ids.size == 0 and scores.size == 0
    ids, _ = fitted.recommend(FULL_USER, n=3, exclude_seen=False)
    assert ids.size == 3


def test_integer_item_ids_pad_with_minus_one(fitted):
    data = mf.Ratings(TRAIN.users, TRAIN.item_indices.astype(np.int64) + 1, TRAIN.values)
    model = copy.deepcopy(fitted).fit(data)
    ids, scores = model.recommend(np.array([FULL_USER, 101]), n=2)
    assert ids.dtype.kind == "i"
    assert (ids[0] == -1).all() and np.isneginf(scores[0]).all()


def test_n_larger_than_catalog_and_empty_candidates(fitted):
    ids, _ = fitted.recommend(np.array([101, 102]), n=1000, exclude_seen=False)
    assert ids.shape == (2, N_ITEMS)
    ids, scores = fitted.recommend(np.array([101, 102]), n=5, items=[])
    assert ids.shape == scores.shape == (2, 0)
    ids, scores = fitted.recommend(101, n=5, items=["m03"], exclude=["m03"])
    assert ids.size == 0
    ids, _ = fitted.recommend(np.array([], dtype=np.int64), n=4)
    assert ids.shape == (0, 4)


# ---------------------------------------------------------------- similar items and users
@pytest.mark.parametrize("kind", ["items", "users"])
def test_similar_excludes_the_query_and_is_sorted(fitted, kind):
    ids_all = TRAIN.item_ids if kind == "items" else WARM_USERS
    method = fitted.similar_items if kind == "items" else fitted.similar_users
    queries = ids_all[:6]
    ids, sims = method(queries, n=4)
    assert ids.shape == sims.shape == (6, 4)
    for row, q in enumerate(queries):
        valid = sims[row] > -np.inf
        assert q not in list(ids[row][valid])
        assert (np.diff(sims[row][valid]) <= 0).all()
        one_ids, one_sims = method(q, n=4)
        np.testing.assert_array_equal(one_ids, ids[row][valid])
        np.testing.assert_allclose(one_sims, sims[row][valid], rtol=1e-6)
    big, _ = method(queries[0], n=10_000)
    idmap = fitted.item_map_ if kind == "items" else fitted.user_map_
    assert 0 < big.size <= len(idmap) - 1


# ---------------------------------------------------------------- persistence
def test_save_load_round_trip_keeps_recommendations(fitted, tmp_path):
    path = fitted.save(tmp_path / "model.npz")
    loaded = mf.load(path)
    assert type(loaded) is type(fitted)
    users = np.array(list(WARM_USERS[:10]) + [FULL_USER])
    for a, b in zip(fitted.recommend(users, n=7), loaded.recommend(users, n=7)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(fitted.similar_items(ITEM_IDS[:4], n=3), loaded.similar_items(ITEM_IDS[:4], n=3)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fitted.predict(TRAIN.users, TRAIN.items), loaded.predict(TRAIN.users, TRAIN.items))
    assert (loaded.user_items_ != fitted.user_items_).nnz == 0
    fitted2 = copy.deepcopy(fitted).partial_fit_users([5000, 5000], ["m01", "m02"], [5.0, 1.0])
    loaded.partial_fit_users([5000, 5000], ["m01", "m02"], [5.0, 1.0])
    for a, b in zip(fitted2.recommend(5000, n=5), loaded.recommend(5000, n=5)):
        np.testing.assert_array_equal(a, b)
    reloaded = mf.load(loaded.save(tmp_path / "again.npz"))
    np.testing.assert_array_equal(reloaded.recommend(5000, n=5)[0], loaded.recommend(5000, n=5)[0])


# ---------------------------------------------------------------- fold-in and partial fit
HISTORY = (["m03", "m07", "m01", "m11"], [5.0, 1.0, 4.0, 2.0])


def test_recommend_for_equals_recommend_after_partial_fit(fitted):
    ids, scores = fitted.recommend_for(*HISTORY, n=8)
    model = copy.deepcopy(fitted)
    model.partial_fit_users([5000] * 4, *HISTORY)
    ids2, scores2 = model.recommend(5000, n=8)
    np.testing.assert_array_equal(ids, ids2)
    np.testing.assert_allclose(scores, scores2, rtol=1e-6)
    assert not np.isin(ids, HISTORY[0]).any()
    vector, bias = fitted.fold_in(*HISTORY)
    u = model.user_map_.index(5000)
    if vector.size:
        np.testing.assert_array_equal(vector, model.user_factors_[u])
    user_bias = getattr(model, "user_bias_", None)  # implicit models have no biases: fold_in gives 0
    assert bias == pytest.approx(0.0 if user_bias is None else float(user_bias[u]), abs=1e-6)
    others = WARM_USERS[:5]
    for a, b in zip(fitted.recommend(others, n=6), model.recommend(others, n=6)):
        np.testing.assert_array_equal(a, b)
    all_ids, _ = fitted.recommend_for(*HISTORY, n=8, exclude_seen=False)
    assert all_ids.size == 8
    empty_vector, empty_bias = fitted.fold_in([], [])
    assert (empty_vector == 0).all() and empty_bias == 0.0


def test_partial_fit_refreshes_an_existing_user_with_merged_history(fitted):
    model = copy.deepcopy(fitted)
    user = 101
    old = dict(zip(TRAIN.item_ids[seen_items(user)], TRAIN.to_csr()[TRAIN.user_index(user)].data))
    rated = list(old)[0]
    fresh = [i for i in ITEM_IDS if i not in old][0]
    model.partial_fit_users([user, user, user], [rated, fresh, fresh], [1.0, 2.0, 5.0])
    u = model.user_map_.index(user)
    row = model.user_items_[u]
    merged = dict(zip(model.item_map_.ids[row.indices], row.data))
    expected = dict(old, **{rated: 1.0, fresh: 5.0})
    assert merged == expected
    ids, scores = model.recommend(user, n=6)
    ref_ids, ref_scores = model.recommend_for(list(merged), list(merged.values()), n=6)
    np.testing.assert_array_equal(ids, ref_ids)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-6)
    assert len(model.user_map_) == len(fitted.user_map_)


def test_partial_fit_adds_users_in_first_appearance_order(fitted):
    model = copy.deepcopy(fitted)
    model.partial_fit_users([7002, 7001, 7002], ["m01", "m02", "m03"], [4.0, 3.0, 2.0])
    assert list(model.user_map_.ids[-2:]) == [7002, 7001]
    assert model.user_items_.shape == (len(fitted.user_map_) + 2, N_ITEMS)
    assert model.known_users([7001, 7002, 424242]).tolist() == [True, True, False]
    with pytest.raises(TypeError, match="users"):
        model.partial_fit_users(["text-id"], ["m01"], [3.0])


# ---------------------------------------------------------------- cold start
def test_unknown_and_history_less_users_get_the_cold_start_ranking(fitted):
    order, ref = brute_force(fitted, 424242, exclude_seen=False)
    for user in (424242, GHOST):
        with pytest.warns(ColdStartWarning, match="1 of 1 users"):
            ids, scores = fitted.recommend(user, n=5)
        np.testing.assert_array_equal(TRAIN.item_map.index(ids), order[:5])
    with pytest.warns(ColdStartWarning, match="2 of 3 users"):
        ids, scores = fitted.recommend(np.array([424242, 101, GHOST]), n=5)
    np.testing.assert_array_equal(ids[0], ids[2])
    np.testing.assert_array_equal(ids[1], fitted.recommend(101, n=5)[0])
    with pytest.warns(ColdStartWarning):
        empty_ids, _ = fitted.recommend_for([], [], n=5)
    np.testing.assert_array_equal(empty_ids, ids[0])
    assert fitted.known_users([424242, GHOST, 101]).tolist() == [False, False, True]


def test_unknown_raise_makes_recommend_raise(fitted):
    model = copy.deepcopy(fitted).set_params(unknown="raise")
    with pytest.raises(KeyError, match="user"):
        model.recommend(np.array([101, 424242]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.recommend(101)


def test_popularity_ranking_without_biases():
    model = MatrixFactorization(factors=2, biases=False, epochs=3, random_state=0).fit(TRAIN)
    counts = np.bincount(TRAIN.item_indices, minlength=N_ITEMS)
    with pytest.warns(ColdStartWarning):
        ids, scores = model.recommend(424242, n=N_ITEMS)
    np.testing.assert_array_equal(TRAIN.item_map.index(ids), np.argsort(-counts, kind="stable"))
    np.testing.assert_array_equal(scores, np.sort(counts)[::-1])


# ---------------------------------------------------------------- explanations
def test_explanation_contributions_add_up(fitted):
    e = fitted.explain(101, "m05", n=100)
    assert 0 < len(e.items) <= seen_items(101).size
    assert np.isin(e.items, TRAIN.item_ids[seen_items(101)]).all()
    assert (np.diff(e.contributions) <= 0).all()
    assert e.baseline + e.contributions.sum() == pytest.approx(e.total)
    small = fitted.explain(101, "m05", n=2)
    np.testing.assert_array_equal(small.items, e.items[:2])


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("n, error", [(0, ValueError), (-3, ValueError), (2.5, TypeError), (True, TypeError)])
def test_bad_n(fitted, n, error):
    with pytest.raises(error, match="n must"):
        fitted.recommend(101, n=n)
    with pytest.raises(error, match="n must"):
        fitted.similar_items("m01", n=n)
    with pytest.raises(error, match="n must"):
        fitted.recommend_for(*HISTORY, n=n)


def test_unknown_item_ids_are_named(fitted):
    with pytest.raises(KeyError, match="items.*'nope'"):
        fitted.recommend(101, items=["m01", "nope"])
    with pytest.raises(KeyError, match="exclude.*'gone'"):
        fitted.recommend(101, exclude=["gone"])
    with pytest.raises(KeyError, match="items.*'nope'"):
        fitted.fold_in(["m01", "nope"], [3.0, 4.0])
    with pytest.raises(KeyError, match="items.*'nope'"):
        fitted.partial_fit_users([5000], ["nope"], [3.0])
    with pytest.raises(KeyError, match="item"):
        fitted.similar_items("nope")
    with pytest.raises(KeyError, match="user"):
        fitted.similar_users(424242)
    with pytest.raises(KeyError, match="user"):
        fitted.explain(424242, "m01")


def test_bad_fold_in_input(fitted):
    with pytest.raises(ValueError, match="NaN"):
        fitted.fold_in(["m01", "m02"], [3.0, np.nan])
    with pytest.raises(ValueError, match="ratings has 1 entries but items has 2"):
        fitted.fold_in(["m01", "m02"], [3.0])
    if not isinstance(fitted, (ImplicitALS, BPR)):  # implicit models take items alone
        with pytest.raises(ValueError, match="ratings is required"):
            fitted.fold_in(["m01"])
    with pytest.raises(ValueError, match="more than once"):
        fitted.recommend_for(["m01", "m01"], [3.0, 4.0])
    with pytest.raises(ValueError, match="users has 2 entries but items has 1"):
        fitted.partial_fit_users([1, 2], ["m01"], [3.0])
    with pytest.raises(ValueError, match="1-D"):
        fitted.recommend(np.array([[101, 102]]))
    with pytest.raises(TypeError, match="exclude_seen"):
        fitted.recommend(101, exclude_seen="yes")
    with pytest.raises(ValueError, match="no training ratings"):
        fitted.explain(GHOST, "m01")


@pytest.mark.parametrize("name", list(MODELS))
def test_methods_need_a_fitted_model(name):
    model = MODELS[name]()
    for call in (lambda: model.recommend(1), lambda: model.similar_items(1), lambda: model.fold_in([1], [3.0]),
                 lambda: model.recommend_for([1], [3.0]), lambda: model.partial_fit_users([1], [1], [3.0])):
        with pytest.raises(NotFittedError):
            call()
