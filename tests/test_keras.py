"""Tests of the Keras-compatible front mf.keras."""

import io
import re
from contextlib import redirect_stdout

import numba
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mf.keras as keras
from mf.keras import backend, callbacks, initializers, optimizers, regularizers, utils
from mf.keras.layers import Add, Concatenate, Dense, Dot, Embedding, Flatten, Input, Multiply
from mf.keras.models import Model, load_model
from mf.kernels import keras_graph as kg

SEED_SUMMARY = """\
Model: "functional"
┏━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┓
┃ Layer (type)        ┃ Output Shape      ┃    Param # ┃ Connected to      ┃
┡━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━┩
│ input_layer         │ (None, 1)         │          0 │ -                 │
│ (InputLayer)        │                   │            │                   │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ input_layer_1       │ (None, 1)         │          0 │ -                 │
│ (InputLayer)        │                   │            │                   │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ embedding           │ (None, 1, 50)     │     47,150 │ input_layer[0][0] │
│ (Embedding)         │                   │            │                   │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ embedding_1         │ (None, 1, 50)     │     84,100 │ input_layer_1[0]… │
│ (Embedding)         │                   │            │                   │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ flatten (Flatten)   │ (None, 50)        │          0 │ embedding[0][0]   │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ flatten_1 (Flatten) │ (None, 50)        │          0 │ embedding_1[0][0] │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ dot (Dot)           │ (None, 1)         │          0 │ flatten[0][0],    │
│                     │                   │            │ flatten_1[0][0]   │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ dense (Dense)       │ (None, 64)        │        128 │ dot[0][0]         │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ dense_1 (Dense)     │ (None, 1)         │         65 │ dense[0][0]       │
└─────────────────────┴───────────────────┴────────────┴───────────────────┘
 Total params: 131,443 (513.45 KB)
 Trainable params: 131,443 (513.45 KB)
 Non-trainable params: 0 (0.00 B)
"""


def seed_model(num_users=943, num_movies=1682, dim=50):
    """The seed model, verbatim."""
    user_input = Input(shape=(1,))
    movie_input = Input(shape=(1,))
    user_embedding = Embedding(num_users, dim)(user_input)
    movie_embedding = Embedding(num_movies, dim)(movie_input)
    user_vecs = Flatten()(user_embedding)
    movie_vecs = Flatten()(movie_embedding)
    prod = Dot(axes=1)([user_vecs, movie_vecs])
    dense = Dense(64, activation='relu')(prod)
    output = Dense(1)(dense)
    return Model(inputs=[user_input, movie_input], outputs=output)


def biased_dot_model(n_users=6, n_items=5, dim=3, reg=None):
    u, i = Input(shape=(1,)), Input(shape=(1,))
    dot = Dot(axes=1)([Flatten()(Embedding(n_users, dim, embeddings_regularizer=reg)(u)),
                       Flatten()(Embedding(n_items, dim)(i))])
    out = Add()([dot, Flatten()(Embedding(n_users, 1)(u)), Flatten()(Embedding(n_items, 1)(i))])
    return Model([u, i], out)


def ncf_model(n_users=6, n_items=5, dim=4, last_activation=None):
    u, i = Input(shape=(1,)), Input(shape=(1,))
    eu, ei = Flatten()(Embedding(n_users, dim)(u)), Flatten()(Embedding(n_items, dim)(i))
    gmf = Multiply()([eu, ei])
    tower = Dense(8, activation="tanh")(Concatenate()([eu, ei]))
    tower = Dense(4, activation="sigmoid", use_bias=False)(tower)
    out = Dense(1, activation=last_activation)(Concatenate()([gmf, tower]))
    return Model([u, i], out)


@pytest.fixture(autouse=True)
def fresh_session():
    backend.clear_session()
    utils.set_random_seed(1234)


def toy_data(n=200, n_users=6, n_items=5, seed=0):
    rng = np.random.default_rng(seed)
    users = rng.integers(0, n_users, n)
    items = rng.integers(0, n_items, n)
    y = (1 + (users % 3) + (items % 2) + rng.normal(0, 0.1, n)).astype(np.float32)
    return users, items, y


# --- summary, names, weights ---------------------------------------------------------------

