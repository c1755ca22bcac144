"""Seed Keras model: mf.keras side by side with TF-Keras on MovieLens 100K.

Trains the seed model (Embedding 50 -> Dot -> Dense(64, relu) -> Dense(1),
Adam, MSE) on a random 80/20 split of ML-100K (numpy ``RandomState(42)``) for
30 epochs at batch sizes 256 and 64, and reports seconds per epoch (wall
clock and process CPU time), ratings per second, the speed ratio, the
validation RMSE curve (best and final) and the predict latency for 1 and
1,682 pairs.

Both engines start from the same initial weights (drawn with numpy from
Keras's initialiser distributions) and see the same mini-batches (each epoch
permutes the training set with numpy ``RandomState(epoch)`` and calls
``fit(..., shuffle=False)``), so their validation curves differ only by
floating-point rounding.

TF-Keras is never a dependency of mf: install it in a separate environment
and pass its interpreter, which then runs this same file as a worker::

    python3 -m venv .venv-bench && .venv-bench/bin/pip install tensorflow-cpu
    python benchmarks/keras_seed.py --tf-python .venv-bench/bin/python

Without ``--tf-python`` only mf.keras is measured.  ``--epochs`` and
``--batch-sizes`` shorten a run. Each engine trains in a fresh process; the
engines alternate ``--repeats`` times and the epoch times are the medians
over repeats (the curves are the same in every repeat). The results are
saved to ``results/keras_seed.json``.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

try:
    from .common import machine, save, versions
except ImportError:  # run as a script: benchmarks/ is on sys.path
    from common import machine, save, versions

DATA = os.environ.get("ML100K", os.path.join(os.path.dirname(__file__), "..", "..", "shared",
                                              "data", "ml-100k", "u.data"))
NUM_USERS, NUM_MOVIES = 943, 1682


def load_split(path):
    data = np.loadtxt(path, dtype=np.int64)
    users, movies, ratings = data[:, 0] - 1, data[:, 1] - 1, data[:, 2].astype(np.float32)
    order = np.random.RandomState(42).permutation(len(ratings))
    train, test = order[:int(0.8 * len(ratings))], order[int(0.8 * len(ratings)):]
    return ([users[train], movies[train]], ratings[train]), ([users[test], movies[test]],
                                                             ratings[test])


def build(Model, Input, Embedding, Flatten, Dot, Dense):
    user_input = Input(shape=(1,)); movie_input = Input(shape=(1,))
    user_embedding = Embedding(NUM_USERS, 50)(user_input)
    movie_embedding = Embedding(NUM_MOVIES, 50)(movie_input)
    user_vecs = Flatten()(user_embedding); movie_vecs = Flatten()(movie_embedding)
    prod = Dot(axes=1)([user_vecs, movie_vecs])
    dense = Dense(64, activation='relu')(prod)
    output = Dense(1)(dense)
    model = Model(inputs=[user_input, movie_input], outputs=output)
    model.compile(optimizer='adam', loss='mean_squared_error')
    return model


def initial_weights(shapes):
    """Keras's initial weights for the seed model: uniform(-0.05, 0.05) embeddings,
    Glorot-uniform kernels, zero biases."""
    rng = np.random.RandomState(42)
    weights = []
    for shape in shapes:
        if len(shape) == 1:
            weights.append(np.zeros(shape, dtype=np.float32))
        elif shape[0] in (NUM_USERS, NUM_MOVIES):
            weights.append(rng.uniform(-0.05, 0.05, shape).astype(np.float32))
        else:
            limit = np.sqrt(6.0 / (shape[0] + shape[1]))
            weights.append(rng.uniform(-limit, limit, shape).astype(np.float32))
    return weights


def run(engine, data_path, epochs, batch_sizes):
    if engine == "tf":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import keras
        from keras.layers import Dense, Dot, Embedding, Flatten, Input
        from keras.models import Model
        seed = keras.utils.set_random_seed
    else:
        from mf.keras import utils
        from mf.keras.layers import Dense, Dot, Embedding, Flatten, Input
        from mf.keras.models import Model
        seed = utils.set_random_seed
    (x, y), (x_val, y_val) = load_split(data_path)
    out = {"engine": engine, "runs": {}}
    for batch_size in batch_sizes:
        seed(42)
        model = build(Model, Input, Embedding, Flatten, Dot, Dense)
        model.set_weights(initial_weights([w.shape for w in model.get_weights()]))
        times, cpu, rmse = [], [], []
        for epoch in range(epochs):
            order = np.random.RandomState(epoch).permutation(len(y))
            xe, ye = [x[0][order], x[1][order]], y[order]
            start, start_cpu = time.perf_counter(), time.process_time()
            model.fit(xe, ye, batch_size=batch_size, epochs=1, verbose=0, shuffle=False)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            pred = model.predict(x_val, batch_size=4096, verbose=0)[:, 0]
            rmse.append(float(np.sqrt(np.mean((pred - y_val) ** 2))))
        latency = {}
        for n in (1, NUM_MOVIES):
            pair = [np.zeros(n, dtype=np.int64), np.arange(n) % NUM_MOVIES]
            model.predict(pair, verbose=0)
            samples = []
            for _ in range(20):
                start = time.perf_counter()
                model.predict(pair, verbose=0)
                samples.append(time.perf_counter() - start)
            latency[str(n)] = float(np.median(samples))
        out["runs"][str(batch_size)] = {"epoch_seconds": times, "epoch_cpu_seconds": cpu,
                                        "val_rmse": rmse,
                                        "predict_seconds": latency, "n_train": len(y)}
    return out


def report(results):
    engines = [r["engine"] for r in results]
    print(f"ML-100K, 80/20 random split, seed model, Adam, {len(results[0]['runs'])} batch "
          "size(s)")
    for batch_size in results[0]["runs"]:
        print(f"\nbatch_size={batch_size}")
        rows = {}
        for r in results:
            run_ = r["runs"][batch_size]
            steady = float(np.median(run_["epoch_seconds"][1:] or run_["epoch_seconds"]))
            steady_cpu = float(np.median(run_["epoch_cpu_seconds"][1:]
                                         or run_["epoch_cpu_seconds"]))
            rmse = run_["val_rmse"]
            rows[r["engine"]] = steady
            print(f"  {r['engine']:>3}: first epoch {run_['epoch_seconds'][0]:.3f} s, median "
                  f"epoch {steady:.4f} s wall, {steady_cpu:.4f} s CPU "
                  f"({run_['n_train'] / steady:,.0f} ratings/s); val RMSE "
                  f"best {min(rmse):.4f} at epoch {int(np.argmin(rmse)) + 1}, final "
                  f"{rmse[-1]:.4f}; predict 1 pair {run_['predict_seconds']['1'] * 1e3:.3f} ms, "
                  f"{NUM_MOVIES} pairs {run_['predict_seconds'][str(NUM_MOVIES)] * 1e3:.3f} ms")
        if "tf" in rows and "mf" in rows:
            print(f"  speed ratio mf/tf (wall clock): {rows['tf'] / rows['mf']:.1f}x")
            a = np.array(results[engines.index("mf")]["runs"][batch_size]["val_rmse"])
            b = np.array(results[engines.index("tf")]["runs"][batch_size]["val_rmse"])
            print(f"  val RMSE curves: max |mf - tf| over epochs {np.abs(a - b).max():.4f}")
            print("  epoch  " + " ".join(f"{k + 1:>6d}" for k in range(len(a))))
            print("  mf     " + " ".join(f"{v:6.3f}" for v in a))
            print("  tf     " + " ".join(f"{v:6.3f}" for v in b))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tf-python", help="interpreter of an environment with TF-Keras")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[256, 64])
    parser.add_argument("--data", default=DATA, help="path of ml-100k/u.data")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", choices=["mf", "tf"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run(args.worker, args.data, args.epochs, args.batch_sizes)))
        return
    engines = {"mf": sys.executable}
    if args.tf_python:
        engines["tf"] = args.tf_python
    repeats = {engine: [] for engine in engines}
    for _ in range(args.repeats):
        for engine, python in engines.items():
            proc = subprocess.run([python, os.path.abspath(__file__), "--worker", engine, "--data", args.data,
                                   "--epochs", str(args.epochs), "--batch-sizes", *map(str, args.batch_sizes)],
                                  capture_output=True, text=True, check=True)
            repeats[engine].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    results = [median_over_repeats(runs) for runs in repeats.values()]
    report(results)
    save("keras_seed", dict(machine=machine(), versions=versions("mf", "numba", "numpy"),
                            tf_versions=tf_versions(args.tf_python), settings=vars(args), results=results))


def median_over_repeats(runs):
    """One engine's result with each epoch's (and predict's) time the median over the repeats."""
    out = runs[0]
    for batch_size, run_ in out["runs"].items():
        for key in ("epoch_seconds", "epoch_cpu_seconds"):
            run_[key] = np.median([r["runs"][batch_size][key] for r in runs], axis=0).tolist()
        for n in run_["predict_seconds"]:
            run_["predict_seconds"][n] = float(np.median([r["runs"][batch_size]["predict_seconds"][n] for r in runs]))
        run_["repeats"] = len(runs)
    return out


def tf_versions(python):
    if not python:
        return None
    code = "import tensorflow, keras, json; print(json.dumps([tensorflow.__version__, keras.__version__]))"
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    return dict(zip(("tensorflow", "keras"), json.loads(proc.stdout.strip().splitlines()[-1])))


if __name__ == "__main__":
    sys.exit(main())
