import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import mf
from mf.kernels.bpr import (_column_positive, block_has, bpr_epoch, bpr_fold_in, bpr_step, is_stored,
                            items_by_group)
from mf.kernels.sgd import balanced_groups, group_by_block
from mf.kernels.threads import numba_threads
from mf.metrics import auc
from mf.models.implicit import BPR


def sample_loss(x, yi, yj, bi, bj, reg):
    score = x @ (yi - yj) + bi - bj
    return np.log1p(np.exp(-score)) + reg / 2 * (x @ x + yi @ yi + yj @ yj + bi**2 + bj**2)


def numeric_gradient(f, v, eps=1e-6):
    grad = np.zeros_like(v)
    for a in range(v.size):
        up, down = v.copy(), v.copy()
        up[a] += eps
        down[a] -= eps
        grad[a] = (f(up) - f(down)) / (2 * eps)
    return grad


@pytest.fixture(scope="module")
def data():
    """Four groups of users; each likes about half of its group's 15 items."""
    rng = np.random.default_rng(0)
    users, items, relevant = [], [], []
    for u in range(160):
        group = np.arange(15) + (u % 4) * 15
        seen = rng.random(15) < 0.5
        seen[rng.integers(15)] = True
        users += [u] * int(seen.sum())
        items += group[seen].tolist()
        relevant.append(group[~seen])
    return mf.Ratings(np.array(users), np.array(items)), relevant


def holdout_auc(model, train, relevant):
    scores = model.user_factors_ @ model.item_factors_.T + model.item_bias_
    seen = train.to_csr().toarray() > 0
    return auc(scores, relevant, candidates=~seen)


# ---------------------------------------------------------------- exact math of the kernels
@settings(max_examples=30, deadline=None)
@given(k=st.integers(1, 6), fit_bias=st.booleans(), reg=st.floats(0.0, 0.5), seed=st.integers(0, 2**31))
def test_step_is_minus_lr_times_the_finite_difference_gradient(k, fit_bias, reg, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(2, k))
    Y = rng.normal(size=(4, k))
    b = rng.normal(size=4) if fit_bias else np.zeros(4)
    u, i, j, lr = 1, 0, 3, 1e-3
    before = X[u].copy(), Y[i].copy(), Y[j].copy(), b[i], b[j]
    x0, yi0, yj0, bi0, bj0 = before
    X2, Y2, b2 = X.copy(), Y.copy(), b.copy()
    score, z = bpr_step(u, i, j, X2, Y2, b2, lr, reg, fit_bias, True)
    assert score == pytest.approx(x0 @ (yi0 - yj0) + bi0 - bj0, rel=1e-12, abs=1e-12)
    assert z == pytest.approx(1.0 / (1.0 + np.exp(score)), rel=1e-12)
    grads = [
        numeric_gradient(lambda v: sample_loss(v, yi0, yj0, bi0, bj0, reg), x0),
        numeric_gradient(lambda v: sample_loss(x0, v, yj0, bi0, bj0, reg), yi0),
        numeric_gradient(lambda v: sample_loss(x0, yi0, v, bi0, bj0, reg), yj0),
    ]
    for new, old, grad in zip((X2[u], Y2[i], Y2[j]), (x0, yi0, yj0), grads):
        np.testing.assert_allclose((new - old) / lr, -grad, rtol=1e-5, atol=1e-6)
    if fit_bias:
        gi = numeric_gradient(lambda v: sample_loss(x0, yi0, yj0, v[0], bj0, reg), np.array([bi0]))[0]
        gj = numeric_gradient(lambda v: sample_loss(x0, yi0, yj0, bi0, v[0], reg), np.array([bj0]))[0]
        assert (b2[i] - bi0) / lr == pytest.approx(-gi, rel=1e-5, abs=1e-6)
        assert (b2[j] - bj0) / lr == pytest.approx(-gj, rel=1e-5, abs=1e-6)
    else:
        assert np.all(b2 == 0)
    untouched = [1, 2]
    np.testing.assert_array_equal(Y2[untouched], Y[untouched])


