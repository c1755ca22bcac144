"""Tests for the Ratings container (mf.data.ratings)."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import mf
from mf.data import as_ratings

SETTINGS = settings(max_examples=40, deadline=None)

INT_IDS = st.integers(-5, 12)
STR_IDS = st.sampled_from(["ann", "bob", "cy", "dee", "ed", "flo", "gus", "z"])
VALUES = st.floats(-100, 100, width=32, allow_subnormal=False)


@st.composite
def unique_triples(draw, ids=INT_IDS, max_size=30):
    pairs = draw(st.lists(st.tuples(ids, ids), min_size=1, max_size=max_size, unique=True))
    values = draw(st.lists(VALUES, min_size=len(pairs), max_size=len(pairs)))
    return [u for u, _ in pairs], [i for _, i in pairs], values


@st.composite
def triples_with_repeats(draw):
    n = draw(st.integers(1, 30))
    users = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    items = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n))
    values = draw(st.lists(st.integers(1, 5).map(float), min_size=n, max_size=n))
    times = draw(st.lists(st.integers(0, 10**9), min_size=n, max_size=n))
    return users, items, values, times


def dense_reference(users, items, values):
    """Dense users x items matrix, ids numbered in sorted order, by a plain loop."""
    rows = {u: k for k, u in enumerate(sorted(set(users)))}
    cols = {i: k for k, i in enumerate(sorted(set(items)))}
    dense = np.zeros((len(rows), len(cols)), dtype=np.float32)
    for u, i, v in zip(users, items, values):
        dense[rows[u], cols[i]] = v
    return dense


def triples_of(r):
    return sorted(zip(r.users.tolist(), r.items.tolist(), r.values.tolist()))


# ------------------------------------------------------------------ matrices
@pytest.mark.parametrize("ids", [INT_IDS, STR_IDS], ids=["int", "str"])
@SETTINGS
@given(data=st.data())
def test_csr_csc_coo_agree_with_dense_reference(ids, data):
    users, items, values = data.draw(unique_triples(ids))
    r = mf.Ratings(users, items, values)
    expected = dense_reference(users, items, values)
    assert r.shape == expected.shape and r.nnz == len(users)

    csr, csc = r.to_csr(), r.to_csc()
    csr.check_format(full_check=True)
    csc.check_format(full_check=True)
    assert csr.format == "csr" and csc.format == "csc"
    np.testing.assert_array_equal(csr.toarray(), expected)
    np.testing.assert_array_equal(csc.toarray(), expected)
    for m in (csr, csc):
        sorted_copy = m.copy()
        sorted_copy.sort_indices()
        np.testing.assert_array_equal(m.indices, sorted_copy.indices)

    u, i, v = r.to_coo()
    coo_dense = np.zeros(r.shape, dtype=np.float32)
    coo_dense[u, i] = v
    np.testing.assert_array_equal(coo_dense, expected)
    keys = u.astype(np.int64) * r.n_items + i
    assert np.all(np.diff(keys) > 0), "COO must be sorted by (user, item) without repeats"
    assert r.user_ids.tolist() == sorted(set(users))
    assert r.item_ids.tolist() == sorted(set(items))


def test_matrices_are_cached():
    r = mf.Ratings([1, 2], [1, 2], [3.0, 4.0])
    assert r.to_csr() is r.to_csr()
    assert r.to_csc() is r.to_csc()


def test_to_csr_shares_memory_and_dtypes():
    r = mf.Ratings([3, 1, 1, 2], [9, 8, 9, 8], [1.5, 2.0, 3.0, 4.0])
    csr = r.to_csr()
    assert csr.data.dtype == np.float32 and csr.indices.dtype == np.int32 and csr.indptr.dtype == np.int32
    assert r.values.dtype == np.float32
    assert r.user_indices.dtype == np.int32 and r.item_indices.dtype == np.int32
    assert np.shares_memory(csr.data, r.values)
    assert np.shares_memory(csr.indices, r.item_indices)
    assert r.to_csc().dtype == np.float32


def test_implicit_ratings_are_ones():
    r = mf.Ratings(["a", "b", "a"], [1, 1, 2])
    assert r.implicit and r.values.tolist() == [1.0, 1.0, 1.0]
    assert "implicit" in repr(r)


def test_summary_properties():
    r = mf.Ratings([1, 1, 2], [1, 2, 1], [1.0, 2.0, 6.0])
    assert r.density == pytest.approx(3 / 4)
    assert r.global_mean == pytest.approx(3.0)
    assert r.rating_range == (1.0, 6.0)
    assert len(r) == 3
    assert repr(r) == "Ratings(2 users x 2 items, 3 ratings, density 75.00%, values 1..6)"


def test_datetime_timestamps_stored_as_unix_seconds():
    t = np.array(["1970-01-01T00:00:10", "2000-01-01"], dtype="datetime64[s]")
    r = mf.Ratings([1, 2], [1, 1], [3, 4], timestamps=t)
    assert r.timestamps.dtype == np.int64
    assert r.timestamps.tolist() == [10, 946684800]


# ------------------------------------------------------------------ subset
@SETTINGS
@given(data=st.data())
def test_subset_keeps_maps_and_selected_ratings(data):
    users, items, values = data.draw(unique_triples(STR_IDS))
    times = list(range(len(users)))
    r = mf.Ratings(users, items, values, timestamps=times)
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=r.nnz, max_size=r.nnz)))
    s = r.subset(mask)
    assert s.user_map is r.user_map and s.item_map is r.item_map
    assert s.shape == r.shape
    np.testing.assert_array_equal(s.user_indices, r.user_indices[mask])
    np.testing.assert_array_equal(s.item_indices, r.item_indices[mask])
    np.testing.assert_array_equal(s.values, r.values[mask])
    np.testing.assert_array_equal(s.timestamps, r.timestamps[mask])
    positions = np.flatnonzero(mask)
    shuffled = data.draw(st.permutations(positions.tolist()))
    negative = [p - r.nnz if k % 2 else p for k, p in enumerate(shuffled)]
    by_index = r.subset(np.array(negative, dtype=np.int64))
    assert triples_of(by_index) == triples_of(s)
    np.testing.assert_array_equal(by_index.user_indices, s.user_indices)
    np.testing.assert_array_equal(by_index.item_indices, s.item_indices)


def test_subset_bad_selections():
    r = mf.Ratings([1, 2, 3], [1, 1, 1], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"mask must have shape \(3,\)"):
        r.subset(np.array([True, False]))
    with pytest.raises(ValueError, match="indices contain repeats"):
        r.subset(np.array([0, 0]))
    with pytest.raises(ValueError, match="indices contain repeats"):
        r.subset(np.array([2, -1]))
    with pytest.raises(IndexError, match="out of range for 3 ratings"):
        r.subset(np.array([3]))
    with pytest.raises(TypeError, match="mask_or_indices must be a boolean mask or integer positions"):
        r.subset(np.array([0.5]))


# ------------------------------------------------------------------ duplicates
@SETTINGS
@given(triples_with_repeats())
def test_duplicates_raise_names_count_and_a_pair(data):
    users, items, values, _ = data
    counts = {}
    for pair in zip(users, items):
        counts[pair] = counts.get(pair, 0) + 1
    n_extra = len(users) - len(counts)
    if n_extra == 0:
        assert mf.Ratings(users, items, values).nnz == len(users)
        return
    with pytest.raises(ValueError) as info:
        mf.Ratings(users, items, values)
    msg = str(info.value)
    match = re.match(r"(\d+) duplicate \(user, item\) pairs, e\.g\. user (\d+) and item '(\w)'; pass duplicates=", msg)
    assert match, msg
    assert int(match.group(1)) == n_extra
    assert counts[(int(match.group(2)), match.group(3))] > 1


@pytest.mark.parametrize("mode", ["last", "mean", "sum"])
@SETTINGS
@given(data=triples_with_repeats())
def test_duplicates_combined_like_dict_reference(mode, data):
    users, items, values, times = data
    groups, last_time = {}, {}
    for u, i, v, t in zip(users, items, values, times):
        groups.setdefault((u, i), []).append(v)
        last_time[(u, i)] = t
    combine = {"last": lambda vs: vs[-1], "mean": lambda vs: sum(vs) / len(vs), "sum": sum}[mode]
    expected = {pair: combine(vs) for pair, vs in groups.items()}

    r = mf.Ratings(users, items, values, timestamps=times, duplicates=mode)
    pairs = list(zip(r.users.tolist(), r.items.tolist()))
    assert sorted(pairs) == sorted(expected) and len(pairs) == len(expected)
    got = dict(zip(pairs, r.values.tolist()))
    for pair, value in expected.items():
        assert got[pair] == pytest.approx(value, rel=1e-6)
    assert dict(zip(pairs, r.timestamps.tolist())) == last_time


def test_duplicates_last_follows_input_order():
    r = mf.Ratings([1, 2, 1, 1], ["x", "x", "x", "y"], [5, 1, 3, 2], duplicates="last")
    assert triples_of(r) == [(1, "x", 3.0), (1, "y", 2.0), (2, "x", 1.0)]


def test_unknown_duplicates_mode():
    with pytest.raises(ValueError, match=r"duplicates must be one of \('raise', 'last', 'mean', 'sum'\), got 'first'"):
        mf.Ratings([1], [1], [1.0], duplicates="first")


# ------------------------------------------------------------------ from_sparse
DENSE = np.array([[5, 0, 3, 0], [0, 0, 0, 0], [0, 4, 0, 1.5]])


@pytest.mark.parametrize(
    "build",
    [
        sp.csr_matrix,
        sp.csc_matrix,
        sp.coo_matrix,
        sp.lil_matrix,
        sp.dok_matrix,
        sp.bsr_matrix,
        sp.dia_matrix,
        sp.csr_array,
        sp.csc_array,
        sp.coo_array,
    ],
    ids=lambda b: b.__name__,
)
def test_from_sparse_every_format(build):
    r = mf.Ratings.from_sparse(build(DENSE))
    assert r.shape == DENSE.shape and r.nnz == 4 and not r.implicit
    np.testing.assert_array_equal(r.to_csr().toarray(), DENSE.astype(np.float32))
    assert r.user_ids.tolist() == [0, 1, 2] and r.item_ids.tolist() == [0, 1, 2, 3]


def test_from_sparse_sums_repeated_coo_entries():
    m = sp.coo_matrix(([1.0, 2.0, 4.0], ([0, 0, 1], [1, 1, 0])), shape=(2, 2))
    r = mf.Ratings.from_sparse(m)
    np.testing.assert_array_equal(r.to_csr().toarray(), [[0, 3], [4, 0]])


def test_from_sparse_drops_explicit_zeros_with_warning():
    m = sp.csr_matrix((np.array([1.0, 0.0, 2.0, 0.0]), np.array([0, 1, 0, 1]), np.array([0, 2, 4])), shape=(2, 2))
    with pytest.warns(UserWarning, match="dropping 2 stored zeros"):
        r = mf.Ratings.from_sparse(m)
    assert r.nnz == 2 and r.shape == (2, 2)
    assert triples_of(r) == [(0, 0, 1.0), (1, 0, 2.0)]
    assert m.nnz == 4, "the input matrix must not be modified"


def test_from_sparse_with_ids():
    r = mf.Ratings.from_sparse(sp.csr_matrix(DENSE), user_ids=["u", "v", "w"], item_ids=[40, 10, 30, 20])
    assert r.user_ids.tolist() == ["u", "v", "w"]
    assert r.item_ids.tolist() == [40, 10, 30, 20]
    assert r.item_index(30) == 2 and r.user_index("w") == 2
    assert triples_of(r) == [("u", 30, 3.0), ("u", 40, 5.0), ("w", 10, 4.0), ("w", 20, 1.5)]


def test_from_sparse_bad_input():
    with pytest.raises(ValueError, match="user_ids has 2 entries but the matrix has 3 users"):
        mf.Ratings.from_sparse(sp.csr_matrix(DENSE), user_ids=["a", "b"])
    with pytest.raises(ValueError, match="item_ids has 5 entries but the matrix has 4 items"):
        mf.Ratings.from_sparse(sp.csr_matrix(DENSE), item_ids=range(5))
    with pytest.raises(ValueError, match="item_ids must be unique"):
        mf.Ratings.from_sparse(sp.csr_matrix(DENSE), item_ids=[1, 2, 2, 3])
    with pytest.raises(ValueError, match="matrix must be 2-D"):
        mf.Ratings.from_sparse(sp.coo_array(np.array([1.0, 2.0])))
    with pytest.raises(TypeError, match="matrix must be a scipy sparse matrix, got ndarray"):
        mf.Ratings.from_sparse(DENSE)
    with pytest.raises(TypeError, match="matrix must hold numeric ratings"):
        mf.Ratings.from_sparse(sp.csr_matrix(DENSE.astype(complex)))
    with pytest.raises(ValueError, match="matrix contains NaN or infinite ratings"):
        mf.Ratings.from_sparse(sp.csr_matrix(np.array([[np.nan, 1.0]])))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(ValueError, match="matrix holds no ratings"):
            mf.Ratings.from_sparse(sp.csr_matrix((np.array([0.0]), np.array([0]), np.array([0, 1])), shape=(1, 1)))


def test_bug_from_sparse_rejects_bool_matrix():
    # from_sparse accepts dtype kind "b" up front, then fails in the ratings check.
    r = mf.Ratings.from_sparse(sp.csr_matrix(np.array([[True, False], [False, True]])))
    assert triples_of(r) == [(0, 0, 1.0), (1, 1, 1.0)]


# ------------------------------------------------------------------ from_frame, as_ratings
def test_from_frame():
    df = pd.DataFrame(
        {"uid": ["b", "a", "a"], "iid": [2, 1, 2], "stars": [4.0, 3.0, 5.0], "ts": [30, 10, 20]}
    )
    r = mf.Ratings.from_frame(df, user="uid", item="iid", rating="stars", timestamp="ts")
    assert triples_of(r) == [("a", 1, 3.0), ("a", 2, 5.0), ("b", 2, 4.0)]
    assert r.timestamps.tolist() == [10, 20, 30]
    implicit = mf.Ratings.from_frame(df, user="uid", item="iid", rating=None)
    assert implicit.implicit and implicit.timestamps is None


def test_from_frame_missing_column_names_it():
    df = pd.DataFrame({"user": [1], "item": [2], "rating": [3.0]})
    with pytest.raises(KeyError, match=r"timestamp='time' is not a column of the DataFrame"):
        mf.Ratings.from_frame(df, timestamp="time")
    with pytest.raises(KeyError, match=r"item='movieId' is not a column"):
        mf.Ratings.from_frame(df, item="movieId")
    with pytest.raises(TypeError, match="df must be a pandas DataFrame, got dict"):
        mf.Ratings.from_frame({"user": [1]})


def test_from_frame_passes_duplicates_mode():
    df = pd.DataFrame({"user": [1, 1], "item": [2, 2], "rating": [3.0, 5.0]})
    assert mf.Ratings.from_frame(df, duplicates="mean").values.tolist() == [4.0]


def test_as_ratings_accepted_inputs():
    r = mf.Ratings([1, 2], [3, 4], [5.0, 1.0])
    assert as_ratings(r) is r
    assert triples_of(as_ratings(([1, 2], [3, 4], [5.0, 1.0]))) == triples_of(r)
    df = pd.DataFrame({"u": [1, 2], "i": [3, 4], "r": [5.0, 1.0]})
    assert triples_of(as_ratings(df)) == triples_of(r)
    assert as_ratings(sp.csr_matrix(DENSE)).nnz == 4
    with pytest.raises(TypeError, match="train must be mf.Ratings, a scipy sparse matrix"):
        as_ratings("ratings.csv", name="train")
    with pytest.raises(ValueError, match="X: a DataFrame needs user, item and rating columns"):
        as_ratings(df[["u", "i"]])


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "args, kwargs, error, pattern",
    [
        (([1, 2], [1], [1, 2]), {}, ValueError, "users has 2 entries but items has 1"),
        (([1, 2], [1, 2], [1.0]), {}, ValueError, "users has 2 entries but ratings has 1"),
        (([1, 2], [1, 2], [1.0, 2.0]), {"timestamps": [1]}, ValueError, "users has 2 entries but timestamps has 1"),
        (([1, 2], [1, 2], [1.0, np.nan]), {}, ValueError, r"ratings contains 1 NaN .* at position 1"),
        (([1, 2], [1, 2], [np.inf, 2.0]), {}, ValueError, r"ratings contains 1 NaN .* at position 0"),
        pytest.param(
            ([1], [1], [1e39]),
            {},
            ValueError,
            "ratings contains values too large for float32",
            marks=pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning"),
        ),
        (([], [], []), {}, ValueError, "no ratings given"),
        (([1, 2], [1, 2], ["4", "5"]), {}, TypeError, "ratings must be numeric, got dtype <U1"),
        (([1, 2], [1, 2], [True, False]), {}, TypeError, "ratings must be numeric, got dtype bool"),
        (([1.0, np.nan], [1, 2], [1.0, 2.0]), {}, ValueError, r"users contains NaN .* at position 1"),
        (([1, 2], ["a", None], [1.0, 2.0]), {}, ValueError, r"items contains a missing id \(None\) at position 1"),
        (([[1, 2]], [1, 2], [1.0, 2.0]), {}, ValueError, "users must be 1-D"),
        (([1, 2], [1, 2], [1.0, 2.0]), {"timestamps": ["x", "y"]}, TypeError, "timestamps must be integers"),
        (([1, 2], [1, 2], [1.0, 2.0]), {"timestamps": [1.0, np.nan]}, ValueError, "timestamps contains NaN"),
        (
            ([1, 2], [1, 2], [1.0, 2.0]),
            {"timestamps": np.array(["2000-01-01", "NaT"], dtype="datetime64[s]")},
            ValueError,
            "timestamps contains NaT",
        ),
    ],
)
def test_bad_input_names_the_argument(args, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        mf.Ratings(*args, **kwargs)


def test_unknown_raw_ids_keyerror_names_first_few():
    r = mf.Ratings(["ann", "bob"], ["x", "y"], [4, 5])
    with pytest.raises(KeyError) as info:
        r.user_index(["ann", "q1", "q2", "q3", "q4", "q5", "q6"])
    assert info.value.args[0].startswith("6 unknown users: 'q1', 'q2', 'q3', 'q4', 'q5', ...")
    with pytest.raises(KeyError, match="1 unknown items: 'nope'"):
        r.item_index("nope")


def test_index_and_id_accessors():
    r = mf.Ratings(["ann", "bob"], ["x", "y"], [4, 5])
    assert r.user_index("bob") == 1 and r.item_index(["y", "x"]).tolist() == [1, 0]
    assert r.user_id(0) == "ann" and r.item_id(np.array([1])).tolist() == ["y"]


def test_indices_in_other_maps():
    a = mf.Ratings([1, 2, 3], [7, 8, 9], [1.0, 2.0, 3.0])
    b = mf.Ratings([3, 4], [9, 7], [1.0, 1.0])
    u, i = a.indices_in(b.user_map, b.item_map)
    assert u.tolist() == [-1, -1, 0] and i.tolist() == [0, -1, 1]
    u, i = a.indices_in(a.user_map, a.item_map)
    assert u is a.user_indices and i is a.item_indices
