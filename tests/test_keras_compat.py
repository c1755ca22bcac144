"""mf.keras against real Keras, run only where TensorFlow/Keras is importable."""

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")

import mf.keras as mfk  # noqa: E402


def build(lib, kind):
    L = lib.layers
    u, i = L.Input(shape=(1,)), L.Input(shape=(1,))
    eu, ei = L.Embedding(30, 8)(u), L.Embedding(20, 8)(i)
    fu, fi = L.Flatten()(eu), L.Flatten()(ei)
    if kind == "seed":
        out = L.Dense(1)(L.Dense(64, activation="relu")(L.Dot(axes=1)([fu, fi])))
    elif kind == "biased":
        bu, bi = L.Flatten()(L.Embedding(30, 1)(u)), L.Flatten()(L.Embedding(20, 1)(i))
        out = L.Add()([L.Dot(axes=1)([fu, fi]), bu, bi])
    else:
        tower = L.Dense(16, activation="tanh")(L.Concatenate()([fu, fi]))
        tower = L.Dense(8, activation="sigmoid")(tower)
        gmf = L.Multiply()([fu, fi])
        out = L.Dense(1, activation="sigmoid")(L.Concatenate()([gmf, tower]))
    return lib.models.Model(inputs=[u, i], outputs=out)


@pytest.mark.parametrize("kind", ["seed", "biased", "ncf"])
def test_same_weights_same_predictions_as_keras(kind):
    ours, theirs = build(mfk, kind), build(keras, kind)
    rng = np.random.default_rng(0)
    weights = [rng.normal(0, 0.5, w.shape).astype(np.float32) for w in ours.get_weights()]
    assert [w.shape for w in weights] == [tuple(w.shape) for w in theirs.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    users, items = rng.integers(0, 30, 300), rng.integers(0, 20, 300)
    np.testing.assert_allclose(ours.predict([users, items]),
                               theirs.predict([users, items], verbose=0), rtol=1e-5, atol=1e-5)


def test_same_training_trajectory_as_keras():
    ours, theirs = build(mfk, "seed"), build(keras, "seed")
    ours.set_weights(theirs.get_weights())
    rng = np.random.default_rng(1)
    users, items = rng.integers(0, 30, 64), rng.integers(0, 20, 64)
    y = rng.integers(1, 6, 64).astype(np.float32)
    for model in (ours, theirs):
        model.compile(optimizer="adam", loss="mean_squared_error")
        model.fit([users, items], y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
