import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import mf
from mf.kernels.adam import adam_epoch
from mf.kernels.als import als_cg_rows, als_solve_rows
from mf.kernels.sgd import balanced_groups, group_by_block, sgd_block, sgd_epoch, sgd_epoch_serial
from mf.kernels.threads import numba_threads

from planted import planted


@pytest.fixture(scope="module")
def small():
    return planted(noise=0.3, seed=1)


# ---------------------------------------------------------------- exact math
@settings(max_examples=40, deadline=None)
@given(
    k=st.integers(1, 40),  # across vector-lane boundaries of the padded Gram scratch
    n_ratings=st.integers(1, 300),  # dual solves, and primal ones over several gathered chunks
    fit_bias=st.booleans(),
    reg=st.floats(0.01, 2.0),
    reg_bias=st.floats(0.01, 2.0),
    seed=st.integers(0, 2**31),
)
def test_als_row_solve_equals_numpy_solve(k, n_ratings, fit_bias, reg, reg_bias, seed):
    rng = np.random.default_rng(seed)
    n_items = 320
    cols = np.sort(rng.choice(n_items, size=min(n_ratings, n_items), replace=False)).astype(np.int32)
    vals = rng.uniform(1, 5, cols.size).astype(np.float32)
    indptr = np.array([0, 0, cols.size], dtype=np.int32)  # row 0 empty, row 1 has ratings
    Y = rng.normal(size=(n_items, k)).astype(np.float32)
    y_bias = rng.normal(size=n_items).astype(np.float32)
    mu = np.float32(3.1)
    X = np.full((2, k), 7.0, dtype=np.float32)
    x_bias = np.full(2, 7.0, dtype=np.float32)
    failed = als_solve_rows(np.array([0, 1]), indptr, cols, vals, Y, y_bias, mu, reg, reg_bias, fit_bias, X, x_bias, 2)
    assert failed == 0
    Yd = Y[cols].astype(np.float64)
    target = vals - mu - y_bias[cols].astype(np.float64)
    if fit_bias:
        Yd = np.hstack([Yd, np.ones((cols.size, 1))])
    penalty = np.full(Yd.shape[1], reg * cols.size)
    if fit_bias:
        penalty[-1] = reg_bias * cols.size
    expected = np.linalg.solve(Yd.T @ Yd + np.diag(penalty), Yd.T @ target)
    np.testing.assert_allclose(X[1], expected[:k], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(x_bias[1], expected[k] if fit_bias else 0.0, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(X[0], 0.0)
    assert x_bias[0] == 0.0


def objective(model, data, reg, reg_bias):
    u, i, v = data.to_coo()
    pred = model.predict(data.users, data.items, clip=False).astype(np.float64)
    n_u = np.bincount(u, minlength=data.n_users)
    n_i = np.bincount(i, minlength=data.n_items)
    P = model.user_factors_.astype(np.float64)
    Q = model.item_factors_.astype(np.float64)
    return (
        np.sum((v - pred) ** 2)
        + reg * (n_u @ (P**2).sum(1) + n_i @ (Q**2).sum(1))
        + reg_bias * (n_u @ model.user_bias_.astype(np.float64) ** 2 + n_i @ model.item_bias_.astype(np.float64) ** 2)
    )


@pytest.mark.parametrize("biases", [True, False])
@pytest.mark.parametrize("cg_steps", [None, 2])
def test_als_objective_never_increases(small, biases, cg_steps):
    values = []
    for epochs in range(1, 7):
        model = mf.MatrixFactorization(factors=6, reg=0.1, reg_bias=0.05, epochs=epochs, biases=biases,
                                       cg_steps=cg_steps, random_state=3).fit(small)
        values.append(objective(model, small, 0.1, 0.05))
    assert all(b <= a * (1 + 1e-6) for a, b in zip(values, values[1:])), values
    assert values[-1] < values[0]


@pytest.mark.parametrize("fit_bias", [True, False])
def test_als_cg_converges_to_the_exact_row_solve(fit_bias):
    rng = np.random.default_rng(5)
    data = planted(n_users=30, n_items=25, rank=4, density=0.5, noise=0.2, seed=5)
    csr = data.to_csr()
    k = 6
    Y = rng.normal(size=(data.n_items, k)).astype(np.float32)
    y_bias = rng.normal(size=data.n_items).astype(np.float32)
    rows = np.arange(data.n_users)
    exact, exact_b = np.zeros((data.n_users, k), np.float32), np.zeros(data.n_users, np.float32)
    als_solve_rows(rows, csr.indptr, csr.indices, csr.data, Y, y_bias, np.float32(3.0), 0.1, 0.2, fit_bias, exact,
                   exact_b, 2)
    errors = []
    for steps in (1, 2, 4, k + 1):
        X, Xb = np.zeros_like(exact), np.zeros_like(exact_b)
        als_cg_rows(rows, csr.indptr, csr.indices, csr.data, Y, y_bias, np.float32(3.0), 0.1, 0.2, fit_bias, steps,
                    X, Xb, 2)
        errors.append(np.abs(X - exact).max() + np.abs(Xb - exact_b).max())
    assert errors == sorted(errors, reverse=True)
    assert errors[-1] < 1e-4  # CG is exact after d = k (+1) steps up to rounding


def loss_one_rating(p, q, bu, bi, mu, r, reg, reg_bias):
    e = r - (mu + bu + bi + p @ q)
    return e * e + reg * (p @ p + q @ q) + reg_bias * (bu * bu + bi * bi)


def numeric_grad(f, x, h=1e-6):
    g = np.zeros_like(x)
    for j in range(x.size):
        d = np.zeros_like(x)
        d[j] = h
        g[j] = (f(x + d) - f(x - d)) / (2 * h)
    return g


def test_sgd_update_is_a_gradient_step():
    rng = np.random.default_rng(0)
    k, lr, reg, reg_bias, mu, r = 5, 0.01, 0.07, 0.03, 3.0, 4.5
    P = rng.normal(size=(1, k)).astype(np.float32)
    Q = rng.normal(size=(1, k)).astype(np.float32)
    bu = np.array([0.3], np.float32)
    bi = np.array([-0.2], np.float32)
    x0 = np.concatenate([P[0], Q[0], bu, bi]).astype(np.float64)

    def f(x):
        return loss_one_rating(x[:k], x[k:2 * k], x[2 * k], x[2 * k + 1], mu, r, reg, reg_bias)

    grad = numeric_grad(f, x0)
    sgd_block(0, 1, np.zeros(1, np.int32), np.zeros(1, np.int32), np.array([r], np.float32), np.uint64(1), False,
              P, Q, bu, bi, np.float32(mu), np.float32(lr), np.float32(reg), np.float32(reg_bias), True)
    after = np.concatenate([P[0], Q[0], bu, bi])
    # Funk's update is a step of lr / 2 along the negative gradient of the per-rating loss.
    np.testing.assert_allclose(after, x0 - lr / 2 * grad, rtol=1e-4, atol=1e-6)


def test_adam_first_step_matches_numeric_gradient():
    rng = np.random.default_rng(1)
    k, n_users, n_items = 4, 3, 4
    users = np.array([0, 1, 1, 2], np.int32)
    items = np.array([0, 1, 3, 0], np.int32)
    values = np.array([4.0, 2.0, 5.0, 3.0], np.float32)
    P = rng.normal(size=(n_users, k)).astype(np.float32)
    Q = rng.normal(size=(n_items, k)).astype(np.float32)
    bu = rng.normal(size=n_users).astype(np.float32)
    bi = rng.normal(size=n_items).astype(np.float32)
    mu, reg, reg_bias, lr, b1, b2, eps = 3.0, 0.05, 0.02, 0.01, 0.9, 0.999, 1e-7
    shapes = [P.shape, Q.shape, bu.shape, bi.shape]
    x0 = np.concatenate([a.ravel() for a in (P, Q, bu, bi)]).astype(np.float64)

    def unpack(x):
        out, pos = [], 0
        for s in shapes:
            n = int(np.prod(s))
            out.append(x[pos:pos + n].reshape(s))
            pos += n
        return out

    def batch_loss(x):
        p, q, a, b = unpack(x)
        return np.mean([loss_one_rating(p[u], q[i], a[u], b[i], mu, r, reg, reg_bias)
                        for u, i, r in zip(users, items, values)])

    g = numeric_grad(batch_loss, x0)
    zeros = np.zeros_like
    state = (zeros(P), zeros(P), zeros(P), zeros(Q), zeros(Q), zeros(Q), zeros(bu), zeros(bu), zeros(bu),
             zeros(bi), zeros(bi), zeros(bi), np.empty(n_users, np.int64), np.empty(n_items, np.int64),
             np.full(n_users, -1, np.int64), np.full(n_items, -1, np.int64))
    adam_epoch(users, items, values, np.array([0, 4]), np.array([0]), 4, P, Q, bu, bi, np.float32(mu), np.float32(lr),
               np.float32(b1), np.float32(b2), np.float32(eps), np.float32(reg), np.float32(reg_bias), True,
               state, 0)
    lr_t = lr * np.sqrt(1 - b2) / (1 - b1)
    m, v = (1 - b1) * g, (1 - b2) * g * g
    touched = np.abs(g) > 0
    expected = x0 - np.where(touched, lr_t * m / (np.sqrt(v) + eps), 0.0)
    after = np.concatenate([a.ravel() for a in (P, Q, bu, bi)])
    np.testing.assert_allclose(after, expected, rtol=1e-4, atol=1e-5)
    assert not touched[n_users * k + 2 * k: n_users * k + 3 * k].any()  # item 2 is in no rating


# ---------------------------------------------------------------- recovery and determinism
@pytest.mark.parametrize("solver,kw", [("als", dict(reg=1e-4, epochs=300)), ("sgd", dict(lr=0.02, reg=1e-4, epochs=300)),
                                       ("adam", dict(lr=0.01, reg=1e-5, epochs=300, batch_size=64))])
def test_recovers_planted_low_rank(solver, kw):
    data = planted(n_users=40, n_items=30, rank=5, density=0.6, seed=2)
    model = mf.MatrixFactorization(factors=5, solver=solver, init_scale=0.3, random_state=0, **kw)
    model.set_params(epochs=kw.get("epochs", 60)).fit(data)
    assert model.history_["train_rmse"][-1] < 0.05
    assert model.score(data) < 0.02


@pytest.mark.parametrize("solver", ["als", "sgd", "adam"])
def test_same_seed_same_factors_any_thread_count(small, solver):
    fits = [mf.MatrixFactorization(factors=4, solver=solver, epochs=3, random_state=7, n_threads=t).fit(small)
            for t in (1, 2, 1)]
    for other in fits[1:]:
        np.testing.assert_array_equal(fits[0].user_factors_, other.user_factors_)
        np.testing.assert_array_equal(fits[0].item_factors_, other.item_factors_)
        np.testing.assert_array_equal(fits[0].user_bias_, other.user_bias_)
    different = mf.MatrixFactorization(factors=4, solver=solver, epochs=3, random_state=8).fit(small)
    assert not np.array_equal(fits[0].item_factors_, different.item_factors_)


def test_parallel_sgd_epoch_equals_serial_epoch(small):
    rng = np.random.default_rng(4)
    groups = 4
    u, i, v = small.to_coo()
    ug = balanced_groups(np.bincount(u, minlength=small.n_users), groups, rng)
    ig = balanced_groups(np.bincount(i, minlength=small.n_items), groups, rng)
    runs = []
    for kernel, threads in ((sgd_epoch_serial, 1), (sgd_epoch, 2), (sgd_epoch, 1)):
        bu, bi, br = np.empty_like(u), np.empty_like(i), np.empty_like(v)
        ptr = np.empty(groups * groups + 1, dtype=np.int64)
        group_by_block(u, i, ug, ig, groups, bu, bi, v, br, ptr)
        P = np.random.default_rng(0).normal(0, 0.1, (small.n_users, 5)).astype(np.float32)
        Q = np.random.default_rng(1).normal(0, 0.1, (small.n_items, 5)).astype(np.float32)
        ub, ib = np.zeros(small.n_users, np.float32), np.zeros(small.n_items, np.float32)
        with numba_threads(threads):
            for epoch in range(3):
                strata = np.roll(np.arange(groups), epoch)
                seeds = np.arange(groups * groups, dtype=np.uint64) + np.uint64(100 * epoch)
                sse = kernel(ptr, bu, bi, br, groups, strata, seeds, True, P, Q, ub, ib, 3.0, 0.01, 0.05, 0.05, True)
        runs.append((P, Q, ub, ib, sse))
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- estimator contract
def test_params_are_stored_untouched_and_round_trip():
    model = mf.MatrixFactorization(factors=3, solver="sgd", random_state=np.random.default_rng(0))
    params = model.get_params()
    assert params["factors"] == 3 and params["solver"] == "sgd" and params["epochs"] is None
    assert model.set_params(reg=0.2) is model and model.reg == 0.2
    with pytest.raises(ValueError, match="not a parameter"):
        model.set_params(regularization=1)
    assert "factors=3" in repr(model)


def test_sklearn_clone(small):
    base = pytest.importorskip("sklearn.base")
    model = mf.MatrixFactorization(factors=3, epochs=2, random_state=0).fit(small)
    copy = base.clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "user_factors_")


def test_fit_returns_self_and_history(small, capsys):
    train = small.subset(np.arange(small.nnz) % 5 != 0)
    test = small.subset(np.arange(small.nnz) % 5 == 0)
    model = mf.MatrixFactorization(factors=4, epochs=3, verbose=1, random_state=0)
    assert model.fit(train, validation=test) is model
    h = model.history_
    assert h["epoch"] == [1, 2, 3]
    assert len(h["train_rmse"]) == len(h["val_rmse"]) == len(h["seconds"]) == 3
    assert h["val_rmse"][-1] == pytest.approx(model.score(test), abs=1e-3)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("Epoch 1/3") and "val_rmse" in lines[0]


def test_early_stopping_restores_best_epoch(small):
    train = small.subset(np.arange(small.nnz) % 4 != 0)
    test = small.subset(np.arange(small.nnz) % 4 == 0)
    model = mf.MatrixFactorization(factors=20, solver="sgd", lr=0.05, reg=0.0, epochs=200, early_stopping=True,
                                   patience=2, random_state=0).fit(train, validation=test)
    val = model.history_["val_rmse"]
    assert len(val) < 200
    assert model.best_epoch_ == int(np.argmin(val)) + 1
    assert model.score(test) == pytest.approx(min(val), abs=2e-3)  # clipping only
    no_val = mf.MatrixFactorization(early_stopping=True)
    with pytest.raises(ValueError, match="validation"):
        no_val.fit(train)


def test_accepts_every_input_form(small):
    u, i, v = small.users, small.items, small.values
    ref = mf.MatrixFactorization(factors=3, epochs=2, random_state=0).fit(small).predict(u[:20], i[:20])
    matrix = sp.coo_matrix((v, (u, i)))
    forms = [(u, i, v), sp.csr_matrix(matrix)]
    pd = pytest.importorskip("pandas")
    forms.append(pd.DataFrame({"u": u, "i": i, "r": v}))
    for form in forms:
        got = mf.MatrixFactorization(factors=3, epochs=2, random_state=0).fit(form).predict(u[:20], i[:20])
        np.testing.assert_allclose(got, ref, rtol=1e-5)
    xy = mf.MatrixFactorization(factors=3, epochs=2, random_state=0).fit(np.column_stack([u, i]), v)
    np.testing.assert_allclose(xy.predict(u[:20], i[:20]), ref, rtol=1e-5)


def test_unknown_policies(small):
    model = mf.MatrixFactorization(factors=3, epochs=2, random_state=0).fit(small)
    known_item = small.item_ids[0]
    mean_pred = model.predict([10**6, 10**6], [known_item, 10**7], clip=False)
    assert mean_pred[0] == pytest.approx(model.global_mean_ + model.item_bias_[0], abs=1e-5)
    assert mean_pred[1] == pytest.approx(model.global_mean_, abs=1e-6)
    model.set_params(unknown="nan")
    assert np.isnan(model.predict([10**6], [known_item])).all()
    model.set_params(unknown="raise")
    with pytest.raises(KeyError, match="1000000"):
        model.predict([10**6, small.user_ids[0]], [known_item, known_item])


def test_predict_shapes_and_clipping(small):
    model = mf.MatrixFactorization(factors=3, epochs=2, random_state=0).fit(small)
    u, i = small.users[:7], small.items[:7]
    out = model.predict(u, i)
    assert out.dtype == np.float32 and out.shape == (7,)
    np.testing.assert_array_equal(model.predict(u.reshape(-1, 1), i.reshape(-1, 1)), out)
    lo, hi = small.rating_range
    assert out.min() >= lo and out.max() <= hi
    np.testing.assert_array_equal(model.predict(u, i, clip=(3.0, 3.5)), np.clip(out, 3.0, 3.5))
    assert model.predict(small.users[0], small.items[0]).shape == (1,)


def test_constant_ratings_predict_the_constant():
    rng = np.random.default_rng(0)
    data = mf.Ratings(rng.integers(0, 30, 400), rng.integers(0, 20, 400), np.full(400, 4.0), duplicates="last")
    for solver in ("als", "sgd", "adam"):
        model = mf.MatrixFactorization(factors=3, solver=solver, epochs=5, random_state=0).fit(data)
        np.testing.assert_allclose(model.predict(data.users, data.items), 4.0, atol=1e-3)


# ---------------------------------------------------------------- persistence
@pytest.mark.parametrize("ids", ["int", "str", "mixed"])
def test_save_load_round_trip(tmp_path, ids):
    rng = np.random.default_rng(0)
    users = rng.integers(0, 30, 500)
    items = rng.integers(0, 20, 500)
    if ids == "str":
        users = np.array([f"user{x}" for x in users])
    if ids == "mixed":
        items = np.array([x if x % 2 else f"item{x}" for x in items], dtype=object)
    data = mf.Ratings(users, items, rng.integers(1, 6, 500), duplicates="last")
    model = mf.MatrixFactorization(factors=3, epochs=2, random_state=0).fit(data)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = mf.load(path)
    assert type(loaded) is mf.MatrixFactorization
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict(data.users, data.items), model.predict(data.users, data.items))
    assert loaded.history_ == model.history_
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_load_rejects_bad_files(tmp_path, small):
    model = mf.MatrixFactorization(factors=3, epochs=1, random_state=0).fit(small)
    good = tmp_path / "good.npz"
    model.save(good)
    blob = good.read_bytes()
    (tmp_path / "truncated.npz").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ValueError, match="truncated or corrupted"):
        mf.load(tmp_path / "truncated.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="not an mf model"):
        mf.load(tmp_path / "text.npz")
    np.savez(tmp_path / "other.npz", a=np.arange(3))
    with pytest.raises(ValueError, match="not an mf model"):
        mf.load(tmp_path / "other.npz")
    import json

    with np.load(good) as npz:
        arrays = dict(npz)
    meta = json.loads(arrays["__mf_meta__"].tobytes())
    meta["version"] = 999
    arrays["__mf_meta__"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(tmp_path / "future.npz", **arrays)
    with pytest.raises(ValueError, match="version 999"):
        mf.load(tmp_path / "future.npz")
    with pytest.raises(FileNotFoundError):
        mf.load(tmp_path / "missing.npz")


def test_save_is_atomic(tmp_path, small, monkeypatch):
    model = mf.MatrixFactorization(factors=3, epochs=1, random_state=0).fit(small)
    path = tmp_path / "model.npz"
    model.save(path)
    before = path.read_bytes()

    def crash(fh, **arrays):
        fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "params,error,match",
    [
        (dict(factors=0), ValueError, "factors"),
        (dict(factors=2.5), TypeError, "factors"),
        (dict(factors="8"), TypeError, "factors"),
        (dict(epochs=0), ValueError, "epochs"),
        (dict(lr=0.0, solver="sgd"), ValueError, "lr"),
        (dict(lr=float("nan")), ValueError, "lr"),
        (dict(reg=-1.0), ValueError, "reg"),
        (dict(reg=0.0), ValueError, "reg must be > 0"),
        (dict(reg_bias=-0.1), ValueError, "reg_bias"),
        (dict(solver="newton"), ValueError, "solver"),
        (dict(unknown="zero"), ValueError, "unknown"),
        (dict(n_threads=0), ValueError, "n_threads"),
        (dict(cg_steps=0), ValueError, "cg_steps"),
        (dict(biases="yes"), TypeError, "biases"),
        (dict(random_state="seed"), TypeError, "random_state"),
    ],
)
def test_bad_parameters(small, params, error, match):
    with pytest.raises(error, match=match):
        mf.MatrixFactorization(**params).fit(small)


def test_bad_fit_and_predict_input(small):
    with pytest.raises(ValueError, match="no ratings"):
        mf.MatrixFactorization().fit(([], [], []))
    with pytest.raises(TypeError, match="X must be"):
        mf.MatrixFactorization().fit("ratings.csv")
    with pytest.raises(ValueError, match="implicit"):
        mf.MatrixFactorization().fit(mf.Ratings([1, 2], [3, 4]))
    model = mf.MatrixFactorization(factors=2, epochs=1)
    with pytest.raises(mf.NotFittedError, match="fit"):
        model.predict([1], [2])
    model.fit(small)
    with pytest.raises(ValueError, match="users has 2 entries but items has 1"):
        model.predict([0, 1], [0])
    with pytest.raises(ValueError, match="shape"):
        model.predict(np.zeros((3, 2)), np.zeros((3, 2)))


def test_validation_without_overlap_warns(small):
    other = mf.Ratings(["x", "y"], ["a", "b"], [3.0, 4.0])
    with pytest.warns(UserWarning, match="shares no"):
        mf.MatrixFactorization(factors=2, epochs=1).fit(small, validation=other)


def test_divergence_raises_fit_error(small):
    with pytest.raises(mf.FitError, match=r"'sgd' diverged at epoch \d+.*smaller lr"):
        mf.MatrixFactorization(solver="sgd", lr=50.0, reg=0.0, epochs=20, random_state=0).fit(small)
