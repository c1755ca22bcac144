"""Build time of the top-k item-item similarity matrix.

    python benchmarks/similarity_build.py [--repeats 3] [--threads 1,2] [--metrics cosine,pearson]

``mf.similarity.item_similarity(ratings, metric, k=50, shrinkage=100)`` on
MovieLens ml-latest-small (bundled) and on synthetic 10M ratings (70,000 users
x 10,000 items, ``mf.datasets.synthetic``, MovieLens-like skew). The work is
the number of (user, item, item) co-rating triples, ``sum_u deg(u)^2``, which
is printed with the time per triple. The first call (JIT compilation) is not
timed; thread counts alternate and the median of ``--repeats`` runs is
reported (on the 10M set ``--repeats-large``, default 1, because one run takes
tens of seconds). Results: ``results/similarity_build.json``.
"""

import argparse
import statistics
import time

import numpy as np

from mf.datasets import load_movielens, synthetic
from mf.similarity import item_similarity

try:
    from .common import machine, save, versions
except ImportError:  # run as a script: benchmarks/ is on sys.path
    from common import machine, save, versions


def triples(ratings):
    degree = np.bincount(ratings.user_indices, minlength=ratings.n_users).astype(np.float64)
    return float((degree**2).sum())


def bench(name, ratings, metrics, threads, repeats):
    work = triples(ratings)
    print(f"{name}: {ratings!r}, {work / 1e9:.2f} G co-rating triples", flush=True)
    results = []
    for metric in metrics:
        item_similarity(ratings.subset(np.arange(min(ratings.nnz, 1000))), metric=metric, k=50)
        times = {t: [] for t in threads}
        nnz = None
        for _ in range(repeats):
            for t in threads:
                start = time.perf_counter()
                S = item_similarity(ratings, metric=metric, k=50, shrinkage=100, n_threads=t)
                times[t].append(time.perf_counter() - start)
                nnz = S.nnz
        for t in threads:
            seconds = statistics.median(times[t])
            runs = " ".join(f"{s:.2f}" for s in times[t])
            print(f"  {metric:<16} threads={t}  {seconds:8.2f} s  {seconds / work * 1e9:6.2f} ns/triple"
                  f"  nnz={nnz:,}  (runs s: {runs})", flush=True)
            results.append(dict(data=name, metric=metric, threads=t, seconds=seconds, runs=times[t],
                                ns_per_triple=seconds / work * 1e9, triples=work, nnz=nnz))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--repeats-large", type=int, default=1)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--metrics", default="cosine,adjusted_cosine,pearson")
    parser.add_argument("--skip-large", action="store_true", help="only ml-latest-small")
    args = parser.parse_args(argv)
    threads = [int(t) for t in args.threads.split(",")]
    metrics = args.metrics.split(",")
    results = bench("ml-latest-small", load_movielens("ml-latest-small").ratings, metrics, threads, args.repeats)
    if not args.skip_large:
        start = time.perf_counter()
        large = synthetic(70_000, 10_000, 10_000_000, random_state=0)
        print(f"(generated the 10M set in {time.perf_counter() - start:.1f} s)")
        results += bench("synthetic 10M", large, metrics, threads, args.repeats_large)
    print("wrote", save("similarity_build", dict(machine=machine(), versions=versions("mf", "numba", "numpy"),
                                                 settings=vars(args), results=results)))


if __name__ == "__main__":
    main()
