"""Rating-prediction accuracy on MovieLens 100K's official u1-u5 splits.

    python -m benchmarks.explicit_accuracy [--configs default-als,default-sgd,...] [--peers]

Each configuration is trained on uK.base and scored (RMSE, MAE) on uK.test
for K = 1..5; the table gives u1 and the mean. ``--peers`` adds Surprise's
SVD, SVD++ and BaselineOnly on the same folds when Surprise is installed.
The data is read from ``../shared/data/ml-100k`` (or ``--data DIR``); the
script exits with a note when it is absent.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import mf

from .common import ML100K, machine, save, table, versions

CONFIGS = {
    "default-als": dict(solver="als"),
    "default-sgd": dict(solver="sgd"),
    "default-adam": dict(solver="adam"),
    "tuned-als": dict(solver="als", factors=128, reg=0.12),
    "tuned-sgd": dict(solver="sgd", reg=0.1, lr=0.005, epochs=100),
}


def folds(root):
    out = []
    for k in range(1, 6):
        base = mf.datasets.read_csv(root / f"u{k}.base", user=0, item=1, rating=2, sep="\t", header=False)
        test = mf.datasets.read_csv(root / f"u{k}.test", user=0, item=1, rating=2, sep="\t", header=False)
        out.append(mf.split.predefined(base, test))
    return out


def run_mf(name, params, splits):
    rmses, maes, seconds = [], [], []
    for train, test in splits:
        start = time.perf_counter()
        model = mf.MatrixFactorization(random_state=0, **params).fit(train)
        seconds.append(time.perf_counter() - start)
        pred = model.predict(test.users, test.items)
        rmses.append(mf.metrics.rmse(test.values, pred))
        maes.append(mf.metrics.mae(test.values, pred))
    return dict(name=f"mf {name}", params=params, rmse=rmses, mae=maes, fit_s=seconds)


def run_surprise(splits):
    try:
        import pandas as pd
        import surprise
    except ImportError:
        print("  (Surprise not installed: skipping peers)", file=sys.stderr)
        return []
    algos = {"surprise SVD": surprise.SVD, "surprise SVD++": surprise.SVDpp,
             "surprise BaselineOnly": surprise.BaselineOnly, "surprise KNNBaseline": surprise.KNNBaseline}
    results = []
    for name, cls in algos.items():
        rmses, maes, seconds = [], [], []
        for train, test in splits:
            frame = pd.DataFrame({"u": train.users, "i": train.items, "r": train.values})
            trainset = surprise.Dataset.load_from_df(frame, surprise.Reader(rating_scale=(1, 5))).build_full_trainset()
            kwargs = {"random_state": 0} if name in ("surprise SVD", "surprise SVD++") else {}
            if name == "surprise KNNBaseline":
                kwargs = {"sim_options": {"name": "pearson_baseline", "user_based": False}, "verbose": False}
            algo = cls(**kwargs)
            start = time.perf_counter()
            algo.fit(trainset)
            seconds.append(time.perf_counter() - start)
            pred = np.array([algo.predict(u, i).est for u, i in zip(test.users, test.items)])
            rmses.append(mf.metrics.rmse(test.values, pred))
            maes.append(mf.metrics.mae(test.values, pred))
        results.append(dict(name=name, rmse=rmses, mae=maes, fit_s=seconds))
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--peers", action="store_true", help="also run Surprise on the same folds")
    ap.add_argument("--data", type=Path, default=ML100K)
    args = ap.parse_args(argv)
    if not (args.data / "u1.base").exists():
        print(f"ml-100k not found at {args.data}; pass --data DIR", file=sys.stderr)
        return 0
    splits = folds(args.data)
    results = [run_mf(name, CONFIGS[name], splits) for name in args.configs.split(",") if name]
    if args.peers:
        results += run_surprise(splits)
    rows = [[r["name"], f"{r['rmse'][0]:.4f}", f"{np.mean(r['rmse']):.4f}", f"{np.mean(r['mae']):.4f}",
             f"{np.mean(r['fit_s']):.2f}"] for r in results]
    print("\nML-100K official splits u1..u5")
    print(table(rows, ["model", "RMSE u1", "RMSE mean", "MAE mean", "fit s (mean)"]))
    payload = dict(machine=machine(), versions=versions("mf", "numba", "numpy", "surprise"), results=results)
    print("\nwrote", save("explicit_accuracy", payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