def test_seed_summary_matches_keras_exactly(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    model = seed_model()
    model.compile(optimizer='adam', loss='mean_squared_error')
    out = io.StringIO()
    with redirect_stdout(out):
        assert model.summary() is None
    assert out.getvalue() == SEED_SUMMARY
    captured = []
    model.summary(print_fn=captured.append)
    assert captured == [SEED_SUMMARY]


def test_names_are_process_global_counters():
    first, second = seed_model(5, 4, 2), seed_model(5, 4, 2)
    assert first.name == "functional" and second.name == "functional_1"
    assert [layer.name for layer in second.layers] == [
        "input_layer_2", "input_layer_3", "embedding_2", "embedding_3", "flatten_2",
        "flatten_3", "dot_1", "dense_2", "dense_3"]


def test_get_weights_order_shapes_and_initialisers():
    model = seed_model()
    w = model.get_weights()
    assert [a.shape for a in w] == [(943, 50), (1682, 50), (1, 64), (64,), (64, 1), (1,)]
    assert all(a.dtype == np.float32 for a in w)
    assert [v.path for v in model.weights] == [
        "embedding/embeddings", "embedding_1/embeddings", "dense/kernel", "dense/bias",
        "dense_1/kernel", "dense_1/bias"]
    assert np.abs(w[0]).max() <= 0.05 and np.abs(w[1]).max() <= 0.05 and w[0].std() > 0.02
    limit = np.sqrt(6 / 65)
    assert np.abs(w[2]).max() <= limit and np.abs(w[4]).max() <= limit
    assert not w[3].any() and not w[5].any()


def test_set_random_seed_makes_models_reproducible():
    utils.set_random_seed(3)
    a = seed_model(10, 8, 4).get_weights()
    utils.set_random_seed(3)
    b = seed_model(10, 8, 4).get_weights()
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def numpy_forward(weights, users, items, kind):
    """Independent numpy implementation of the three test graphs."""
    if kind == "seed":
        U, V, K1, b1, K2, b2 = weights
        dot = (U[users] * V[items]).sum(axis=1, keepdims=True)
        return np.maximum(dot @ K1 + b1, 0) @ K2 + b2
    if kind == "biased":
        U, V, bu, bi = weights
        return (U[users] * V[items]).sum(axis=1, keepdims=True) + bu[users] + bi[items]
    U, V, K1, b1, K2, K3, b3 = weights
    eu, ei = U[users], V[items]
    t = np.tanh(np.concatenate([eu, ei], axis=1) @ K1 + b1)
    t = 1 / (1 + np.exp(-(t @ K2)))
    return np.concatenate([eu * ei, t], axis=1) @ K3 + b3


@pytest.mark.parametrize("kind", ["seed", "biased", "ncf"])
def test_set_weights_then_predict_equals_numpy_forward(kind):
    model = {"seed": lambda: seed_model(6, 5, 3), "biased": biased_dot_model,
             "ncf": ncf_model}[kind]()
    rng = np.random.default_rng(5)
    weights = [rng.normal(0, 0.7, w.shape).astype(np.float32) for w in model.get_weights()]
    model.set_weights(weights)
    users, items, _ = toy_data(50)
    expected = numpy_forward([w.astype(np.float64) for w in weights], users, items, kind)
    got = model.predict([users, items])
    assert got.shape == (50, 1) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_set_weights_rejects_wrong_count_and_shape():
    model = biased_dot_model()
    weights = model.get_weights()
    with pytest.raises(ValueError, match="4 weight arrays"):
        model.set_weights(weights[:3])
    weights[1] = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"Model '.*': weight embedding_1/embeddings has shape \(5, 3\); got an"):
        model.set_weights(weights)
    layer = model.layers[2]
    owner = f"Embedding layer '{layer.name}'"
    with pytest.raises(ValueError, match=rf"{owner} has 1 weight arrays \({layer.name}/embeddings\); got 2"):
        layer.set_weights([np.zeros((6, 3))] * 2)
    with pytest.raises(ValueError, match=rf"{owner}: weight {layer.name}/embeddings has shape"):
        layer.set_weights([np.zeros((6, 2))])


# --- gradient checks -------------------------------------------------------------------------

def _loss_and_grad(model, params, users, items, y, loss):
    ops, _, out_sigmoid = model._train_plan(keras.losses.get(loss))
    ids = np.stack([users, items]).astype(np.int32)
    rows = np.arange(len(users))
    n = len(users)
    acts = np.zeros((model._width, n))
    dacts = np.zeros_like(acts)
    grad = np.zeros_like(params)
    lossobj = keras.losses.get(loss)
    _, groups, _ = model._train_plan(lossobj)
    value = kg.batch_gradients(ops, model._op_inputs, groups, params, ids, rows, n,
                               y.reshape(n, -1).astype(np.float64), lossobj._code,
                               getattr(lossobj, "delta", 0.0), model._out_off, model._out_w,
                               out_sigmoid, acts, dacts, grad, np.zeros(0),
                               np.zeros(model._mask_rows, dtype=np.uint8))
    return value, grad


