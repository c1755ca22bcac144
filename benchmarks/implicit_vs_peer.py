"""Implicit feedback side by side with the ``implicit`` library (0.7): ALS and BPR speed, ranking accuracy.

    python -m benchmarks.implicit_vs_peer [--sections als,bpr,accuracy] [--repeats 3]
                                          [--data synthetic,ml-100k,ml-latest-small]
                                          [--synthetic 1e7] [--iterations 3] [--epochs 5]

Run it in an environment where ``implicit`` is installed (it is optional:
without it only mf is measured).

- ``als``: seconds per ALS iteration, at 64 and 128 factors, 1 and 2 threads,
  conjugate gradient (3 steps) and Cholesky, on synthetic implicit data
  (``mf.datasets.synthetic(..., implicit=True)``, ``--synthetic`` positives),
  ML-100K and ml-latest-small (ratings >= 4 as positives). Each library's own
  per-iteration timer is used (mf: ``history_["seconds"]``; implicit: its fit
  callback), averaged over ``--iterations`` iterations of a fit.
- ``bpr``: BPR epochs per second, 64 factors, 1 and 2 threads, same data
  sets (per-epoch timers again, ``--epochs`` epochs per fit).
- ``accuracy``: P@10, NDCG@10 and MAP@10 (``mf.evaluate.ranking``) on
  ml-latest-small and ML-100K: ratings >= 4 are the positives, 20% of each
  user's positives are held out (``mf.split.user_holdout``); mean and
  standard deviation over three seeds (the split and the fits share the seed).

Like-for-like settings. implicit 0.7 weights a stored value ``r`` with
confidence ``alpha * r`` (no ``+ 1``) and takes a users x items CSR, so it is
given the matrix of ``1 + alpha * r`` and ``alpha=1``: both then solve the same
problem with the same ``factors``, ``regularization`` and iterations
(implicit's CG also takes 3 steps). Both ALS use unweighted ``reg * |x|^2``.
implicit's BPR samples negatives in proportion to popularity, keeps an item
bias, starts from uniform(-0.5, 0.5) / factors and draws positives with
replacement; mf's BPR is run with ``negatives="popularity"`` and the same
initial spread (``init_scale = 1 / (factors * sqrt(12))``) for the
like-for-like row, and with its defaults (uniform negatives) as well. implicit
runs with BLAS limited to one thread (the setting it asks for); mf's fits do
not call BLAS. Libraries alternate within each repeat; medians are reported.
Rankings of both libraries are made by the same code (``mf.evaluate.ranking``
through mf's top-k), from each library's factors. Results are written to
``benchmarks/results/implicit_vs_peer_<data sets>_<sections>.json``.
"""

import argparse
import contextlib
import sys
from pathlib import Path

import numpy as np

import mf
import mf.evaluate
from mf.kernels.topk import topk_blocked

from .common import alternate, machine, median, save, table, versions

try:
    from threadpoolctl import threadpool_limits
except ImportError:
    threadpool_limits = None
try:
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.cpu.bpr import BayesianPersonalizedRanking
except ImportError:
    AlternatingLeastSquares = BayesianPersonalizedRanking = None

ML100K = Path(__file__).resolve().parents[2] / "shared" / "data" / "ml-100k" / "u.data"
REG, ALPHA, LR = 0.01, 1.0, 0.01


def blas_one_thread():
    return threadpool_limits(1, "blas") if threadpool_limits is not None else contextlib.nullcontext()


def positives(ratings, threshold=4):
    """Ratings >= threshold as implicit positives (value 1)."""
    keep = ratings.values >= threshold
    return mf.Ratings._from_canonical(ratings.user_map, ratings.item_map, ratings.user_indices[keep],
                                      ratings.item_indices[keep], np.ones(int(keep.sum()), np.float32), None, True)


