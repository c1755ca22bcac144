import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mf.data._synth import _select_smallest, alias_table
from mf.datasets import synthetic


def pair_keys(r):
    return r.user_indices.astype(np.int64) * r.n_items + r.item_indices


def top_share(counts, fraction=0.01):
    k = max(1, int(round(fraction * counts.size)))
    return np.sort(counts)[::-1][:k].sum() / counts.sum()


def test_shape_count_and_canonical_order():
    r = synthetic(300, 120, 5_000, random_state=3)
    assert r.shape == (300, 120) and r.nnz == 5_000 and not r.implicit
    keys = pair_keys(r)
    assert np.all(np.diff(keys) > 0)  # sorted by (user, item), hence no repeated pair
    assert r.user_ids.tolist() == list(range(300)) and r.item_ids.tolist() == list(range(120))
    assert r.timestamps is None
    np.testing.assert_array_equal(r.to_csr().toarray() != 0, np.isin(np.arange(300 * 120), keys).reshape(300, 120))


def test_values_are_half_stars_between_1_and_5():
    r = synthetic(200, 100, 4_000, noise=2.0, random_state=1)
    assert r.values.dtype == np.float32
    assert r.values.min() == 1.0 and r.values.max() == 5.0
    np.testing.assert_array_equal(r.values * 2, np.round(r.values * 2))


def test_every_user_rated_and_no_user_beyond_the_catalogue():
    r = synthetic(500, 40, 10_000, skew=3.0, random_state=0)
    degrees = np.bincount(r.user_indices, minlength=500)
    assert degrees.min() >= 1 and degrees.max() == 40


def test_fewer_ratings_than_users():
    r = synthetic(100, 10, 30, random_state=0)
    assert r.nnz == 30 and r.n_users == 100


def test_full_matrix():
    r = synthetic(30, 20, 600, random_state=0)
    np.testing.assert_array_equal(pair_keys(r), np.arange(600))


def test_deterministic_for_a_seed_and_varies_across_seeds():
    a = synthetic(200, 80, 3_000, random_state=7)
    b = synthetic(200, 80, 3_000, random_state=7)
    c = synthetic(200, 80, 3_000, random_state=8)
    for name in ("user_indices", "item_indices", "values"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.item_indices, c.item_indices)
    d = synthetic(200, 80, 3_000, random_state=np.random.default_rng(7))
    e = synthetic(200, 80, 3_000, random_state=np.random.default_rng(7))
    np.testing.assert_array_equal(d.values, e.values)


def test_power_law_activity():
    r = synthetic(2_000, 500, 40_000, skew=1.0, random_state=0)
    users = np.bincount(r.user_indices, minlength=2_000)
    items = np.bincount(r.item_indices, minlength=500)
    assert top_share(users) > 0.04  # uniform activity would give the top 1% about 1%
    assert top_share(items) > 0.04
    flat = synthetic(2_000, 500, 40_000, skew=0.0, random_state=0)
    assert top_share(np.bincount(flat.user_indices, minlength=2_000)) < 0.02
    steep = synthetic(2_000, 500, 40_000, skew=2.0, random_state=0)
    assert top_share(np.bincount(steep.user_indices, minlength=2_000)) > top_share(users)


def test_ratings_follow_the_planted_model():
    noise = 0.5
    r, truth = synthetic(1_000, 300, 30_000, noise=noise, random_state=2, return_truth=True)
    u, i = r.user_indices, r.item_indices
    planted = (
        truth["global_mean"] + truth["user_bias"][u] + truth["item_bias"][i]
        + np.einsum("nk,nk->n", truth["user_factors"][u], truth["item_factors"][i])
    )  # fmt: skip
    inside = (planted > 1.75) & (planted < 4.25)  # clipping is rare there
    residual = (r.values - planted)[inside]
    expected_sd = np.sqrt(noise**2 + 1 / 48)  # noise, then rounding to a half star
    assert abs(residual.mean()) < 0.02
    assert abs(residual.std() - expected_sd) < 0.02
    assert truth["user_factors"].shape == (1_000, 10) and truth["item_factors"].dtype == np.float32
    interaction = np.einsum("nk,mk->nm", truth["user_factors"], truth["item_factors"])
    assert 0.4 < interaction.var() < 0.6


