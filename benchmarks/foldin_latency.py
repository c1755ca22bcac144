"""Latency of folding in a new user: one exact ridge solve, and a top-10 for that user.

    python -m benchmarks.foldin_latency [--calls 1000] [--factors 64] [--threads 1]

A ``MatrixFactorization`` (ALS) is fitted on MovieLens ml-latest-small
(bundled). A "new user" is a training user's 20 ratings; each call folds them
in from raw ids (id lookup, validation, a (k+1) x (k+1) Cholesky solve) with
``model.fold_in(items, ratings)``; ``recommend_for`` adds ranking the 9,724
items for that user. The same history is folded into an ``ItemKNN`` (a
baseline bias, then the kNN scoring of every item) for comparison. Each timing
is the median (and 90th percentile) over ``--calls`` calls after 10 warm-up
calls, so JIT compilation is not counted.
"""

import argparse
import sys
import time

import numpy as np

import mf
from mf.kernels.threads import numba_threads
from mf.models import ItemKNN

from .common import machine, save, table, versions

HISTORY = 20


def latencies(fn, calls):
    for _ in range(10):
        fn()
    out = np.empty(calls)
    for c in range(calls):
        start = time.perf_counter()
        fn()
        out[c] = time.perf_counter() - start
    return out


def new_user(ratings, rng):
    counts = np.bincount(ratings.user_indices, minlength=ratings.n_users)
    user = rng.choice(np.flatnonzero(counts >= HISTORY))
    csr = ratings.to_csr()
    lo = csr.indptr[user]
    pick = rng.choice(counts[user], size=HISTORY, replace=False)
    return ratings.item_ids[csr.indices[lo + pick]], csr.data[lo + pick]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--factors", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    ratings = mf.datasets.load_movielens("ml-latest-small").ratings
    items, values = new_user(ratings, np.random.default_rng(0))
    with numba_threads(args.threads):
        model = mf.MatrixFactorization(factors=args.factors, random_state=0, n_threads=args.threads).fit(ratings)
        knn = ItemKNN(n_threads=args.threads).fit(ratings)
        runs = {
            f"MF fold_in ({args.factors} factors)": lambda: model.fold_in(items, values),
            "MF recommend_for (top 10)": lambda: model.recommend_for(items, values, n=10),
            "ItemKNN fold_in": lambda: knn.fold_in(items, values),
            "ItemKNN recommend_for (top 10)": lambda: knn.recommend_for(items, values, n=10),
        }
        results = {name: latencies(fn, args.calls) for name, fn in runs.items()}
    rows = [[name, f"{np.median(t) * 1e6:.1f}", f"{np.percentile(t, 90) * 1e6:.1f}"] for name, t in results.items()]
    print(f"\nFold-in of a {HISTORY}-rating user, ml-latest-small ({ratings.n_items:,} items), "
          f"{args.threads} thread(s), {args.calls} calls")
    print(table(rows, ["call", "median us", "p90 us"]))
    payload = dict(machine=machine(), versions=versions("mf", "numba", "numpy"), calls=args.calls,
                   threads=args.threads, factors=args.factors,
                   results={name: dict(median_s=float(np.median(t)), p90_s=float(np.percentile(t, 90)))
                            for name, t in results.items()})
    print("\nwrote", save("foldin_latency", payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