def datasets(names, n_synthetic):
    out = {}
    if "synthetic" in names:
        n = int(n_synthetic)
        out[f"synthetic {n / 1e6:g}M"] = mf.datasets.synthetic(n // 100, n // 500, n, implicit=True, random_state=0)
    if "ml-100k" in names:
        if ML100K.exists():
            raw = mf.datasets.read_csv(ML100K, user=0, item=1, rating=2, sep="\t", header=False)
            out["ML-100K >= 4"] = positives(raw)
        else:
            print(f"ML-100K skipped: {ML100K} not found", file=sys.stderr)
    if "ml-latest-small" in names:
        out["ml-latest-small >= 4"] = positives(mf.datasets.load_movielens().ratings)
    return out


def significant(x, digits=3):
    return float(f"{x:.{digits}g}")


def confidence_csr(ratings):
    """Users x items CSR of ``1 + alpha * r``: implicit's input for the same confidences as mf's."""
    csr = ratings.to_csr().copy()
    csr.data = (1.0 + ALPHA * csr.data).astype(np.float32)
    return csr


# ---------------------------------------------------------------------- ALS speed
def als_speed(data, repeats, iterations):
    rows = []
    for name, ratings in data.items():
        csr = confidence_csr(ratings)
        for factors in (64, 128):
            for threads in (1, 2):
                for solver in ("cg", "cholesky"):
                    def ours():
                        model = mf.ImplicitALS(factors=factors, reg=REG, alpha=ALPHA, iterations=iterations,
                                               solver=solver, random_state=0, n_threads=threads).fit(ratings)
                        return float(np.mean(model.history_["seconds"]))

                    runs = {"mf": ours}
                    if AlternatingLeastSquares is not None:
                        def theirs():
                            seconds = []
                            with blas_one_thread():
                                model = AlternatingLeastSquares(factors=factors, regularization=REG, alpha=1.0,
                                                                iterations=iterations, use_cg=solver == "cg",
                                                                num_threads=threads, random_state=0)
                                model.fit(csr, show_progress=False, callback=lambda it, sec, loss: seconds.append(sec))
                            return float(np.mean(seconds))

                        runs["implicit"] = theirs
                    times = alternate(runs, repeats)
                    ours_s = median(times["mf"])
                    theirs_s = median(times["implicit"]) if "implicit" in times else None
                    rows.append([name, factors, threads, solver, significant(ours_s),
                                 None if theirs_s is None else significant(theirs_s),
                                 None if theirs_s is None else round(ours_s / theirs_s, 2)])
                    print(rows[-1], flush=True)
    return rows


# ---------------------------------------------------------------------- BPR speed
def bpr_speed(data, repeats, epochs, factors=64):
    rows = []
    init = 1.0 / (factors * np.sqrt(12.0))
    for name, ratings in data.items():
        csr = ratings.to_csr()
        for threads in (1, 2):
            runs = {}
            for negatives in ("popularity", "uniform"):
                def ours(negatives=negatives):
                    model = mf.BPR(factors=factors, lr=LR, reg=REG, epochs=epochs, negatives=negatives,
                                   init_scale=init, random_state=0, n_threads=threads).fit(ratings)
                    return float(np.mean(model.history_["seconds"]))

                runs[f"mf {negatives}"] = ours
            if BayesianPersonalizedRanking is not None:
                def theirs():
                    seconds = []
                    model = BayesianPersonalizedRanking(factors=factors, learning_rate=LR, regularization=REG,
                                                        iterations=epochs, num_threads=threads, random_state=0)
                    model.fit(csr, show_progress=False, callback=lambda ep, sec, correct, skipped: seconds.append(sec))
                    return float(np.mean(seconds))

                runs["implicit"] = theirs
            times = alternate(runs, repeats)
            per_second = {key: 1.0 / median(v) for key, v in times.items()}
            theirs_eps = per_second.get("implicit")
            for key in ("mf popularity", "mf uniform"):
                rows.append([name, threads, key, significant(per_second[key]),
                             None if theirs_eps is None else significant(theirs_eps),
                             None if theirs_eps is None else round(per_second[key] / theirs_eps, 2)])
                print(rows[-1], flush=True)
    return rows


# ---------------------------------------------------------------------- accuracy
class FactorRanker:
    """Any (user factors, item factors) pair behind the ``recommend`` method ``mf.evaluate.ranking`` calls."""

    def __init__(self, U, V, train):
        self.U, self.V, self.train = U, V, train
        self.csr = train.to_csr()

    def recommend(self, users, n=10, exclude_seen=True):
        rows = self.train.user_map.index(users)
        seen = (self.csr.indptr, self.csr.indices) if exclude_seen else (None, None)
        idx, scores = topk_blocked(self.U, self.V, rows, n, indptr=seen[0], indices=seen[1])
        return self.train.item_map.ids[np.maximum(idx, 0)], scores


def accuracy(data, threads=2):
    configs = {
        "mf ImplicitALS (cg)": lambda s: mf.ImplicitALS(factors=64, reg=REG, alpha=ALPHA, iterations=15,
                                                         random_state=s, n_threads=threads),
        "mf ImplicitALS (cholesky)": lambda s: mf.ImplicitALS(factors=64, reg=REG, alpha=ALPHA, iterations=15,
                                                               solver="cholesky", random_state=s, n_threads=threads),
        "mf BPR (defaults: uniform negatives)": lambda s: mf.BPR(factors=64, lr=LR, reg=REG, epochs=100,
                                                                 random_state=s, n_threads=threads),
        "mf BPR (popularity negatives, implicit's init)": lambda s: mf.BPR(
            factors=64, lr=LR, reg=REG, epochs=100, negatives="popularity", init_scale=1.0 / (64 * np.sqrt(12.0)),
            random_state=s, n_threads=threads),
    }
    if AlternatingLeastSquares is not None:
        configs["implicit ALS (cg)"] = lambda s: AlternatingLeastSquares(
            factors=64, regularization=REG, alpha=1.0, iterations=15, num_threads=threads, random_state=s)
        configs["implicit BPR"] = lambda s: BayesianPersonalizedRanking(
            factors=64, learning_rate=LR, regularization=REG, iterations=100, num_threads=threads, random_state=s)
    rows = []
    for name, ratings in data.items():
        if name.startswith("synthetic"):
            continue
        scores = {key: {"precision": [], "ndcg": [], "map": []} for key in configs}
        for seed in range(3):
            train, test = mf.split.user_holdout(ratings, test_size=0.2, random_state=seed)
            for key, make in configs.items():
                if key.startswith("implicit"):
                    csr = confidence_csr(train) if "ALS" in key else train.to_csr()
                    with blas_one_thread():
                        model = make(seed)
                        model.fit(csr, show_progress=False)
                    ranker = FactorRanker(model.user_factors, model.item_factors, train)
                else:
                    ranker = make(seed).fit(train)
                result = mf.evaluate.ranking(ranker, train, test, k=10)
                for metric in scores[key]:
                    scores[key][metric].append(result[metric])
        for key, metrics in scores.items():
            rows.append([name, key] + [f"{np.mean(v):.4f} +- {np.std(v):.4f}" for v in metrics.values()])
            print(rows[-1], flush=True)
    return rows


def compile_kernels():
    """Fit each mf model once on a tiny data set so no timed fit includes JIT compilation."""
    tiny = mf.datasets.synthetic(200, 100, 2000, implicit=True, random_state=0)
    for solver in ("cg", "cholesky"):
        mf.ImplicitALS(factors=4, iterations=1, solver=solver, random_state=0).fit(tiny)
    for negatives in ("uniform", "popularity"):
        mf.BPR(factors=4, epochs=1, negatives=negatives, random_state=0).fit(tiny)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default="als,bpr,accuracy")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", default="synthetic,ml-100k,ml-latest-small")
    parser.add_argument("--synthetic", type=float, default=1e7, help="positives in the synthetic data set")
    parser.add_argument("--iterations", type=int, default=3, help="ALS iterations per timed fit")
    parser.add_argument("--epochs", type=int, default=5, help="BPR epochs per timed fit")
    args = parser.parse_args(argv)
    sections = set(args.sections.split(","))
    if AlternatingLeastSquares is None:
        print("implicit is not installed: only mf is measured", file=sys.stderr)
    names = args.data.split(",")
    data = datasets(set(names), args.synthetic)
    compile_kernels()
    payload = {"machine": machine(), "versions": versions("numpy", "numba", "scipy", "implicit"),
               "settings": vars(args)}
    if "als" in sections:
        headers = ["data", "factors", "threads", "solver", "mf s/iter", "implicit s/iter", "mf / implicit"]
        rows = als_speed(data, args.repeats, args.iterations)
        print(table(rows, headers))
        payload["als_seconds_per_iteration"] = {"headers": headers, "rows": rows}
    if "bpr" in sections:
        headers = ["data", "threads", "mf negatives", "mf epochs/s", "implicit epochs/s", "mf / implicit"]
        rows = bpr_speed(data, args.repeats, args.epochs)
        print(table(rows, headers))
        payload["bpr_epochs_per_second"] = {"headers": headers, "rows": rows}
    if "accuracy" in sections:
        headers = ["data", "model", "P@10", "NDCG@10", "MAP@10"]
        rows = accuracy(data)
        print(table(rows, headers))
        payload["ranking_accuracy"] = {"headers": headers, "rows": rows}
    print("saved", save("_".join(["implicit_vs_peer"] + sorted(names) + sorted(sections)), payload))
    return payload


if __name__ == "__main__":
    main()
