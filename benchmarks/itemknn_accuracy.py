"""ItemKNN (kNN-baseline) accuracy on MovieLens 100K's official u1-u5 splits, against Surprise's KNNBaseline.

    python -m benchmarks.itemknn_accuracy [--data DIR] [--folds 1,2,3,4,5] [--no-peers]

Each fold trains on uK.base and scores RMSE and MAE on uK.test. mf runs
``ItemKNN()`` with its defaults (k=40, pearson_baseline similarity, shrinkage
100, baselines by 10 ALS steps with reg_item=10, reg_user=15, 500 stored
neighbours per item) and with every positive neighbour stored
(``max_neighbors`` = number of items, the exact model); Surprise runs
``KNNBaseline(sim_options={"name": "pearson_baseline", "user_based": False})``,
the same model with the same defaults, on the same files in the same process.
Both clip predictions to [1, 5]. The table also gives fit time, the time to
predict the test ratings and, for mf, the time of a top-10 ``recommend`` for
every training user (Surprise has no batch recommend); "= Surprise" is the
share of test predictions within 1e-4 of Surprise's. Surprise is optional;
the data is read from ``../shared/data/ml-100k`` (or ``--data``).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import mf
from mf.models import ItemKNN

from .common import ML100K, machine, save, table, versions

try:
    import surprise
except ImportError:
    surprise = None

CONFIGS = {
    "mf ItemKNN": {},
    "mf ItemKNN max_neighbors=all": {"max_neighbors": "all"},
}


def read(root, k):
    kwargs = dict(user=0, item=1, rating=2, sep="\t", header=False)
    base = mf.datasets.read_csv(root / f"u{k}.base", **kwargs)
    test = mf.datasets.read_csv(root / f"u{k}.test", **kwargs)
    return mf.split.predefined(base, test)


def run_mf(train, test, params):
    start = time.perf_counter()
    model = ItemKNN(**params).fit(train)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    pred = model.predict(test.users, test.items)
    predict_s = time.perf_counter() - start
    users = train.user_ids[np.diff(train.to_csr().indptr) > 0]
    start = time.perf_counter()
    model.recommend(users, n=10)
    recommend_s = time.perf_counter() - start
    return pred, dict(fit_s=fit_s, predict_s=predict_s, recommend_all_s=recommend_s)


def run_surprise(root, k, test):
    reader = surprise.Reader("ml-100k")
    trainset = surprise.Dataset.load_from_file(str(root / f"u{k}.base"), reader).build_full_trainset()
    algo = surprise.KNNBaseline(sim_options={"name": "pearson_baseline", "user_based": False}, verbose=False)
    start = time.perf_counter()
    algo.fit(trainset)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    pred = np.array([algo.predict(str(u), str(i)).est for u, i in zip(test.users, test.items)])
    predict_s = time.perf_counter() - start
    return pred, dict(fit_s=fit_s, predict_s=predict_s)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ML100K)
    ap.add_argument("--folds", default="1,2,3,4,5")
    ap.add_argument("--no-peers", action="store_true", help="skip Surprise")
    args = ap.parse_args(argv)
    if not (args.data / "u1.base").exists():
        print(f"ml-100k not found at {args.data}; pass --data DIR", file=sys.stderr)
        return 0
    peers = surprise is not None and not args.no_peers
    if surprise is None and not args.no_peers:
        print("  (Surprise not installed: timing mf only)", file=sys.stderr)
    ItemKNN().fit(read(args.data, 1)[0]).recommend(1, n=1)  # compile the kernels outside the timings
    folds = [int(k) for k in args.folds.split(",")]
    results = {name: [] for name in CONFIGS}
    results["surprise KNNBaseline"] = []
    for k in folds:
        train, test = read(args.data, k)
        preds = {}
        for name, params in CONFIGS.items():
            params = {key: (train.n_items if value == "all" else value) for key, value in params.items()}
            preds[name], info = run_mf(train, test, params)
            results[name].append(dict(fold=k, rmse=mf.metrics.rmse(test.values, preds[name]),
                                      mae=mf.metrics.mae(test.values, preds[name]), **info))
        if peers:
            ref, info = run_surprise(args.data, k, test)
            results["surprise KNNBaseline"].append(dict(
                fold=k, rmse=mf.metrics.rmse(test.values, ref), mae=mf.metrics.mae(test.values, ref), **info))
            for name, pred in preds.items():
                diff = np.abs(ref - pred)
                results[name][-1].update(max_abs_diff_vs_surprise=float(diff.max()),
                                         share_within_1e4_of_surprise=float(np.mean(diff < 1e-4)))
        print(f"  u{k}: " + ", ".join(f"{name} RMSE {runs[-1]['rmse']:.4f}" for name, runs in results.items() if runs),
              file=sys.stderr)
    rows = []
    for name, runs in results.items():
        if not runs:
            continue
        mean = {key: np.mean([r[key] for r in runs]) for key in ("rmse", "mae", "fit_s", "predict_s")}
        rec = f"{np.mean([r['recommend_all_s'] for r in runs]):.2f}" if "recommend_all_s" in runs[0] else "-"
        same = runs[0].get("share_within_1e4_of_surprise")
        same = "-" if same is None else f"{100 * np.mean([r['share_within_1e4_of_surprise'] for r in runs]):.2f}%"
        rows.append([name, f"{runs[0]['rmse']:.4f}", f"{mean['rmse']:.4f}", f"{mean['mae']:.4f}",
                     f"{mean['fit_s']:.2f}", f"{mean['predict_s']:.3f}", rec, same])
    print(f"\nML-100K official splits u{','.join(map(str, folds))} (means over folds)")
    print(table(rows, ["model", f"RMSE u{folds[0]}", "RMSE", "MAE", "fit s", "predict test s", "top-10 all users s",
                       "= Surprise"]))
    payload = dict(machine=machine(), versions=versions("mf", "numba", "numpy", "surprise"), results=results)
    print("\nwrote", save("itemknn_accuracy", payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