def test_step_with_frozen_items_moves_only_the_user():
    rng = np.random.default_rng(1)
    X, Y, b = rng.normal(size=(1, 3)), rng.normal(size=(3, 3)), rng.normal(size=3)
    X2, Y2, b2 = X.copy(), Y.copy(), b.copy()
    bpr_step(0, 0, 2, X2, Y2, b2, 1e-3, 0.1, True, False)
    np.testing.assert_array_equal(Y2, Y)
    np.testing.assert_array_equal(b2, b)
    grad = numeric_gradient(lambda v: sample_loss(v, Y[0], Y[2], b[0], b[2], 0.1), X[0])
    np.testing.assert_allclose((X2[0] - X[0]) / 1e-3, -grad, rtol=1e-5)


@settings(max_examples=50, deadline=None)
@given(row=st.lists(st.integers(0, 40), unique=True, max_size=15), j=st.integers(-1, 42))
def test_binary_search_finds_exactly_the_stored_items(row, j):
    indices = np.array([99] + sorted(row) + [99], dtype=np.int32)  # neighbours outside the searched range
    assert is_stored(indices, 1, len(row) + 1, j) == (j in row)


@settings(max_examples=50, deadline=None)
@given(pairs=st.sets(st.tuples(st.integers(0, 3), st.integers(0, 40)), min_size=1, max_size=100),
       pick=st.integers(0, 1000), j=st.integers(-1, 41))
def test_block_search_finds_exactly_the_users_positives(pairs, pick, j):
    """Runs of up to 41 items: both the short scan and the gallop from the sampled position are exercised."""
    ordered = sorted(pairs)
    bu = np.array([9] + [p[0] for p in ordered] + [0], dtype=np.int32)  # neighbours outside the block
    bi = np.array([0] + [p[1] for p in ordered] + [0], dtype=np.int32)
    q = 1 + pick % len(ordered)
    u = int(bu[q])
    assert block_has(bu, bi, 1, len(ordered) + 1, q, u, j) == ((u, j) in pairs)


@settings(max_examples=30, deadline=None)
@given(groups=st.lists(st.integers(0, 4), min_size=1, max_size=30))
def test_items_by_group_is_a_stable_counting_sort(groups):
    item_group = np.array(groups, dtype=np.int32)
    pool_ptr, pool = np.empty(6, dtype=np.int64), np.empty(item_group.size, dtype=np.int32)
    items_by_group(item_group, 5, pool_ptr, pool)
    np.testing.assert_array_equal(pool, np.argsort(item_group, kind="stable"))
    np.testing.assert_array_equal(np.diff(pool_ptr), np.bincount(item_group, minlength=5))


def test_column_positive_walks_the_blocks_of_a_column():
    ptr = np.array([0, 2, 3, 3, 6], dtype=np.int64)  # 2 x 2 grid: block sizes 2, 1, 0, 3
    bi = np.array([10, 11, 20, 12, 13, 14], dtype=np.int32)
    assert [_column_positive(ptr, bi, 2, 0, r) for r in range(2)] == [10, 11]  # blocks (0, 0) and (1, 0)
    assert [_column_positive(ptr, bi, 2, 1, r) for r in range(4)] == [20, 12, 13, 14]  # blocks (0, 1), (1, 1)


def test_negatives_that_are_positives_are_skipped():
    # two users who like every item: every sample is skipped and nothing moves
    u = np.repeat(np.arange(2, dtype=np.int32), 4)
    i = np.tile(np.arange(4, dtype=np.int32), 2)
    rng = np.random.default_rng(0)
    B = 1
    bu, bi, scratch = np.empty_like(u), np.empty_like(i), np.empty(8, np.float32)
    ptr = np.empty(2, dtype=np.int64)
    group_by_block(u, i, np.zeros(2, np.int32), np.zeros(4, np.int32), B, bu, bi, np.ones(8, np.float32), scratch,
                   ptr)
    pool_ptr, pool = np.array([0, 4]), np.arange(4, dtype=np.int32)
    X = rng.normal(size=(2, 3)).astype(np.float32)
    Y = rng.normal(size=(4, 3)).astype(np.float32)
    b = np.zeros(4, np.float32)
    X0, Y0 = X.copy(), Y.copy()
    for popularity in (False, True):
        loss, correct, skipped = bpr_epoch(ptr, bu, bi, B, np.zeros(1, np.int64), np.array([7], np.uint64),
                                           pool_ptr, pool, popularity, X, Y, b, 0.1, 0.01, True)
        assert (loss, correct, skipped) == (0.0, 0, 8)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(Y, Y0)