def _dot_model(normalize):
    u, i = Input(shape=(1,)), Input(shape=(1,))
    a, b = Embedding(6, 4)(u), Embedding(5, 4)(i)
    out = Dot(axes=2, normalize=normalize)([a, b])
    return Model([u, i], Dense(1, activation="relu")(Flatten()(out)))


GRAPHS = {
    "seed": lambda: seed_model(6, 5, 3),
    "biased": biased_dot_model,
    "ncf": ncf_model,
    "ncf_sigmoid": lambda: ncf_model(last_activation="sigmoid"),
    "cosine": lambda: _dot_model(True),
    "dot3d": lambda: _dot_model(False),
}


@pytest.mark.parametrize("graph,loss", [
    ("seed", "mse"), ("biased", "mse"), ("biased", "huber"), ("ncf", "mse"),
    ("ncf_sigmoid", "binary_crossentropy"), ("ncf", "mae"), ("cosine", "mse"),
    ("dot3d", "mse"), ("ncf", keras.losses.BinaryCrossentropy(from_logits=True)),
])
def test_backward_matches_finite_differences(graph, loss):
    model = GRAPHS[graph]()
    rng = np.random.default_rng(11)
    for w in model.weights:
        w.assign(rng.normal(0, 0.6, w.shape))
    params = model._flat.astype(np.float64)
    users, items, y = toy_data(12, seed=2)
    if graph.startswith("ncf_sigmoid") or not isinstance(loss, str):
        y = (y > 2.5).astype(np.float32)
    _, grad = _loss_and_grad(model, params, users, items, y, loss)
    eps = 1e-6
    numeric = np.zeros_like(params)
    for k in range(params.size):
        plus, minus = params.copy(), params.copy()
        plus[k] += eps
        minus[k] -= eps
        numeric[k] = (_loss_and_grad(model, plus, users, items, y, loss)[0]
                      - _loss_and_grad(model, minus, users, items, y, loss)[0]) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


# --- optimizers: Keras's update math, dense over embedding tables ----------------------------

def keras_reference_steps(opt_name, U, V, users, items, y, steps):
    """Keras 3's update rules in float32 numpy, for the plain dot model, full batch."""
    U, V = U.copy(), V.copy()
    f = np.float32
    state = {k: [np.zeros_like(U), np.zeros_like(V)] for k in ("m", "v")}
    if opt_name == "adagrad":
        state["v"] = [np.full_like(U, 0.1), np.full_like(V, 0.1)]
    for t in range(1, steps + 1):
        e = (U[users] * V[items]).sum(axis=1) - y
        slices = [(users, (2 * e / len(y))[:, None] * V[items]),
                  (items, (2 * e / len(y))[:, None] * U[users])]
        for k, (W, (rows, values)) in enumerate(zip((U, V), slices)):
            # Keras gets IndexedSlices: g sums the slices of a row, g2 their squares.
            g, g2 = np.zeros_like(W), np.zeros_like(W)
            np.add.at(g, rows, values)
            np.add.at(g2, rows, values * values)
            m, v = state["m"][k], state["v"][k]
            if opt_name == "adam":
                lr, b1, b2, eps = f(0.01), f(0.9), f(0.999), f(1e-7)
                alpha = lr * np.sqrt(f(1) - b2 ** f(t)) / (f(1) - b1 ** f(t))
                m += (g - m) * (f(1) - b1)
                v += (g2 - v) * (f(1) - b2)
                W -= (m * alpha) / (np.sqrt(v) + eps)
            elif opt_name == "rmsprop":
                v[...] = f(0.9) * v + f(0.1) * g2
                W -= f(0.01) * g / np.sqrt(v + f(1e-7))
            elif opt_name == "adagrad":
                v += g2
                W -= f(0.01) * g / np.sqrt(v + f(1e-7))
            else:
                m[...] = m * f(0.9) - g * f(0.01)
                W += m
    return U, V


