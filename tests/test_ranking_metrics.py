import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import mf
from mf.evaluate import ranking
from mf.metrics import (
    auc,
    coverage,
    hit_rate_at_k,
    map_at_k,
    mrr,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)

L2 = np.log2

# Three users; the third has no relevant item and is never counted.
REC = [[10, 20, 30, 40], [50, 10, -1, -1], [20, 30, 40, 50]]
REL = [{20, 40, 60}, {70}, set()]


def test_hand_computed_at_3():
    # user 0: top-3 = 10, 20, 30 -> one hit (20) at rank 2; 3 relevant items
    # user 1: top-3 = 50, 10, <empty> -> no hit
    assert precision_at_k(REC, REL, k=3) == pytest.approx((1 / 3 + 0) / 2)
    assert recall_at_k(REC, REL, k=3) == pytest.approx((1 / 3 + 0) / 2)
    assert hit_rate_at_k(REC, REL, k=3) == pytest.approx(0.5)
    ideal = 1 + 1 / L2(3) + 1 / L2(4)
    assert ndcg_at_k(REC, REL, k=3) == pytest.approx((1 / L2(3) / ideal + 0) / 2)
    # AP@3 of user 0 = P@2 / min(3, 3) = (1/2) / 3
    assert map_at_k(REC, REL, k=3) == pytest.approx((0.5 / 3 + 0) / 2)
    assert mrr(REC, REL) == pytest.approx((1 / 2 + 0) / 2)


def test_hand_computed_at_4_and_per_user():
    # user 0: hits at ranks 2 and 4
    mean, values = precision_at_k(REC, REL, k=4, per_user=True)
    np.testing.assert_allclose(values, [2 / 4, 0, np.nan])
    assert mean == pytest.approx(0.25)
    _, values = recall_at_k(REC, REL, k=4, per_user=True)
    np.testing.assert_allclose(values, [2 / 3, 0, np.nan])
    _, values = ndcg_at_k(REC, REL, k=4, per_user=True)
    ideal = 1 + 1 / L2(3) + 1 / L2(4)
    np.testing.assert_allclose(values, [(1 / L2(3) + 1 / L2(5)) / ideal, 0, np.nan])
    _, values = map_at_k(REC, REL, k=4, per_user=True)
    np.testing.assert_allclose(values, [(1 / 2 + 2 / 4) / 3, 0, np.nan])
    _, values = mrr(REC, REL, k=1, per_user=True)
    np.testing.assert_allclose(values, [0, 0, np.nan])


def test_fewer_and_more_relevant_than_k():
    # one relevant item, found at rank 2 of 4: AP divides by min(k, |rel|) = 1
    assert map_at_k([[1, 5, 2, 3]], [{5}], k=4) == pytest.approx(0.5)
    assert precision_at_k([[1, 5, 2, 3]], [{5}], k=4) == pytest.approx(0.25)
    assert recall_at_k([[1, 5, 2, 3]], [{5}], k=4) == pytest.approx(1.0)
    # five relevant items, k = 3: hits at ranks 1 and 3
    rel = [{1, 2, 3, 4, 5}]
    assert map_at_k([[1, 9, 2]], rel, k=3) == pytest.approx((1 + 2 / 3) / 3)
    assert recall_at_k([[1, 9, 2]], rel, k=3) == pytest.approx(2 / 5)
    assert precision_at_k([[1, 9, 2]], rel, k=3) == pytest.approx(2 / 3)
    # the ideal list for k = 3 holds three relevant items
    assert ndcg_at_k([[1, 9, 2]], rel, k=3) == pytest.approx((1 + 1 / L2(4)) / (1 + 1 / L2(3) + 1 / L2(4)))


def test_short_lists_count_missing_slots_as_misses():
    assert precision_at_k([[7]], [{7}], k=5) == pytest.approx(1 / 5)
    assert ndcg_at_k([[7]], [{7}], k=5) == pytest.approx(1.0)
    assert map_at_k([[7]], [{7}], k=5) == pytest.approx(1.0)


def test_graded_ndcg():
    rel = [{1: 3.0, 2: 2.0, 3: 1.0}]
    dcg = 1 / 1 + 2 / L2(3) + 3 / L2(4)
    idcg = 3 / 1 + 2 / L2(3) + 1 / L2(4)
    assert ndcg_at_k([[3, 2, 1]], rel, k=3, graded=True) == pytest.approx(dcg / idcg)
    assert ndcg_at_k([[2]], rel, k=1, graded=True) == pytest.approx(2 / 3)
    # without graded=True the gains are ignored
    assert ndcg_at_k([[3, 2, 1]], rel, k=3) == pytest.approx(1.0)