# ---------------------------------------------------------------- the model
@pytest.mark.parametrize("negatives", ["uniform", "popularity"])
def test_small_catalogues_draw_negatives_from_every_item(negatives):
    # 3 items: with negatives drawn from all of them a third of the samples hit the user's one positive; with
    # the items cut into several groups, a positive's group would hold only itself and every sample be skipped
    users = np.arange(30)
    model = mf.BPR(factors=4, epochs=3, negatives=negatives, random_state=0).fit(mf.Ratings(users, users % 3))
    assert 0.1 < model.history_["skipped"][-1] < 0.6
    assert model.history_["loss"][-1] > 0


@pytest.mark.parametrize("negatives", ["uniform", "popularity"])
def test_planted_blocks_are_ranked_correctly(data, negatives):
    train, relevant = data
    model = BPR(factors=8, lr=0.05, epochs=60, negatives=negatives, random_state=0).fit(train)
    assert holdout_auc(model, train, relevant) > 0.95
    assert model.history_["train_auc"][-1] > model.history_["train_auc"][0]
    assert model.history_["loss"][-1] < model.history_["loss"][0]


def test_history_records_every_epoch(data):
    model = BPR(factors=4, epochs=5, random_state=0).fit(data[0])
    h = model.history_
    assert h["epoch"] == [1, 2, 3, 4, 5]
    for key in ("loss", "train_auc", "skipped", "seconds"):
        assert len(h[key]) == 5
    assert all(0.0 <= v <= 1.0 for v in h["train_auc"] + h["skipped"])
    assert all(v > 0 for v in h["skipped"])  # uniform negatives hit positives now and then


def test_fixed_seed_is_bitwise_reproducible(data):
    fits = [BPR(factors=6, epochs=5, random_state=3, n_threads=t).fit(data[0]) for t in (1, 2, 2)]
    for other in fits[1:]:
        np.testing.assert_array_equal(fits[0].user_factors_, other.user_factors_)
        np.testing.assert_array_equal(fits[0].item_factors_, other.item_factors_)
        np.testing.assert_array_equal(fits[0].item_bias_, other.item_bias_)
        assert fits[0].history_["loss"] == other.history_["loss"]
    different = BPR(factors=6, epochs=5, random_state=4).fit(data[0])
    assert not np.array_equal(fits[0].item_factors_, different.item_factors_)


def grid(train, groups, rng):
    u, i, values = train.to_coo()
    bu, bi, scratch = np.empty_like(u), np.empty_like(i), np.empty_like(values)
    ptr = np.empty(groups * groups + 1, dtype=np.int64)
    user_group = balanced_groups(np.bincount(u, minlength=train.n_users), groups, rng)
    item_group = balanced_groups(np.bincount(i, minlength=train.n_items), groups, rng)
    group_by_block(u, i, user_group, item_group, groups, bu, bi, values, scratch, ptr)
    pool_ptr, pool = np.empty(groups + 1, dtype=np.int64), np.empty(train.n_items, dtype=np.int32)
    items_by_group(item_group, groups, pool_ptr, pool)
    return ptr, bu, bi, pool_ptr, pool