@pytest.mark.parametrize("opt_name,opt,n_users", [
    ("adam", lambda: optimizers.Adam(learning_rate=0.01), 6),
    ("adam", lambda: optimizers.Adam(learning_rate=0.01), 40000),  # parallel row blocks
    ("rmsprop", lambda: optimizers.RMSprop(learning_rate=0.01), 6),
    ("adagrad", lambda: optimizers.Adagrad(learning_rate=0.01), 6),
    ("momentum", lambda: optimizers.SGD(learning_rate=0.01, momentum=0.9), 6),
])
def test_optimizer_steps_equal_keras_update_rules(opt_name, opt, n_users):
    u, i = Input(shape=(1,)), Input(shape=(1,))
    model = Model([u, i], Dot(axes=1)([Flatten()(Embedding(n_users, 3)(u)),
                                       Flatten()(Embedding(5, 3)(i))]))
    model.compile(optimizer=opt(), loss="mse")
    U, V = model.get_weights()
    users = np.array([0, 1, 1, 3])  # rows 2, 4, 5 of U are never touched
    items = np.array([0, 2, 2, 1])
    y = np.array([1.0, 2.0, 0.5, 1.5], dtype=np.float32)
    model.fit([users, items], y, batch_size=4, epochs=5, shuffle=False, verbose=0)
    expected = keras_reference_steps(opt_name, U, V, users, items, y, 5)
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-7)
    if opt_name in ("adam", "momentum"):  # dense update: untouched rows move after a touch
        assert np.any(model.get_weights()[0][[0, 1, 3]] != U[[0, 1, 3]])
    assert np.array_equal(model.get_weights()[0][[2, 4, 5]], U[[2, 4, 5]])
    assert model.optimizer.iterations == 5


def _dense_reference(opt, U, V, users, items, y, epochs, batch_size):
    """Keras's dense update of both tables of the plain dot model in float64, batches in
    order; ``opt`` is an mf.keras optimizer whose settings are used."""
    U, V = U.astype(np.float64), V.astype(np.float64)
    states = [{k: np.zeros_like(W) for k in ("m", "v", "ag")} for W in (U, V)]
    lr = opt.learning_rate
    t = 0
    for _ in range(epochs):
        for lo in range(0, len(y), batch_size):
            t += 1
            bu, bi, by = users[lo:lo + batch_size], items[lo:lo + batch_size], y[lo:lo + batch_size]
            e = (U[bu] * V[bi]).sum(axis=1) - by
            slices = [(bu, (2 * e / len(by))[:, None] * V[bi]),
                      (bi, (2 * e / len(by))[:, None] * U[bu])]
            for W, st, (rows, values) in zip((U, V), states, slices):
                g, g2 = np.zeros_like(W), np.zeros_like(W)
                np.add.at(g, rows, values)
                np.add.at(g2, rows, values * values)
                m, v, ag = st["m"], st["v"], st["ag"]
                if isinstance(opt, optimizers.Adam):
                    alpha = lr * np.sqrt(1 - opt.beta_2 ** t) / (1 - opt.beta_1 ** t)
                    m += (g - m) * (1 - opt.beta_1)
                    v += (g2 - v) * (1 - opt.beta_2)
                    W -= m * alpha / (np.sqrt(v) + opt.epsilon)
                elif isinstance(opt, optimizers.RMSprop):
                    v[...] = opt.rho * v + (1 - opt.rho) * g2
                    ag[...] = opt.rho * ag + (1 - opt.rho) * g
                    den = v - ag * ag + opt.epsilon if opt.centered else v + opt.epsilon
                    m[...] = opt.momentum * m + lr * g / np.sqrt(den)
                    W -= m
                else:
                    m[...] = opt.momentum * m - lr * g
                    W += m * opt.momentum - lr * g if opt.nesterov else m
    return U, V


LAZY_CASES = {
    "adam": (0.05, 1.0, lambda: optimizers.Adam(learning_rate=0.01)),
    "adam-sqrt(v)~epsilon": (1e-3, 1e-3, lambda: optimizers.Adam(learning_rate=1e-4)),
    # betas where the closed form would be off by 10%: every row is updated at every step
    "adam-beta_2=0.95": (1e-3, 1e-3, lambda: optimizers.Adam(learning_rate=1e-4, beta_2=0.95)),
    "rmsprop": (0.05, 1.0, lambda: optimizers.RMSprop(learning_rate=0.01)),
    "rmsprop-centered-momentum": (0.05, 1.0, lambda: optimizers.RMSprop(
        learning_rate=0.01, momentum=0.5, centered=True)),
    "momentum": (0.05, 1.0, lambda: optimizers.SGD(learning_rate=0.05, momentum=0.9)),
    "nesterov": (0.05, 1.0, lambda: optimizers.SGD(learning_rate=0.05, momentum=0.9,
                                                   nesterov=True)),
}