def test_implicit_positives_have_high_planted_affinity():
    r, truth = synthetic(500, 200, 10_000, implicit=True, random_state=4, return_truth=True)
    assert r.implicit and r.nnz == 10_000 and np.all(r.values == 1)
    assert np.all(np.diff(pair_keys(r)) > 0)
    affinity = truth["item_bias"][None, :] + truth["user_factors"] @ truth["item_factors"].T
    positives = affinity[r.user_indices, r.item_indices]
    assert positives.mean() > affinity.mean() + 0.5


def test_no_noise_no_rounding_surprises():
    r, truth = synthetic(50, 30, 500, noise=0.0, random_state=0, return_truth=True)
    u, i = r.user_indices, r.item_indices
    planted = (
        truth["global_mean"] + truth["user_bias"][u] + truth["item_bias"][i]
        + np.einsum("nk,nk->n", truth["user_factors"][u], truth["item_factors"][i])
    )  # fmt: skip
    np.testing.assert_allclose(r.values, np.floor(2 * np.clip(planted, 1, 5) + 0.5) / 2, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(
    n_users=st.integers(1, 40),
    n_items=st.integers(1, 40),
    fill=st.floats(0.01, 1.0),
    skew=st.floats(0.0, 4.0),
    implicit=st.booleans(),
    seed=st.integers(0, 2**32),
)
def test_invariants(n_users, n_items, fill, skew, implicit, seed):
    n_ratings = max(1, int(fill * n_users * n_items))
    r = synthetic(n_users, n_items, n_ratings, rank=3, skew=skew, implicit=implicit, random_state=seed)
    assert r.nnz == n_ratings and r.shape == (n_users, n_items)
    assert np.all(np.diff(pair_keys(r)) > 0)
    assert r.item_indices.min() >= 0 and r.item_indices.max() < n_items


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-10, 10), min_size=1, max_size=60), st.data())
def test_select_smallest(values, data):
    k = data.draw(st.integers(1, len(values)))
    keys = np.array(values)
    idx = np.arange(keys.size, dtype=np.int32)
    _select_smallest(keys, idx, keys.size, k)
    assert sorted(keys[:k].tolist()) == sorted(values)[:k]
    np.testing.assert_array_equal(np.array(values)[idx], keys)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_ratings": 10 * 5 + 1}, ValueError, "exceeds n_users \\* n_items = 50"),
        ({"n_users": 0}, ValueError, "n_users must be >= 1"),
        ({"n_items": 2.5}, TypeError, "n_items must be an integer"),
        ({"n_ratings": True}, TypeError, "n_ratings must be an integer"),
        ({"rank": 0}, ValueError, "rank must be >= 1"),
        ({"noise": -1}, ValueError, "noise must be a finite number >= 0"),
        ({"skew": float("nan")}, ValueError, "skew must be a finite number >= 0"),
        ({"random_state": "seed"}, TypeError, "random_state must be"),
        ({"random_state": -3}, ValueError, "random_state"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    args = {"n_users": 10, "n_items": 5, "n_ratings": 20, **kwargs}
    with pytest.raises(error, match=match):
        synthetic(**args)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(1e-3, 1e3), min_size=1, max_size=50))
def test_alias_table_reproduces_the_weights(weights):
    w = np.array(weights)
    prob, alias = alias_table(w)
    assert np.all((prob >= 0) & (prob <= 1)) and np.all((alias >= 0) & (alias < w.size))
    implied = prob + np.bincount(alias, weights=1 - prob, minlength=w.size)
    np.testing.assert_allclose(implied / w.size, w / w.sum(), rtol=1e-9, atol=1e-12)