def test_sparse_relevant_matrix_with_gains():
    R = sp.csr_matrix(np.array([[0, 5.0, 0, 1.0], [2.0, 0, 0, 0]]))
    rec = np.array([[3, 1], [2, 1]])
    assert precision_at_k(rec, R, k=2) == pytest.approx((1.0 + 0) / 2)
    # user 0 gets gain 1 at rank 1 and gain 5 at rank 2; ideal is 5 then 1
    expected = (1 + 5 / L2(3)) / (5 + 1 / L2(3))
    _, values = ndcg_at_k(rec, R, k=2, graded=True, per_user=True)
    np.testing.assert_allclose(values, [expected, 0.0])


def test_raw_string_ids_and_none_padding():
    rec = np.array([["a", "b", None], ["c", None, None]], dtype=object)
    rel = [["b"], ["c", "d"]]
    assert precision_at_k(rec, rel, k=3) == pytest.approx((1 / 3 + 1 / 3) / 2)
    assert recall_at_k(rec, rel, k=3) == pytest.approx((1 + 1 / 2) / 2)
    assert mrr(rec, rel) == pytest.approx((1 / 2 + 1) / 2)
    assert precision_at_k(np.array([["a", "b"]]), [{"b"}], k=2) == pytest.approx(0.5)
    assert precision_at_k([[1.0, np.nan]], [{1}], k=2) == pytest.approx(0.5)


def test_auc_hand_computed():
    scores = [[0.9, 0.1, 0.5, 0.3], [1.0, 1.0, 1.0, 0.0]]
    # user 0: positives {0, 3}, negatives {1, 2}: 3 of 4 pairs ordered correctly
    # user 1: positive 0 ties with 1 and 2 (1/2 each) and beats 3: (1/2 + 1/2 + 1) / 3
    mean, values = auc(scores, [{0, 3}, {0}], per_user=True)
    np.testing.assert_allclose(values, [0.75, 2 / 3])
    assert mean == pytest.approx((0.75 + 2 / 3) / 2)
    cand = np.array([[True, True, True, True], [True, False, True, True]])
    _, values = auc(scores, [{0, 3}, {0}], candidates=cand, per_user=True)
    np.testing.assert_allclose(values, [0.75, (1 / 2 + 1) / 2])
    # a user whose every candidate is relevant is not counted
    _, values = auc(scores, [{0, 1, 2, 3}, {0}], per_user=True)
    assert np.isnan(values[0]) and values[1] == pytest.approx(2 / 3)
    # relevant items outside the candidates are ignored
    assert auc([[0.2, 0.9, 0.5]], [{0, 1}], candidates=np.array([True, False, True])) == pytest.approx(0.0)


def test_coverage_hand_computed():
    assert coverage([[0, 1], [1, 2]], 10) == pytest.approx(0.3)
    assert coverage([[0, 1, -1], [1, 2, -1]], 4) == pytest.approx(0.75)
    assert coverage([["a", "b"], ["a", None]], ["a", "b", "c", "d"]) == pytest.approx(0.5)
    assert coverage([["x", "y"]], ["a", "b"]) == 0.0


def reference(rec_row, rel, k):
    """Straight loops from the definitions, one user."""
    top = [x for x in rec_row[:k]]
    hits = [x != -1 and x in rel for x in top]
    n_hit = sum(hits)
    disc = [1 / np.log2(r + 2) for r in range(k)]
    dcg = sum(d for d, h in zip(disc, hits) if h)
    idcg = sum(disc[: min(k, len(rel))])
    ap, seen = 0.0, 0
    for r, h in enumerate(hits):
        if h:
            seen += 1
            ap += seen / (r + 1)
    first = next((r for r, h in enumerate(hits) if h), None)
    return {
        "precision": n_hit / k,
        "recall": n_hit / len(rel),
        "hit_rate": float(n_hit > 0),
        "ndcg": dcg / idcg,
        "map": ap / min(k, len(rel)),
        "mrr": 0.0 if first is None else 1 / (first + 1),
    }


@st.composite
def ranked_lists(draw):
    n_users = draw(st.integers(1, 6))
    width = draw(st.integers(1, 6))
    rec = []
    for _ in range(n_users):
        items = draw(st.lists(st.integers(0, 9), unique=True, min_size=0, max_size=width))
        rec.append(items + [-1] * (width - len(items)))
    rel = [draw(st.sets(st.integers(0, 9), max_size=6)) for _ in range(n_users)]
    if not any(rel):
        rel[0] = {0}
    return rec, rel, draw(st.integers(1, 8))