@pytest.mark.parametrize("per_batch_callback", [False, True])
@pytest.mark.parametrize("case", list(LAZY_CASES))
def test_lazy_rows_follow_keras_dense_update(case, per_batch_callback):
    """Adam, RMSprop and momentum move the rows a batch does not touch (Keras updates the
    table densely).  mf.keras updates every row at every step under RMSprop and momentum,
    and under Adam when a callback sees every batch; otherwise Adam brings a skipped row up
    to date in closed form when a batch reads it, and every row at the end of fit.  Rows
    skip 1 to 7 steps here.  The second case has gradients whose sqrt(v) is about epsilon,
    where Adam's closed form is approximate."""
    init, y_scale, make = LAZY_CASES[case]
    u, i = Input(shape=(1,)), Input(shape=(1,))
    init = initializers.RandomUniform(-init, init, seed=3)
    model = Model([u, i], Dot(axes=1)([
        Flatten()(Embedding(7, 4, embeddings_initializer=init)(u)),
        Flatten()(Embedding(5, 4, embeddings_initializer=init)(i))]))
    model.compile(optimizer=make(), loss="mse")
    start = model.get_weights()
    users = np.array([0, 1, 2, 3, 0, 4, 5, 1, 0, 2, 6, 3, 0, 0, 1, 5])
    items = np.array([0, 1, 0, 2, 3, 1, 0, 0, 4, 4, 2, 0, 1, 0, 3, 3])
    y = (np.arange(16, dtype=np.float32) % 5 + 1) * np.float32(y_scale)
    seen = []
    hooks = [callbacks.LambdaCallback(on_batch_end=lambda batch, logs: seen.append(batch))] \
        if per_batch_callback else None
    model.fit([users, items], y, batch_size=2, epochs=3, shuffle=False, verbose=0,
              callbacks=hooks)
    assert len(seen) == (24 if per_batch_callback else 0)
    reference = _dense_reference(model.optimizer, *start, users, items, y, 3, 2)
    lr = model.optimizer.learning_rate
    for got, want, w0 in zip(model.get_weights(), reference, start):
        np.testing.assert_allclose(got - w0, want - w0, rtol=1e-4, atol=1e-4 * lr)
    assert model.optimizer.iterations == 24


def test_adam_is_lazy_only_where_its_closed_form_is_accurate():
    assert optimizers.Adam()._lazy()
    assert not optimizers.Adam(beta_2=0.98)._lazy()
    assert not optimizers.Adam(beta_1=0.999, beta_2=0.99)._lazy()
    assert optimizers.Adam(beta_1=0.0)._lazy()
    assert not optimizers.RMSprop()._lazy() and not optimizers.SGD(momentum=0.9)._lazy()


def test_adam_lazy_row_after_a_long_gap():
    """A row read again after more steps than the closed form's power table holds."""
    u, i = Input(shape=(1,)), Input(shape=(1,))
    model = Model([u, i], Dot(axes=1)([Flatten()(Embedding(3, 2)(u)),
                                       Flatten()(Embedding(3, 2)(i))]))
    model.compile(optimizer=optimizers.Adam(learning_rate=0.01), loss="mse")
    start = model.get_weights()
    users = np.array([0] + [1, 2] * 600 + [0, 0])
    items = np.array([0] + [1, 2] * 600 + [0, 1])
    y = np.ones(len(users), dtype=np.float32)
    model.fit([users, items], y, batch_size=1, epochs=1, shuffle=False, verbose=0)
    reference = _dense_reference(model.optimizer, *start, users, items, y, 1, 1)
    for got, want, w0 in zip(model.get_weights(), reference, start):
        np.testing.assert_allclose(got - w0, want - w0, rtol=1e-4, atol=1e-6)


def test_loss_reprs_show_their_settings():
    assert [repr(x) for x in (keras.losses.Huber(delta=2.0), keras.losses.Huber(),
                              keras.losses.BinaryCrossentropy(from_logits=True), keras.losses.get("mse"))] == [
        "Huber(delta=2.0)", "Huber()", "BinaryCrossentropy(from_logits=True)", "MeanSquaredError()"]


def test_regularizer_names_and_defaults_are_keras_3s():
    # Keras 3.15: get('l1'/'l2') -> 0.01, get('l1l2'/'L1L2') -> 0.0 and 0.0, l1_l2 is L1L2, 'l1_l2' is rejected
    assert regularizers.get("l1").get_config() == {"l1": 0.01}
    assert regularizers.get("L2").get_config() == {"l2": 0.01}
    assert regularizers.get("l1l2").get_config() == regularizers.get("L1L2").get_config() == {"l1": 0.0, "l2": 0.0}
    assert regularizers.l1_l2 is regularizers.L1L2
    assert regularizers.l1_l2(l1=0.1).get_config() == {"l1": 0.1, "l2": 0.0}
    with pytest.raises(ValueError, match="'l1_l2' is not a supported regularizer"):
        regularizers.get("l1_l2")


