"""Batch top-10 with seen-item filtering: mf's blocked top-k against implicit's batch recommend.

    python benchmarks/topk_vs_implicit.py [--repeats 3] [--threads 1,2]

Both libraries get the same float32 factors (random, 64 factors: the
benchmark measures ranking speed, not model quality) and the same users x
items CSR of seen items, and produce the top 10 unseen items of every user:

- mf: ``mf.kernels.topk.topk_blocked`` (BLAS block scores, numba partial top-k).
- implicit: ``AlternatingLeastSquares.recommend(all_users, user_items, N=10)``
  with its factors set to the same arrays (``filter_already_liked_items=True``).

Data: synthetic 1M ratings (25,000 users x 10,000 items, ``mf.datasets.synthetic``)
and MovieLens ml-latest-small (610 users x 9,724 items, bundled). Thread count
``t`` means numba threads = BLAS threads = ``t`` for mf; implicit runs
``num_threads=t`` with BLAS limited to one thread, the configuration it asks
for (it warns otherwise). The two libraries alternate, ``--repeats`` times,
and the median is reported as users per second. implicit and threadpoolctl are
optional: without them only mf is timed. Results: ``results/topk_vs_implicit.json``.
"""

import argparse
import statistics
import time

import numpy as np

from mf.datasets import load_movielens, synthetic
from mf.kernels.topk import topk_blocked

try:
    from .common import machine, save, versions
except ImportError:  # run as a script: benchmarks/ is on sys.path
    from common import machine, save, versions

try:
    from threadpoolctl import threadpool_limits
except ImportError:
    threadpool_limits = None
try:
    from implicit.cpu.als import AlternatingLeastSquares
except ImportError as exc:
    AlternatingLeastSquares = None
    IMPLICIT_ERROR = str(exc)

N = 10
FACTORS = 64


def blas_threads(n):
    """Context limiting BLAS threads (a no-op without threadpoolctl)."""
    if threadpool_limits is None:
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(n, "blas")


def datasets():
    yield "synthetic 1M", synthetic(25_000, 10_000, 1_000_000, random_state=0)
    yield "ml-latest-small", load_movielens("ml-latest-small").ratings


def run(name, ratings, threads, repeats):
    csr = ratings.to_csr()
    rng = np.random.default_rng(0)
    U = (0.1 * rng.standard_normal((ratings.n_users, FACTORS))).astype(np.float32)
    V = (0.1 * rng.standard_normal((ratings.n_items, FACTORS))).astype(np.float32)
    users = np.arange(ratings.n_users)
    rows = []
    for t in threads:
        def ours():
            with blas_threads(t):
                start = time.perf_counter()
                out = topk_blocked(U, V, users, N, indptr=csr.indptr, indices=csr.indices, n_threads=t)
                return time.perf_counter() - start, out

        runs = {"mf": ours}
        if t > 1 and threadpool_limits is not None:
            def ours_blas1():
                with blas_threads(1):
                    start = time.perf_counter()
                    out = topk_blocked(U, V, users, N, indptr=csr.indptr, indices=csr.indices, n_threads=t)
                    return time.perf_counter() - start, out

            runs["mf, BLAS 1 thread"] = ours_blas1
        if AlternatingLeastSquares is not None:
            model = AlternatingLeastSquares(factors=FACTORS, num_threads=t, random_state=0)
            model.user_factors = U
            model.item_factors = V

            def theirs():
                with blas_threads(1):
                    start = time.perf_counter()
                    out = model.recommend(users, csr, N=N, filter_already_liked_items=True)
                    return time.perf_counter() - start, out

            runs["implicit"] = theirs
        outputs = {label: fn()[1] for label, fn in runs.items()}  # warm-up (JIT compilation)
        times = {label: [] for label in runs}
        for _ in range(repeats):
            for label, fn in runs.items():
                seconds, outputs[label] = fn()
                times[label].append(seconds)
        mf_rate = ratings.n_users / statistics.median(times["mf"])
        row = {"data": name, "threads": t, "mf users/s": mf_rate, "mf s": times["mf"]}
        if "implicit" in runs:
            imp_rate = ratings.n_users / statistics.median(times["implicit"])
            same = float(np.mean(outputs["mf"][0] == outputs["implicit"][0]))
            row.update({"implicit users/s": imp_rate, "implicit s": times["implicit"], "ratio": mf_rate / imp_rate,
                        "same ids": same})
        if "mf, BLAS 1 thread" in runs:
            row["mf BLAS-1 users/s"] = ratings.n_users / statistics.median(times["mf, BLAS 1 thread"])
        rows.append(row)
        print(format_row(row), flush=True)
    return rows


def format_row(row):
    text = f"{row['data']:<16} threads={row['threads']}  mf {row['mf users/s']:>10,.0f} users/s"
    if "ratio" in row:
        text += (f"  implicit {row['implicit users/s']:>10,.0f} users/s  ratio {row['ratio']:.2f}x"
                 f"  identical ids {100 * row['same ids']:.2f}%")
    if "mf BLAS-1 users/s" in row:
        text += f"  mf with BLAS on 1 thread {row['mf BLAS-1 users/s']:>10,.0f} users/s"
    runs = " ".join(f"{s:.3f}" for s in row["mf s"])
    text += f"  (mf runs s: {runs}"
    if "implicit s" in row:
        text += "; implicit runs s: " + " ".join(f"{s:.3f}" for s in row["implicit s"])
    return text + ")"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", default="1,2")
    args = parser.parse_args(argv)
    threads = [int(t) for t in args.threads.split(",")]
    if AlternatingLeastSquares is None:
        print(f"implicit is not importable ({IMPLICIT_ERROR}); timing mf only")
    rows = []
    for name, ratings in datasets():
        print(f"{name}: {ratings!r}")
        rows += run(name, ratings, threads, args.repeats)
    print("wrote", save("topk_vs_implicit", dict(machine=machine(), versions=versions("mf", "numba", "numpy", "implicit"),
                                                 n=N, factors=FACTORS, repeats=args.repeats, rows=rows)))


if __name__ == "__main__":
    main()