@pytest.mark.parametrize("popularity", [False, True])
def test_epochs_do_not_depend_on_the_thread_count(data, popularity):
    train = data[0]
    rng = np.random.default_rng(0)
    ptr, bu, bi, pool_ptr, pool = grid(train, 8, rng)
    start = [rng.normal(0, 0.1, (n, 5)).astype(np.float32) for n in (train.n_users, train.n_items)]
    results = []
    for threads in (1, 2):
        X, Y, b = start[0].copy(), start[1].copy(), np.zeros(train.n_items, np.float32)
        with numba_threads(threads):
            for epoch in range(3):
                seeds = np.arange(64, dtype=np.uint64) * np.uint64(977) + np.uint64(epoch)
                stats = bpr_epoch(ptr, bu, bi, 8, np.roll(np.arange(8), epoch), seeds, pool_ptr, pool, popularity,
                                  X, Y, b, 0.05, 0.01, True)
        results.append((X, Y, b, stats))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_without_biases_the_item_bias_stays_zero(data):
    model = BPR(factors=4, epochs=5, biases=False, random_state=0).fit(data[0])
    assert np.all(model.item_bias_ == 0)
    counts = np.bincount(data[0].item_indices, minlength=data[0].n_items).astype(np.float32)
    np.testing.assert_array_equal(model.predict([-5, -5], [0, 1]), counts[[0, 1]])  # cold start: popularity


def test_factors_are_float32_and_users_without_positives_are_zero():
    data = mf.Ratings([0, 0, 1, 1, 2], [0, 1, 1, 2, 0], [5.0, 4.0, 2.0, 5.0, 1.0])
    model = BPR(factors=3, epochs=10, binarize=4, random_state=0).fit(data)
    assert model.user_factors_.dtype == model.item_factors_.dtype == model.item_bias_.dtype == np.float32
    assert np.all(model.user_factors_[2] == 0) and np.any(model.user_factors_[0] != 0)
    np.testing.assert_allclose(model.predict([2, 2], [0, 2]), model.item_bias_[[0, 2]])


def test_binarize_and_explicit_values_give_the_same_positives():
    rng = np.random.default_rng(0)
    users, items = rng.integers(0, 30, 400), rng.integers(0, 20, 400)
    stars = rng.integers(1, 6, 400).astype(float)
    data = mf.Ratings(users, items, stars, duplicates="last")
    keep = data.values >= 4
    ones = mf.Ratings._from_canonical(data.user_map, data.item_map, data.user_indices[keep],
                                      data.item_indices[keep], np.ones(int(keep.sum()), np.float32), None, True)
    a = BPR(factors=3, epochs=3, binarize=4, random_state=0).fit(data)
    b = BPR(factors=3, epochs=3, random_state=0).fit(ones)
    c = BPR(factors=3, epochs=3, random_state=0).fit(sp.csr_matrix(ones.to_csr() * 3.0))
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)
    np.testing.assert_array_equal(b.item_factors_, c.item_factors_)  # values are not weights in BPR