def test_regularizer_penalty_is_in_the_loss_and_decays_every_row():
    model = biased_dot_model(reg=regularizers.L2(0.1))
    model.compile(optimizer="sgd", loss="mse")
    users, items, y = toy_data(40)
    before = model.get_weights()[0]
    penalty = 0.1 * float((before.astype(np.float64) ** 2).sum())
    pred = model.predict([users, items])[:, 0].astype(np.float64)
    expected = float(((pred - y) ** 2).mean()) + penalty
    assert model.evaluate([users, items], y, verbose=0) == pytest.approx(expected, rel=1e-5)
    model.fit([users[:3], items[:3]], y[:3], batch_size=1, shuffle=False, verbose=0)
    after = model.get_weights()[0]
    untouched = [r for r in range(6) if r not in users[:3]]
    assert untouched
    np.testing.assert_allclose(after[untouched], before[untouched] * (1 - 0.01 * 0.2) ** 3,
                               rtol=1e-6)


# --- fit, History, callbacks ---------------------------------------------------------------

def test_history_contents_and_params():
    model = biased_dot_model()
    model.compile(optimizer="adam", loss="mse", metrics=["mae", "RootMeanSquaredError"])
    users, items, y = toy_data(100)
    h = model.fit([users, items], y, batch_size=16, epochs=3, verbose=0,
                  validation_data=([users[:30], items[:30]], y[:30]))
    assert model.history is h
    assert list(h.history) == ["RootMeanSquaredError", "loss", "mae",  # Keras 3's order
                               "val_RootMeanSquaredError", "val_loss", "val_mae"]
    assert all(type(v) is float for vals in h.history.values() for v in vals)
    assert all(len(v) == 3 for v in h.history.values())
    assert h.epoch == [0, 1, 2]
    assert h.params == {"verbose": 0, "epochs": 3, "steps": 7}
    assert h.history["val_RootMeanSquaredError"][-1] == pytest.approx(
        np.sqrt(h.history["val_loss"][-1]), rel=1e-6)
    val = model.evaluate([users[:30], items[:30]], y[:30], verbose=0, return_dict=True)
    assert val["loss"] == pytest.approx(h.history["val_loss"][-1], rel=1e-6)
    h2 = model.fit([users, items], y, epochs=3, initial_epoch=1, verbose=0)
    assert h2.epoch == [1, 2] and list(h2.history) == ["RootMeanSquaredError", "loss", "mae"]


def test_loss_is_sample_weighted_mean_of_batch_losses():
    model = biased_dot_model()
    model.compile(optimizer="sgd", loss="mse")
    users, items, y = toy_data(10)
    seen = []
    record = callbacks.LambdaCallback(
        on_train_batch_begin=lambda b, logs: seen.append(
            model.evaluate([users[idx[b]], items[idx[b]]], y[idx[b]], verbose=0)))
    idx = [np.arange(0, 4), np.arange(4, 8), np.arange(8, 10)]
    h = model.fit([users, items], y, batch_size=4, shuffle=False, verbose=0, callbacks=[record])
    expected = (4 * seen[0] + 4 * seen[1] + 2 * seen[2]) / 10
    assert h.history["loss"][0] == pytest.approx(expected, rel=1e-5)


def test_validation_split_takes_the_last_fraction():
    model = biased_dot_model()
    model.compile(optimizer="sgd", loss="mse")
    users, items, y = toy_data(100)
    h = model.fit([users, items], y, validation_split=0.25, epochs=1, verbose=0, batch_size=10)
    assert h.params["steps"] == 8
    assert h.history["val_loss"][0] == pytest.approx(
        model.evaluate([users[75:], items[75:]], y[75:], verbose=0), rel=1e-6)


def test_early_stopping_restores_best_weights():
    model = biased_dot_model()
    model.compile(optimizer=optimizers.SGD(learning_rate=0.2), loss="mse")
    users, items, y = toy_data(120)
    snapshots = []
    keep = callbacks.LambdaCallback(on_epoch_end=lambda e, logs: snapshots.append(
        (logs["val_loss"], model.get_weights())))
    stop = callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    # Validating on shifted targets makes the validation loss turn up quickly.
    h = model.fit([users, items], y, epochs=40, verbose=0, callbacks=[keep, stop],
                  validation_data=([users, items], y + 3 * (users % 2)))
    losses = h.history["val_loss"]
    assert len(losses) < 40 and stop.stopped_epoch == len(losses) - 1
    best = int(np.argmin(losses))
    assert best == len(losses) - 3
    for got, want in zip(model.get_weights(), snapshots[best][1]):
        np.testing.assert_array_equal(got, want)


