"""Tests for train/test splits (mf.split)."""

import datetime
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mf
from mf.split import k_fold, predefined, temporal_split, train_test_split, user_holdout

SETTINGS = settings(max_examples=30, deadline=None)
ML100K = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ml-100k"


def make_ratings(n_users, n_items, nnz, seed, n_times=50):
    """Random explicit ratings with unique (user, item) pairs and timestamps with ties."""
    rng = np.random.default_rng(seed)
    cells = rng.choice(n_users * n_items, size=nnz, replace=False)
    users = np.array([f"u{k}" for k in cells // n_items])
    items = cells % n_items * 10
    values = rng.integers(1, 6, size=nnz).astype(float)
    times = rng.integers(0, n_times, size=nnz)
    return mf.Ratings(users, items, values, timestamps=times)


@st.composite
def ratings(draw, min_nnz=2):
    n_users = draw(st.integers(1, 12))
    n_items = draw(st.integers(max(1, -(-min_nnz // n_users)), 12))
    nnz = draw(st.integers(min_nnz, n_users * n_items))
    return make_ratings(n_users, n_items, nnz, draw(st.integers(0, 2**32 - 1)), draw(st.integers(1, 60)))


def rows(r):
    return Counter(zip(r.users.tolist(), r.items.tolist(), r.values.tolist(), r.timestamps.tolist()))


def assert_partition(r, train, test):
    assert train.user_map is r.user_map and train.item_map is r.item_map
    assert test.user_map is r.user_map and test.item_map is r.item_map
    assert rows(train) + rows(test) == rows(r)
    assert train.nnz + test.nnz == r.nnz


def assert_same(a, b):
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.user_indices, y.user_indices)
        np.testing.assert_array_equal(x.item_indices, y.item_indices)
        np.testing.assert_array_equal(x.values, y.values)


def per_user_count(r):
    return np.bincount(r.user_indices, minlength=r.n_users)


BIG = make_ratings(40, 30, 600, seed=1)


# ------------------------------------------------------------------ train_test_split
@SETTINGS
@given(r=ratings(), frac=st.floats(0.01, 0.99), seed=st.integers(0, 2**32 - 1))
def test_train_test_split_partitions(r, frac, seed):
    expected = min(max(int(np.floor(frac * r.nnz + 0.5)), 1), r.nnz)
    if expected >= r.nnz:
        with pytest.raises(ValueError, match="leaves no training rating"):
            train_test_split(r, test_size=frac, random_state=seed)
        return
    train, test = train_test_split(r, test_size=frac, random_state=seed)
    assert_partition(r, train, test)
    assert test.nnz == expected
    assert_same((train, test), train_test_split(r, test_size=frac, random_state=seed))


@pytest.mark.parametrize("test_size, n_test", [(0.25, 150), (0.001, 1), (1, 1), (599, 599), (0.2, 120)])
def test_train_test_split_sizes(test_size, n_test):
    train, test = train_test_split(BIG, test_size=test_size, random_state=0)
    assert test.nnz == n_test and train.nnz == BIG.nnz - n_test


def test_train_test_split_rounds_halves_up():
    r = make_ratings(5, 2, 10, seed=0)
    assert train_test_split(r, test_size=0.25, random_state=0)[1].nnz == 3
    assert train_test_split(r, test_size=0.7, random_state=0)[1].nnz == 7


def test_train_test_split_seeds():
    a = train_test_split(BIG, random_state=3)
    assert_same(a, train_test_split(BIG, random_state=3))
    assert_same(a, train_test_split(BIG, random_state=np.random.default_rng(3)))
    other = train_test_split(BIG, random_state=4)
    assert rows(a[1]) != rows(other[1])


def test_generator_state_advances():
    rng = np.random.default_rng(7)
    first = train_test_split(BIG, random_state=rng)[1]
    second = train_test_split(BIG, random_state=rng)[1]
    assert rows(first) != rows(second)


# ------------------------------------------------------------------ k_fold
@SETTINGS
@given(r=ratings(), data=st.data())
def test_k_fold_partitions(r, data):
    n_splits = data.draw(st.integers(2, min(r.nnz, 6)))
    seed = data.draw(st.integers(0, 2**32 - 1))
    folds = list(k_fold(r, n_splits=n_splits, random_state=seed))
    assert len(folds) == n_splits
    union = Counter()
    for train, test in folds:
        assert_partition(r, train, test)
        union += rows(test)
    assert union == rows(r)
    sizes = [test.nnz for _, test in folds]
    assert max(sizes) - min(sizes) <= 1
    again = list(k_fold(r, n_splits=n_splits, random_state=seed))
    for a, b in zip(folds, again):
        assert_same(a, b)


def test_k_fold_seeds_differ():
    a = [rows(test) for _, test in k_fold(BIG, n_splits=3, random_state=0)]
    b = [rows(test) for _, test in k_fold(BIG, n_splits=3, random_state=1)]
    assert a != b


def test_k_fold_checks_input_at_call():
    with pytest.raises(ValueError, match=r"n_splits must satisfy 2 <= n_splits <= 600 .*got 1"):
        k_fold(BIG, n_splits=1)
    with pytest.raises(ValueError, match="got 601"):
        k_fold(BIG, n_splits=601)
    with pytest.raises(TypeError, match="n_splits must be an int, got float"):
        k_fold(BIG, n_splits=2.0)
    assert len(list(k_fold(make_ratings(2, 2, 2, seed=0), n_splits=2, random_state=0))) == 2


# ------------------------------------------------------------------ user_holdout
@SETTINGS
@given(r=ratings(), frac=st.floats(0.05, 0.95), seed=st.integers(0, 2**32 - 1))
def test_user_holdout_fraction(r, frac, seed):
    counts = per_user_count(r)
    expected = np.minimum(np.floor(frac * counts + 0.5).astype(int), np.maximum(counts - 1, 0))
    if expected.sum() == 0:
        with pytest.raises(ValueError, match="no user has enough ratings"):
            user_holdout(r, test_size=frac, random_state=seed)
        return
    train, test = user_holdout(r, test_size=frac, random_state=seed)
    assert_partition(r, train, test)
    np.testing.assert_array_equal(per_user_count(test), expected)
    assert np.all(per_user_count(train)[counts > 0] >= 1)
    assert_same((train, test), user_holdout(r, test_size=frac, random_state=seed))


@SETTINGS
@given(r=ratings(), n=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
def test_user_holdout_count(r, n, seed):
    counts = per_user_count(r)
    expected = np.minimum(n, np.maximum(counts - 1, 0))
    if expected.sum() == 0:
        with pytest.raises(ValueError, match="no user has enough ratings"):
            user_holdout(r, n=n, random_state=seed)
        return
    train, test = user_holdout(r, n=n, random_state=seed)
    assert_partition(r, train, test)
    np.testing.assert_array_equal(per_user_count(test), expected)
    np.testing.assert_array_equal(per_user_count(train), counts - expected)


def test_user_holdout_default_and_single_rating_users():
    r = mf.Ratings(["solo", "a", "a", "a", "a", "a"], [1, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 1])
    train, test = user_holdout(r, random_state=0)
    assert test.users.tolist() == ["a"]
    assert "solo" in train.users.tolist()


def test_user_holdout_random_per_user_and_seeds():
    tests = {seed: rows(user_holdout(BIG, n=2, random_state=seed)[1]) for seed in range(3)}
    assert tests[0] != tests[1] and tests[1] != tests[2]
    assert tests[0] == rows(user_holdout(BIG, n=2, random_state=0)[1])


def test_user_holdout_bad_input():
    with pytest.raises(ValueError, match="either test_size .* or n .*, not both"):
        user_holdout(BIG, test_size=0.2, n=1)
    with pytest.raises(ValueError, match="n must be a positive int .*got 0"):
        user_holdout(BIG, n=0)
    with pytest.raises(ValueError, match="got -2"):
        user_holdout(BIG, n=-2)
    with pytest.raises(TypeError, match="n must be a positive int"):
        user_holdout(BIG, n=1.5)
    with pytest.raises(TypeError, match="test_size must be a number"):
        user_holdout(BIG, test_size="0.2")
    with pytest.raises(ValueError, match="test_size must be a fraction strictly between 0 and 1, got 1.0"):
        user_holdout(BIG, test_size=1.0)
    with pytest.raises(ValueError, match="no user has enough ratings"):
        user_holdout(mf.Ratings([1, 2], [1, 1], [3, 4]), n=1)


# ------------------------------------------------------------------ temporal_split
@SETTINGS
@given(r=ratings(), data=st.data())
def test_temporal_cutoff(r, data):
    ts = r.timestamps
    cutoff = data.draw(st.integers(int(ts.min()) - 1, int(ts.max())))
    if cutoff < ts.min() or cutoff >= ts.max():
        with pytest.raises(ValueError, match="leaves (train|test) empty"):
            temporal_split(r, cutoff=cutoff)
        return
    train, test = temporal_split(r, cutoff=cutoff)
    assert_partition(r, train, test)
    assert np.all(test.timestamps > cutoff) and np.all(train.timestamps <= cutoff)


@SETTINGS
@given(r=ratings(), frac=st.floats(0.05, 0.95))
def test_temporal_test_size(r, frac):
    n_test = max(int(np.floor(frac * r.nnz + 0.5)), 1)
    if n_test >= r.nnz:
        return
    ts = np.sort(r.timestamps)
    if ts[r.nnz - n_test - 1] == ts[-1]:
        with pytest.raises(ValueError, match="share the timestamp"):
            temporal_split(r, test_size=frac)
        return
    train, test = temporal_split(r, test_size=frac)
    assert_partition(r, train, test)
    assert train.timestamps.max() < test.timestamps.min()
    assert test.nnz == np.count_nonzero(r.timestamps > ts[r.nnz - n_test - 1])
    assert test.nnz <= n_test


def test_temporal_test_size_exact_without_ties():
    r = mf.Ratings(np.arange(10) % 3, np.arange(10), np.ones(10), timestamps=np.arange(10)[::-1] * 7)
    train, test = temporal_split(r, test_size=0.3)
    assert sorted(test.timestamps.tolist()) == [49, 56, 63]
    assert temporal_split(r, test_size=4)[1].nnz == 4


def test_temporal_ties_at_cutoff_stay_in_train():
    r = mf.Ratings([1, 1, 2, 2, 3, 3], [1, 2, 1, 2, 1, 2], [1, 2, 3, 4, 5, 1], timestamps=[5, 9, 9, 1, 7, 7])
    train, test = temporal_split(r, test_size=0.5)
    assert sorted(test.timestamps.tolist()) == [9, 9]
    assert sorted(train.timestamps.tolist()) == [1, 5, 7, 7]
    train, test = temporal_split(r, cutoff=7)
    assert sorted(test.timestamps.tolist()) == [9, 9]
    with pytest.raises(ValueError, match="all latest ratings share the timestamp 9"):
        temporal_split(r, test_size=1)
    train, test = temporal_split(r, n=1)
    assert sorted(zip(test.users.tolist(), test.timestamps.tolist())) == [(1, 9), (2, 9)]


@SETTINGS
@given(r=ratings(), n=st.integers(1, 4))
def test_temporal_last_n_per_user(r, n):
    counts = per_user_count(r)
    u, ts = r.user_indices, r.timestamps
    expected = np.zeros(r.n_users, dtype=int)
    for user in range(r.n_users):
        times = np.sort(ts[u == user])
        k = min(n, max(len(times) - 1, 0))
        if k:
            expected[user] = np.count_nonzero(times > times[len(times) - k - 1])
    if expected.sum() == 0:
        with pytest.raises(ValueError, match="no user has a rating later"):
            temporal_split(r, n=n)
        return
    train, test = temporal_split(r, n=n)
    assert_partition(r, train, test)
    np.testing.assert_array_equal(per_user_count(test), expected)
    assert np.all(per_user_count(train)[counts > 0] >= 1)
    for user in np.flatnonzero(expected):
        assert test.timestamps[test.user_indices == user].min() > train.timestamps[train.user_indices == user].max()


def test_temporal_datetime_cutoff():
    t = np.array(["2001-01-01", "2001-06-01", "2002-01-01"], dtype="datetime64[s]")
    r = mf.Ratings([1, 1, 2], [1, 2, 1], [3, 4, 5], timestamps=t)
    train, test = temporal_split(r, cutoff=np.datetime64("2001-03-01"))
    assert test.nnz == 2 and train.nnz == 1
    assert temporal_split(r, cutoff=datetime.datetime(2001, 12, 31))[1].nnz == 1


def test_temporal_bad_input():
    no_time = mf.Ratings([1, 2], [1, 2], [3, 4])
    with pytest.raises(ValueError, match="temporal_split needs timestamps, but r has none"):
        temporal_split(no_time, test_size=0.5)
    with pytest.raises(ValueError, match="give exactly one of test_size .* got none"):
        temporal_split(BIG)
    with pytest.raises(ValueError, match="got test_size, cutoff"):
        temporal_split(BIG, test_size=0.2, cutoff=10)
    with pytest.raises(ValueError, match="got cutoff, n"):
        temporal_split(BIG, cutoff=10, n=1)
    with pytest.raises(ValueError, match="n must be a positive int"):
        temporal_split(BIG, n=0)
    with pytest.raises(TypeError, match="cutoff must be a number"):
        temporal_split(BIG, cutoff="2001-01-01")
    with pytest.raises(ValueError, match="cutoff must be finite"):
        temporal_split(BIG, cutoff=float("nan"))
    with pytest.raises(ValueError, match="cutoff=1000 leaves test empty; timestamps range from"):
        temporal_split(BIG, cutoff=1000)
    with pytest.raises(ValueError, match="leaves train empty"):
        temporal_split(BIG, cutoff=-1)
    with pytest.raises(ValueError, match="test_size must be a fraction"):
        temporal_split(BIG, test_size=0.0)


# ------------------------------------------------------------------ shared bad input
@pytest.mark.parametrize(
    "call",
    [
        lambda x: train_test_split(x),
        lambda x: k_fold(x),
        lambda x: user_holdout(x),
        lambda x: temporal_split(x, n=1),
    ],
    ids=["train_test_split", "k_fold", "user_holdout", "temporal_split"],
)
def test_non_ratings_input_is_typeerror(call):
    with pytest.raises(TypeError, match=r"r must be mf.Ratings, got tuple; build one with mf.Ratings\("):
        call(([1, 2], [1, 2], [3, 4]))


@pytest.mark.parametrize("bad", [0.0, 1.0, 1.5, -0.1, float("nan"), 0, 600, 700, -3])
def test_test_size_out_of_range(bad):
    with pytest.raises(ValueError, match="test_size"):
        train_test_split(BIG, test_size=bad)


@pytest.mark.parametrize("bad", ["0.2", True, None])
def test_test_size_wrong_type(bad):
    with pytest.raises(TypeError, match="test_size must be a number"):
        train_test_split(BIG, test_size=bad)


@pytest.mark.parametrize("bad, error", [("seed", TypeError), (1.5, TypeError), (True, TypeError), (-1, ValueError)])
def test_bad_random_state(bad, error):
    with pytest.raises(error, match="random_state must be"):
        train_test_split(BIG, random_state=bad)


def test_single_rating_cannot_be_split():
    one = mf.Ratings([1], [1], [5.0], timestamps=[3])
    with pytest.raises(ValueError, match="leaves no training rating"):
        train_test_split(one, test_size=0.5)
    with pytest.raises(ValueError, match="n_splits must satisfy 2 <= n_splits <= 1"):
        k_fold(one, n_splits=2)


# ------------------------------------------------------------------ predefined
def test_predefined_union_of_ids():
    train = mf.Ratings(["b", "a", "a"], [20, 10, 30], [1, 2, 3])
    test = mf.Ratings(["c", "a"], [40, 20], [4, 5], timestamps=[7, 8])
    tr, te = predefined(train, test)
    assert tr.user_map is te.user_map and tr.item_map is te.item_map
    assert tr.user_ids.tolist() == ["a", "b", "c"] and tr.item_ids.tolist() == [10, 20, 30, 40]
    np.testing.assert_array_equal(tr.user_indices, train.user_indices)
    np.testing.assert_array_equal(tr.item_indices, train.item_indices)
    assert Counter(zip(te.users.tolist(), te.items.tolist(), te.values.tolist(), te.timestamps.tolist())) == Counter(
        zip(test.users.tolist(), test.items.tolist(), test.values.tolist(), test.timestamps.tolist())
    )
    keys = te.user_indices.astype(np.int64) * te.n_items + te.item_indices
    assert np.all(np.diff(keys) > 0)
    np.testing.assert_array_equal(te.to_csr().toarray(), [[0, 5, 0, 0], [0, 0, 0, 0], [0, 0, 0, 4]])


def test_predefined_train_ids_come_first():
    train = mf.Ratings([5, 3], [1, 1], [1, 2])
    test = mf.Ratings([4, 3], [1, 2], [3, 4])
    tr, te = predefined(train, test)
    assert tr.user_ids.tolist() == [3, 5, 4]
    assert tr.user_index([3, 5, 4]).tolist() == [0, 1, 2]
    assert sorted(zip(te.users.tolist(), te.items.tolist())) == [(3, 2), (4, 1)]


def test_predefined_different_id_types_and_tuples():
    tr, te = predefined(([1, 2], ["x", "y"], [3.0, 4.0]), (["u9", "u8"], ["y", "z"], [5.0, 1.0], [10, 20]))
    assert tr.user_ids.tolist() == [1, 2, "u8", "u9"]
    assert tr.user_index("u9") == 3 and tr.user_index(1) == 0
    assert tr.item_ids.tolist() == ["x", "y", "z"]
    assert sorted(zip(te.users.tolist(), te.items.tolist(), te.values.tolist(), te.timestamps.tolist())) == [
        ("u8", "z", 1.0, 20),
        ("u9", "y", 5.0, 10),
    ]
    assert tr.timestamps is None


def test_bug_predefined_with_mixed_test_ids_needs_lookup_fix():
    # IdMap.lookup finds no int id of an object array in a sorted int map, so
    # id 1 (in both sides) is taken as new and the union map has it twice.
    test_users = np.array(["u9", 1], dtype=object)
    tr, te = predefined(([1, 2], ["x", "y"], [3.0, 4.0]), (test_users, ["y", "z"], [5.0, 1.0]))
    assert tr.user_ids.tolist() == [1, 2, "u9"]
    assert set(zip(te.users.tolist(), te.items.tolist())) == {(1, "z"), ("u9", "y")}


def test_predefined_with_shared_maps_is_identity():
    train, test = train_test_split(BIG, random_state=0)
    tr, te = predefined(train, test)
    assert tr is train and te is test


def test_predefined_bad_input():
    r = mf.Ratings([1], [1], [1.0])
    with pytest.raises(TypeError, match="test must be mf.Ratings"):
        predefined(r, "u1.test")
    with pytest.raises(ValueError, match="train must be a \\(users, items"):
        predefined(([1], [1], [1.0], [1], [1]), r)


@pytest.mark.skipif(not ML100K.is_dir(), reason="MovieLens-100K not found in shared/data")
def test_predefined_on_ml100k_u1():
    base = np.loadtxt(ML100K / "u1.base", dtype=np.int64)
    probe = np.loadtxt(ML100K / "u1.test", dtype=np.int64)
    train_raw = mf.Ratings(base[:, 0], base[:, 1], base[:, 2], timestamps=base[:, 3])
    test_raw = mf.Ratings(probe[:, 0], probe[:, 1], probe[:, 2], timestamps=probe[:, 3])
    train, test = predefined(train_raw, test_raw)
    assert train.nnz == 80000 and test.nnz == 20000
    assert train.user_map is test.user_map and train.item_map is test.item_map
    assert train.n_users == 943 and train.n_items == 1682
    assert set(train.user_ids.tolist()) == set(base[:, 0]) | set(probe[:, 0])
    assert set(train.item_ids.tolist()) == set(base[:, 1]) | set(probe[:, 1])
    np.testing.assert_array_equal(train.user_indices, train_raw.user_indices)
    for side, raw in ((train, base), (test, probe)):
        got = np.column_stack([side.users, side.items, side.values.astype(np.int64), side.timestamps])
        np.testing.assert_array_equal(got[np.lexsort(got.T[::-1])], raw[np.lexsort(raw.T[::-1])])
    csr = test.to_csr()
    u, i = test.user_index(probe[:, 0]), test.item_index(probe[:, 1])
    np.testing.assert_array_equal(np.asarray(csr[u, i]).ravel(), probe[:, 2])