@settings(max_examples=50, deadline=None)
@given(ranked_lists())
def test_metrics_equal_loop_reference(case):
    rec, rel, k = case
    counted = [u for u in range(len(rec)) if rel[u]]
    refs = [reference(rec[u] + [-1] * k, rel[u], k) for u in counted]
    for name, fn in [("precision", precision_at_k), ("recall", recall_at_k), ("hit_rate", hit_rate_at_k),
                     ("ndcg", ndcg_at_k), ("map", map_at_k), ("mrr", mrr)]:
        mean, values = fn(rec, rel, k=k, per_user=True)
        np.testing.assert_allclose(values[counted], [r[name] for r in refs], atol=1e-12)
        assert np.isnan(np.delete(values, counted)).all()
        assert mean == pytest.approx(np.mean([r[name] for r in refs]))
        assert 0.0 <= mean <= 1.0


def test_auc_without_any_relevant_item_says_it_is_undefined():
    with pytest.raises(ValueError, match="AUC is undefined"):
        auc([[0.1, 0.2], [0.3, 0.4]], [set(), set()])


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 8), st.integers(0, 2**31 - 1))
def test_auc_equals_pair_counting(n_items, seed):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 3, size=(4, n_items)).astype(float)
    rel = [set(np.flatnonzero(rng.random(n_items) < 0.4).tolist()) for _ in range(4)]
    cand = rng.random((4, n_items)) < 0.8
    expected = []
    for u in range(4):
        pos = [i for i in range(n_items) if cand[u, i] and i in rel[u]]
        neg = [i for i in range(n_items) if cand[u, i] and i not in rel[u]]
        if pos and neg:
            wins = sum((scores[u, p] > scores[u, q]) + 0.5 * (scores[u, p] == scores[u, q]) for p in pos for q in neg)
            expected.append(wins / (len(pos) * len(neg)))
        else:
            expected.append(np.nan)
    if np.isnan(expected).all():
        with pytest.raises(ValueError, match="AUC is undefined"):
            auc(scores, rel, candidates=cand)
        return
    _, values = auc(scores, rel, candidates=cand, per_user=True)
    np.testing.assert_allclose(values, expected)