def test_model_checkpoint_and_save_load_roundtrip(tmp_path):
    model = ncf_model()
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    users, items, y = toy_data(60)
    path = tmp_path / "best-{epoch:02d}.keras"
    ckpt = callbacks.ModelCheckpoint(str(path), monitor="loss", save_best_only=True)
    model.fit([users, items], y, epochs=2, verbose=0, callbacks=[ckpt])
    assert (tmp_path / "best-02.keras").exists()
    model.save(tmp_path / "m.keras")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")] == []
    loaded = load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict([users, items]), model.predict([users, items]))
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert loaded.optimizer.iterations == model.optimizer.iterations
    # Training on from the saved state gives what training on gives.
    h1 = model.fit([users, items], y, epochs=1, verbose=0, shuffle=False)
    h2 = loaded.fit([users, items], y, epochs=1, verbose=0, shuffle=False)
    assert h1.history["loss"] == pytest.approx(h2.history["loss"], rel=1e-6)
    model.save_weights(tmp_path / "w.npz")
    fresh = ncf_model()
    fresh.load_weights(tmp_path / "w.npz")
    np.testing.assert_array_equal(fresh.predict([users, items]), model.predict([users, items]))
    with pytest.raises(ValueError, match="not a file written by mf.keras"):
        (tmp_path / "junk").write_bytes(b"junk")
        load_model(tmp_path / "junk")


def test_verbose_output_formats():
    model = biased_dot_model()
    model.compile(optimizer="adam", loss="mse")
    users, items, y = toy_data(100)
    out = io.StringIO()
    with redirect_stdout(out):
        model.fit([users, items], y, batch_size=32, epochs=2, verbose=2,
                  validation_data=([users, items], y))
    lines = out.getvalue().splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    assert re.fullmatch(r"4/4 - \d+s - \d+(us|ms)/step - loss: \d+\.\d{4} - val_loss: "
                        r"\d+\.\d{4}", lines[1])
    out = io.StringIO()
    with redirect_stdout(out):
        model.fit([users, items], y, batch_size=32, epochs=1)
    assert re.fullmatch(r"4/4 ━{20} \d+s \d+(us|ms)/step - loss: \d+\.\d{4}\n", out.getvalue())
    out = io.StringIO()
    with redirect_stdout(out):
        model.predict([users, items], verbose=1)
        model.evaluate([users, items], y)
    assert re.fullmatch(r"4/4 ━{20} \d+s \d+(us|ms)/step\n4/4 ━{20} \d+s \d+(us|ms)/step - "
                        r"loss: \d+\.\d{4}\n", out.getvalue())


def test_thread_count_is_restored():
    before = numba.get_num_threads()
    backend.set_num_threads(1)
    try:
        model = biased_dot_model()
        model.compile(optimizer="adam", loss="mse")
        users, items, y = toy_data(50)
        model.fit([users, items], y, verbose=0)
        model.predict([users, items])
    finally:
        backend.set_num_threads(None)
    assert numba.get_num_threads() == before


# --- predict inputs --------------------------------------------------------------------------

def test_predict_accepts_keras_input_forms_on_one_model():
    model = seed_model(10, 8, 4)
    users = np.array([0, 3, 9, 2, 5])
    items = np.array([1, 7, 0, 2, 2])
    ref = model.predict([users, items])
    assert ref.shape == (5, 1) and ref.dtype == np.float32
    for x in ([users[:, None], items[:, None]], [users.astype(np.int32), items],
              [users.astype(np.float32), items.astype(np.float64)[:, None]], (users, items),
              [list(users), list(items)], {"input_layer": users, "input_layer_1": items}):
        np.testing.assert_array_equal(model.predict(x), ref)
    assert model.predict([users[:1], items[:1]]).shape == (1, 1)
    assert model.predict([users[:0], items[:0]]).shape == (0, 1)
    np.testing.assert_array_equal(model([users, items]), ref)


def test_predict_before_compile_is_fine_and_fit_before_compile_is_not():
    model = seed_model(10, 8, 4)
    assert model.predict([np.array([1]), np.array([2])]).shape == (1, 1)
    with pytest.raises(ValueError, match="compile"):
        model.fit([np.array([1]), np.array([2])], np.array([3.0]))
    with pytest.raises(ValueError, match="compile"):
        model.evaluate([np.array([1]), np.array([2])], np.array([3.0]))


# --- errors ----------------------------------------------------------------------------------

@pytest.mark.parametrize("bad,row,value", [(943, 1, "943"), (10**6, 1, "1000000"),
                                           (-1, 1, "-1")])