# ---------------------------------------------------------------- fold-in, explanations, persistence
def test_fold_in_ranks_the_new_users_group_first(data):
    train, _ = data
    model = BPR(factors=8, lr=0.05, epochs=60, random_state=0).fit(train)
    history = [15, 16, 17, 19, 22]  # items of group 1
    ids, _ = model.recommend_for(history, n=5)
    assert np.all(ids // 15 == 1)
    x1, bias = model.fold_in(history)
    x2, _ = model.fold_in(history[::-1], np.ones(5))
    np.testing.assert_array_equal(x1, x2)  # a history always gives the same vector
    assert bias == 0.0 and x1.dtype == np.float32


def test_fold_in_does_not_depend_on_the_thread_count(data):
    model = BPR(factors=4, epochs=10, random_state=0).fit(data[0])
    csr = model.user_items_
    rows = np.arange(csr.shape[0], dtype=np.int64)
    pool = np.arange(data[0].n_items, dtype=np.int32)
    seeds = np.arange(rows.size, dtype=np.uint64)
    out = []
    for threads in (1, 2):
        X = np.full(model.user_factors_.shape, 9.0, dtype=np.float32)
        with numba_threads(threads):
            bpr_fold_in(rows, csr.indptr, csr.indices, pool, seeds, model.item_factors_, model.item_bias_, 0.05,
                        0.01, True, 5, X)
        out.append(X)
    np.testing.assert_array_equal(out[0], out[1])
    assert np.all(out[0] != 9.0)


def test_explain_adds_up_to_the_fold_in_score(data):
    model = BPR(factors=6, lr=0.05, epochs=20, random_state=0).fit(data[0])
    user, item = 5, 20
    csr = model.user_items_
    cols = csr.indices[csr.indptr[user]:csr.indptr[user + 1]]
    x, _ = model.fold_in(cols)
    e = model.explain(user, item, n=100)
    score = float(x @ model.item_factors_[item] + model.item_bias_[item])
    assert e.total == pytest.approx(score, rel=1e-4, abs=1e-5)
    assert sorted(e.items.tolist()) == sorted(cols.tolist())


def test_explain_ignores_values_below_binarize():
    data = mf.Ratings([0, 0, 0, 1, 1, 2, 2], [0, 1, 2, 0, 2, 1, 2], [5.0, 1.0, 4.0, 5.0, 4.0, 4.0, 5.0])
    model = BPR(factors=2, epochs=20, binarize=4, random_state=0).fit(data)
    e = model.explain(0, 1, n=10)
    assert dict(zip(e.items.tolist(), e.contributions.tolist()))[1] == 0.0


def test_save_and_load_round_trip(tmp_path, data):
    model = BPR(factors=3, epochs=3, negatives="popularity", random_state=0).fit(data[0])
    loaded = mf.load(model.save(tmp_path / "bpr.npz"))
    assert type(loaded) is BPR and loaded.get_params() == model.get_params()
    for name in ("user_factors_", "item_factors_", "item_bias_"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(model, name))
    assert loaded.fold_in_seed_ == model.fold_in_seed_ and loaded.history_ == model.history_
    np.testing.assert_array_equal(loaded.fold_in([1, 2, 3])[0], model.fold_in([1, 2, 3])[0])


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"lr": 0.0}, ValueError, "lr"),
        ({"lr": float("inf")}, ValueError, "lr"),
        ({"reg": -1.0}, ValueError, "reg"),
        ({"epochs": 0}, ValueError, "epochs"),
        ({"factors": 0}, ValueError, "factors"),
        ({"negatives": "hard"}, ValueError, "negatives"),
        ({"biases": "yes"}, TypeError, "biases"),
        ({"init_scale": -0.1}, ValueError, "init_scale"),
        ({"binarize": [4]}, TypeError, "binarize"),
        ({"unknown": "mean"}, ValueError, "unknown"),
        ({"n_threads": 1.5}, TypeError, "n_threads"),
    ],
)
def test_invalid_parameters_are_rejected_at_fit(data, params, error, match):
    with pytest.raises(error, match=match):
        BPR(**params).fit(data[0])


def test_bad_values_are_rejected():
    with pytest.raises(ValueError, match="negative values"):
        BPR().fit(mf.Ratings([0, 1], [0, 1], [1.0, -2.0]))
    with pytest.raises(ValueError, match="NaN"):
        BPR().fit(sp.csr_matrix(np.array([[1.0, np.nan], [0.0, 2.0]])))
    with pytest.raises(ValueError, match="binarize=5"):
        BPR(binarize=5).fit(mf.Ratings([0, 1], [0, 1], [1.0, 4.0]))
    with pytest.raises(TypeError, match="takes no y"):
        BPR().fit(mf.Ratings([0, 1], [0, 1]), [1, 1])


def test_divergence_raises_fit_error(data):
    with pytest.raises(mf.FitError, match="smaller lr"):
        BPR(factors=4, lr=1e30, epochs=3, random_state=0).fit(data[0])


def test_predict_unknown_policies(data):
    model = BPR(factors=3, epochs=2, random_state=0).fit(data[0])
    out = model.predict([0, 999, 0], [0, 0, 999])
    assert out[1] == model.item_bias_[0] and out[2] == 0.0
    assert np.isnan(model.set_params(unknown="nan").predict([999], [0])).all()
    with pytest.raises(KeyError, match="999"):
        model.set_params(unknown="raise").predict([999], [0])
    with pytest.raises(ValueError, match="clip"):
        model.predict([0], [0], clip=True)
    assert model.set_params(unknown="cold_start").predict([0], [0], clip=(0.0, 0.0))[0] == 0.0
