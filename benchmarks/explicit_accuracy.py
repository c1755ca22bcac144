"""Rating-prediction accuracy: MovieLens 100K's official u1-u5 splits and ml-latest-small 5-fold.

    python -m benchmarks.explicit_accuracy [--datasets ml-100k,latest-small] [--configs default-als,...]
                                           [--peers [surprise,lenskit,spark]] [--folds N]

Each configuration is trained on every fold's training part and scored
(RMSE, MAE) on its test part: ML-100K's uK.base / uK.test for K = 1..5 and
a 5-fold split of ml-latest-small (``mf.split.k_fold``, ``random_state=0``).
Within a fold the models run one after the other, so every library sees the
same data in the same state of the machine; the fit time reported is the
median over folds (after one untimed warm-up fit of every model on a
5,000-rating sample). ``--peers`` adds the peer libraries (``benchmarks.peers``)
that are installed: Surprise's SVD, SVD++, BaselineOnly and KNNBaseline,
LensKit's BiasedMF and Spark's ALS. Every prediction is clipped to the
training rating range; pairs a library cannot score get the training mean.
ML-100K is read from ``../shared/data/ml-100k`` (or ``--data DIR``), else
downloaded by ``mf.datasets.load_movielens("100k")``.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

import mf

from . import peers
from .common import machine, median, ml100k_dir, save, table, versions

CONFIGS = {
    "default-als": dict(solver="als"),
    "als-cg3": dict(solver="als", cg_steps=3),
    "default-sgd": dict(solver="sgd"),
    "default-adam": dict(solver="adam"),
    "tuned-als": dict(solver="als", factors=128, reg=0.12),
    "tuned-sgd": dict(solver="sgd", reg=0.1, lr=0.005, epochs=100),
    "als-nobias": dict(solver="als", biases=False),
}

PEERS = {
    "surprise": lambda: [peers.SurpriseModel("SVD", random_state=0), peers.SurpriseModel("SVDpp", random_state=0),
                         peers.SurpriseModel("BaselineOnly"),
                         peers.SurpriseModel("KNNBaseline", sim_options={"name": "pearson_baseline", "user_based": False},
                                             verbose=False)],
    "lenskit": lambda: [peers.LensKitBiasedMF(features=50, iterations=20, reg=0.1)],
    "spark": lambda: [peers.SparkALS(rank=64, iterations=15, reg=0.1)],
}


def ml100k_folds(root):
    out = []
    for k in range(1, 6):
        base = mf.datasets.read_csv(root / f"u{k}.base", user=0, item=1, rating=2, sep="\t", header=False)
        test = mf.datasets.read_csv(root / f"u{k}.test", user=0, item=1, rating=2, sep="\t", header=False)
        out.append(mf.split.predefined(base, test))
    return out


def latest_small_folds():
    return list(mf.split.k_fold(mf.datasets.load_movielens("latest-small").ratings, 5, random_state=0))


def models(configs, peer_names):
    out = [peers.MF(f"mf {name}", random_state=0, **CONFIGS[name]) for name in configs]
    for name in peer_names:
        for model in PEERS[name]():
            note = model.available()
            if note:
                print(f"  ({model.name}: {note}; skipped)", file=sys.stderr)
            else:
                out.append(model)
    return out


def warm_up(runs, train):
    """One untimed fit and prediction per model on a small sample (JIT compilation, caches, Spark's start)."""
    sample = train.subset(np.random.default_rng(0).permutation(train.nnz)[:5000])
    for m in runs:
        m.fit(sample)
        m.predict(sample.users[:10], sample.items[:10])


def evaluate(dataset, splits, runs):
    results = {m.name: dict(dataset=dataset, name=m.name, library=m.library, params=getattr(m, "params", {}),
                            rmse=[], mae=[], fit_s=[]) for m in runs}
    for k, (train, test) in enumerate(splits, 1):
        for m in runs:
            seconds = m.fit(train)
            pred = m.predict(test.users, test.items)
            r = results[m.name]
            r["rmse"].append(mf.metrics.rmse(test.values, pred))
            r["mae"].append(mf.metrics.mae(test.values, pred))
            r["fit_s"].append(seconds)
            print(f"  {dataset} fold {k}: {m.name:<28} RMSE {r['rmse'][-1]:.4f}  fit {seconds:.2f} s", file=sys.stderr)
    return list(results.values())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", default="ml-100k", help="comma-separated: ml-100k, latest-small")
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--peers", nargs="?", const=",".join(PEERS), default="",
                    help="also run these peer libraries on the same folds (default when given: all)")
    ap.add_argument("--folds", type=int, default=5, help="use only the first N folds of each data set")
    ap.add_argument("--data", type=Path, default=None, help="ML-100K folder (default ../shared/data/ml-100k)")
    args = ap.parse_args(argv)
    runs = models([c for c in args.configs.split(",") if c], [p for p in args.peers.split(",") if p])
    results = []
    for dataset in args.datasets.split(","):
        if dataset == "ml-100k":
            root = args.data or ml100k_dir()
            if root is None or not (root / "u1.base").exists():
                print(f"ml-100k not found at {root}; pass --data DIR", file=sys.stderr)
                continue
            splits = ml100k_folds(root)
        elif dataset == "latest-small":
            splits = latest_small_folds()
        else:
            ap.error(f"unknown data set {dataset!r}; choose ml-100k or latest-small")
        if not results:
            warm_up(runs, splits[0][0])
        results += evaluate(dataset, splits[: args.folds], runs)
    for m in runs:
        m.close()
    peers.shutdown()
    rows = [[r["dataset"], r["name"], f"{np.mean(r['rmse']):.4f}", f"{np.std(r['rmse']):.4f}", f"{np.mean(r['mae']):.4f}",
             f"{median(r['fit_s']):.2f}"] for r in results]
    print("\nRMSE/MAE: mean over folds; fit s: median over folds")
    print(table(rows, ["data", "model", "RMSE", "RMSE sd", "MAE", "fit s"]))
    payload = dict(machine=machine(), versions={**versions("mf", "numba", "numpy"), **peers.versions()},
                   folds=args.folds, threads=peers.cores(), results=results)
    print("\nwrote", save("explicit_accuracy", payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