def test_ideal_ranking_scores_one():
    assert ndcg_at_k([[4, 2, 8, 1]], [{2, 4, 8}], k=3) == pytest.approx(1.0)
    assert map_at_k([[4, 2, 8, 1]], [{2, 4, 8}], k=3) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: precision_at_k([[1, 2]], [{1}], k=0), ValueError, "k must be a positive integer"),
        (lambda: precision_at_k([1, 2], [{1}], k=1), ValueError, "2-D"),
        (lambda: precision_at_k([[1, 2], [3]], [{1}, {3}], k=1), ValueError, "rectangular"),
        (lambda: precision_at_k([[1, 2]], [{1}, {2}], k=1), ValueError, "relevant has 2 entries"),
        (lambda: precision_at_k([[1, 1]], [{1}], k=2), ValueError, "twice"),
        (lambda: precision_at_k([[1, 2]], [set()], k=2), ValueError, "no user has a relevant item"),
        (lambda: precision_at_k([[1, 2]], [{"1"}], k=2), TypeError, "same kind of id"),
        (lambda: precision_at_k([[1, 2]], 5, k=2), TypeError, "relevant must be"),
        (lambda: precision_at_k([[1, 2]], [7], k=2), TypeError, r"relevant\[0\]"),
        (lambda: precision_at_k([[1, 2]], sp.csr_matrix((2, 3)), k=2), ValueError, "relevant has 2 rows"),
        (lambda: ndcg_at_k([[1, 2]], [{1: 0.0}], k=2, graded=True), ValueError, "gains"),
        (lambda: ndcg_at_k([[1, 2]], [{1: "high"}], k=2, graded=True), TypeError, "gains"),
        (lambda: auc([[np.nan, 1.0]], [{0}]), ValueError, "NaN"),
        (lambda: auc([1.0, 2.0], [{0}]), ValueError, "2-D"),
        (lambda: auc([[1.0, 2.0]], [{5}]), ValueError, "column indices"),
        (lambda: auc([[1.0, 2.0]], [{0}], candidates=np.ones(3, bool)), ValueError, "candidates"),
        (lambda: auc([[1.0, 2.0]], [{0, 1}]), ValueError, "AUC is undefined"),
        (lambda: coverage([[1, 2]], 0), ValueError, "catalog"),
        (lambda: coverage([[1, 2]], []), ValueError, "catalog"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------------- mf.evaluate.ranking


class ListModel:
    """Recommends one global ranking to everyone, minus the user's training items."""

    def __init__(self, train, order):
        self.train = train
        self.order = order
        self.calls = []

    def recommend(self, users, n=10, exclude_seen=True, items=None, exclude=None):
        self.calls.append((list(users), n, exclude_seen))
        rows = []
        for u in users:
            seen = set(self.train.items[self.train.users == u].tolist())
            top = [i for i in self.order if i not in seen][:n]
            rows.append(top + [None] * (n - len(top)))
        return np.array(rows, dtype=object), np.zeros((len(users), n))


def split_data():
    # (user, item, rating, in_train)
    rows = [
        (1, "a", 3, True), (1, "b", 4, True), (1, "c", 5, False), (1, "e", 2, False),
        (2, "c", 4, True), (2, "a", 4, False), (2, "b", 1, False), (2, "e", 5, False),
        (3, "a", 2, True), (3, "b", 2, True), (3, "c", 2, True), (3, "d", 2, True), (3, "e", 3, False),
        (4, "e", 4, True),
        (5, "d", 5, False),
    ]
    users, items, values, in_train = map(np.array, zip(*rows))
    full = mf.Ratings(users, items, values)
    mask = in_train[np.lexsort((items, users))]
    return full.subset(mask), full.subset(~mask)


def test_ranking_hand_computed_with_threshold():
    train, test = split_data()
    model = ListModel(train, ["a", "b", "c", "d", "e"])
    result = ranking(model, train, test, k=2, relevance_threshold=4)
    # relevant: user 1 {c}, user 2 {a, e}; user 3's only test rating is 3; user 5 has no training data
    # user 1 gets [c, d] (a, b seen): hit at rank 1
    # user 2 gets [a, b] (c seen): hit at rank 1, two relevant items
    assert result["n_users"] == 2 and result["n_skipped_users"] == 1
    assert result["precision"] == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert result["recall"] == pytest.approx((1 + 1 / 2) / 2)
    assert result["ndcg"] == pytest.approx((1 + 1 / (1 + 1 / L2(3))) / 2)
    assert result["map"] == pytest.approx((1 + 1 / 2) / 2)
    assert result["hit_rate"] == pytest.approx(1.0)
    assert result["mrr"] == pytest.approx(1.0)
    # a, b, c, d of the five trained items were recommended
    assert result["coverage"] == pytest.approx(4 / 5)
    assert all(n == 2 and seen for _, n, seen in model.calls)


def test_ranking_all_test_items_relevant_and_batches():
    train, test = split_data()
    results = []
    for batch_size in (1, 2, 100):
        model = ListModel(train, ["a", "b", "c", "d", "e"])
        results.append(ranking(model, train, test, k=2, batch_size=batch_size, per_user=True))
        assert max(len(users) for users, _, _ in model.calls) == min(batch_size, 3)
    r = results[0]
    # user 1: [c, d] vs {c, e}; user 2: [a, b] vs {a, b, e}; user 3: [e, -] vs {e}
    assert r["users"].tolist() == [1, 2, 3]
    np.testing.assert_allclose(r["per_user"]["precision"], [1 / 2, 1, 1 / 2])
    np.testing.assert_allclose(r["per_user"]["recall"], [1 / 2, 2 / 3, 1])
    np.testing.assert_allclose(r["per_user"]["map"], [1 / 2, 1, 1])
    assert r["coverage"] == pytest.approx(1.0)
    for other in results[1:]:
        for name in ("precision", "recall", "ndcg", "map", "hit_rate", "mrr", "coverage", "n_users"):
            assert other[name] == r[name]


def test_ranking_explicit_users_keep_order_and_uncounted_users():
    train, test = split_data()
    model = ListModel(train, ["a", "b", "c", "d", "e"])
    r = ranking(model, train, test, k=2, relevance_threshold=4, users=[3, 1], per_user=True)
    assert r["users"].tolist() == [3, 1]
    assert r["n_users"] == 1
    assert np.isnan(r["per_user"]["precision"][0]) and r["per_user"]["precision"][1] == pytest.approx(0.5)
    assert r["precision"] == pytest.approx(0.5)
    assert model.calls[0][0] == [3, 1]


class BadShapeModel:
    def recommend(self, users, n=10, exclude_seen=True):
        return np.zeros((len(users) + 1, n), dtype=np.int64), None


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"model": object()}, TypeError, "recommend"),
        ({"train": [1, 2]}, TypeError, "train must be mf.Ratings"),
        ({"test": None}, TypeError, "test must be mf.Ratings"),
        ({"k": 0}, ValueError, "k must be a positive integer"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"relevance_threshold": float("nan")}, ValueError, "relevance_threshold"),
        ({"relevance_threshold": 6}, ValueError, "nothing to evaluate"),
        ({"users": [1, 1]}, ValueError, "repeated"),
        ({"users": [[1]]}, ValueError, "1-D"),
        ({"users": [4]}, ValueError, "none of the evaluated users"),
        ({"model": BadShapeModel()}, ValueError, "shape"),
    ],
)
def test_ranking_bad_input(kwargs, error, match):
    train, test = split_data()
    args = {"model": ListModel(train, ["a", "b"]), "train": train, "test": test, "k": 2}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        ranking(**args)