def test_out_of_range_ids_name_index_and_range(bad, row, value):
    model = seed_model()
    users = np.array([0, bad, 5])
    with pytest.raises(ValueError, match=re.escape(f"indices[{row},0] = {value} is not in "
                                                   "[0, 943)")) as err:
        model.predict([users, np.array([0, 1, 2])])
    assert "'embedding'" in str(err.value)
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match=re.escape("is not in [0, 1682)")):
        model.fit([np.array([0, 1]), np.array([1682, 0])], np.array([1.0, 2.0]), verbose=0)


@pytest.mark.parametrize("ids", [np.array([1.5]), np.array([np.nan]), np.array([-0.5])])
def test_non_integral_float_ids_raise(ids):
    model = seed_model(10, 8, 4)
    with pytest.raises(ValueError, match="non-integral id"):
        model.predict([ids, np.array([1.0])])


def test_bad_inputs_raise_clear_errors():
    model = seed_model(10, 8, 4)
    model.compile(optimizer="adam", loss="mse")
    u, i = np.array([1, 2, 3]), np.array([1, 2])
    with pytest.raises(ValueError, match="Data cardinality is ambiguous.*sizes: 3, 2"):
        model.predict([u, i])
    with pytest.raises(ValueError, match="expects 2 input"):
        model.predict([u])
    with pytest.raises(TypeError, match="integers or integral floats"):
        model.predict([np.array(["1"]), np.array([1])])
    with pytest.raises(ValueError, match="NaN or infinite.*row 1"):
        model.fit([u, u], np.array([1.0, np.nan, 2.0]), verbose=0)
    with pytest.raises(ValueError, match="y_val contains"):
        model.fit([u, u], np.ones(3), verbose=0,
                  validation_data=([u, u], np.array([1.0, np.inf, 1.0])))
    with pytest.raises(ValueError, match="y has 2 rows but x has 3"):
        model.fit([u, u], np.ones(2), verbose=0)
    with pytest.raises(ValueError, match="batch_size"):
        model.fit([u, u], np.ones(3), batch_size=0, verbose=0)


def test_fit_diverging_raises_with_advice():
    model = seed_model(10, 8, 4)
    model.compile(optimizer=optimizers.SGD(learning_rate=1e6), loss="mse")
    users, items, y = toy_data(64, 10, 8)
    with pytest.raises(FloatingPointError, match="Lower the learning rate"):
        model.fit([users, items], y * 1e3, epochs=5, verbose=0)


def test_unsupported_layers_and_graphs_raise_not_implemented():
    with pytest.raises(NotImplementedError, match="Dropout"):
        from mf.keras.layers import Dropout  # noqa: F401
    u = Input(shape=(1,))
    with pytest.raises(NotImplementedError, match="Dense layer 'dense'.*integer ids"):
        Dense(3)(u)
    with pytest.raises(NotImplementedError, match="Embedding layer 'embedding'.*not an Input"):
        Embedding(4, 2)(Flatten()(Embedding(4, 2)(u)))
    with pytest.raises(NotImplementedError, match="Dense layer 'dense_1'.*softmax"):
        Dense(2, activation="softmax")
    e = Embedding(4, 3)(u)
    with pytest.raises(NotImplementedError, match="Dot layer 'dot'.*axes=1"):
        Dot(axes=1)([e, e])
    with pytest.raises(NotImplementedError, match="Input"):
        Input(shape=(2,))
    with pytest.raises(NotImplementedError, match="Sequential"):
        from mf.keras.models import Sequential  # noqa: F401


def test_frozen_layer_is_not_trained():
    model = biased_dot_model()
    model.layers[2].trainable = False  # the user embedding
    model.compile(optimizer="adam", loss="mse")
    before = model.get_weights()
    users, items, y = toy_data(50)
    model.fit([users, items], y, epochs=2, verbose=0)
    after = model.get_weights()
    np.testing.assert_array_equal(after[0], before[0])
    assert not np.array_equal(after[1], before[1])
    assert len(model.trainable_weights) == 3


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 4)), min_size=1, max_size=40))
def test_predict_is_row_independent(pairs):
    model = _cached_ncf()
    users = np.array([p[0] for p in pairs])
    items = np.array([p[1] for p in pairs])
    batch = model.predict([users, items])
    single = np.concatenate([model.predict([users[k:k + 1], items[k:k + 1]])
                             for k in range(len(pairs))])
    np.testing.assert_array_equal(batch, single)


_NCF = []


def _cached_ncf():
    if not _NCF:
        _NCF.append(ncf_model())
    return _NCF[0]
