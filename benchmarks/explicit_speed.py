"""Speed of the explicit-feedback engine, side by side with Surprise and LensKit.

    python -m benchmarks.explicit_speed [--sizes 1e6,1e7] [--repeats 3] [--epochs 5]

- SGD, 100 factors: mf (1 and 2 threads) against Surprise's SVD (single
  threaded) on the same synthetic ratings, whole ``fit`` time and seconds per
  epoch, alternating libraries, median of ``--repeats``.
- ALS, 50 factors: seconds per iteration, mf (exact and 3 CG steps)
  against LensKit's BiasedMF (``lenskit.algorithms.als``, coordinate descent
  and LU; LensKit 0.14 needs numpy < 2, so ``benchmarks.peers`` runs it in
  its own environment when it is not importable here) and Spark's ALS
  (local mode; fit time / iterations, job set-up included).
- Throughput against the machine: our single-thread SGD epoch against a
  read-only pass that touches ``P[u]`` and ``Q[i]`` of every rating in the
  same order (a dot product per rating).

Peers are optional (``benchmarks.peers``): each is skipped with a note when
it is not installed.
"""

import argparse
import sys
import time

import numpy as np
from numba import njit

import mf
from mf.kernels.threads import numba_threads

from . import peers
from .common import alternate, machine, median, save, table, timed, versions


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _read_pass(users, items, P, Q):
    total = 0.0
    k = P.shape[1]
    for j in range(users.size):
        u = users[j]
        i = items[j]
        acc = np.float32(0.0)
        for f in range(k):
            acc += P[u, f] * Q[i, f]
        total += acc
    return total


def make_data(n):
    n = int(n)
    n_users, n_items = max(n // 100, 100), max(n // 200, 50)
    return mf.datasets.synthetic(n_users, n_items, n, random_state=0)


def surprise_fit(data, factors, epochs):
    model = peers.SurpriseModel("SVD", n_factors=factors, n_epochs=epochs, random_state=0)
    if model.available():
        return None
    return lambda: model.fit(data)


def mf_fit(data, solver, factors, epochs, threads, **kw):
    def run():
        model = mf.MatrixFactorization(solver=solver, factors=factors, epochs=epochs, n_threads=threads,
                                       random_state=0, **kw)
        seconds, _ = timed(model.fit, data)
        run.per_epoch.append(median(model.history_["seconds"]))
        return seconds

    run.per_epoch = []
    return run


def peer_als(model, data, iterations):
    """Seconds per iteration of a peer's ALS: its own per-iteration timer, else fit time / iterations."""
    if model.available():
        return None

    def run():
        seconds = model.fit(data)
        return median(model.epoch_seconds) if model.epoch_seconds else seconds / iterations

    run.model = model
    return run


def sgd_vs_surprise(sizes, repeats, epochs):
    rows, results = [], []
    for n in sizes:
        data = make_data(n)
        # Surprise's SVD defaults (lr 0.005, reg 0.02) so both run the same algorithm.
        runs = {f"mf sgd {t}t": mf_fit(data, "sgd", 100, epochs, t, lr=0.005, reg=0.02) for t in (1, 2)}
        peer = surprise_fit(data, 100, epochs)
        if peer is not None:
            runs["surprise SVD"] = peer
        for run in runs.values():
            run()  # warm-up: JIT compile / caches
            if hasattr(run, "per_epoch"):
                run.per_epoch.clear()
        times = alternate(runs, repeats)
        base = median(times["surprise SVD"]) if peer is not None else None
        for name, ts in times.items():
            fit = median(ts)
            per_epoch = median(runs[name].per_epoch) if hasattr(runs[name], "per_epoch") else fit / epochs
            ratio = base / fit if base else None
            rows.append([f"{data.nnz:,}", name, f"{fit:.3f}", f"{per_epoch:.4f}",
                         f"{data.nnz / per_epoch / 1e6:.1f}", "-" if ratio is None else f"{ratio:.1f}x"])
            results.append(dict(n=data.nnz, name=name, fit_s=fit, epoch_s=per_epoch, runs=ts, vs_surprise=ratio))
    print(f"\nSGD, 100 factors, {epochs} epochs (median of {repeats}); ratio = Surprise fit time / ours")
    print(table(rows, ["ratings", "library", "fit s", "s/epoch", "M upd/s", "speed-up"]))
    if not any(r["name"] == "surprise SVD" for r in results):
        print("  (Surprise not installed: pip install scikit-surprise pandas)")
    return results


def als_vs_lenskit(n, repeats, iterations=5):
    """Exact ALS (Cholesky) and ALS with 3 CG steps against LensKit's coordinate descent and LU."""
    data = make_data(n)
    runs = {}
    for t in (1, 2):
        runs[f"mf als exact {t}t"] = mf_fit(data, "als", 50, iterations, t)
        runs[f"mf als cg3 {t}t"] = mf_fit(data, "als", 50, iterations, t, cg_steps=3)
    threads = peers.cores()
    for name, model in [(f"lenskit BiasedMF {method}", peers.LensKitBiasedMF(50, iterations=iterations, method=method))
                        for method in ("cd", "lu")] + [("spark ALS", peers.SparkALS(rank=50, iterations=iterations))]:
        peer = peer_als(model, data, iterations)
        if peer is not None:
            runs[f"{name} {threads}t"] = peer
    for run in runs.values():
        run()
        if hasattr(run, "per_epoch"):
            run.per_epoch.clear()
    times = alternate(runs, repeats)
    for run in runs.values():
        if hasattr(run, "model"):
            run.model.close()
    peers.shutdown()
    base = median(times[f"lenskit BiasedMF cd {threads}t"]) if f"lenskit BiasedMF cd {threads}t" in times else None
    rows, results = [], []
    for name, ts in times.items():
        per_iter = median(runs[name].per_epoch) if hasattr(runs[name], "per_epoch") else median(ts)
        ratio = base / per_iter if base else None
        rows.append([f"{data.nnz:,}", name, f"{per_iter:.3f}", "-" if ratio is None else f"{ratio:.2f}x"])
        results.append(dict(n=data.nnz, name=name, iter_s=per_iter, vs_lenskit_cd=ratio))
    print(f"\nALS, 50 factors, seconds per iteration (median of {repeats}); ratio = LensKit (cd, its default) / ours")
    print(table(rows, ["ratings", "library", "s/iter", "speed-up"]))
    if base is None:
        print("  (LensKit not installed: pip install 'lenskit<0.15' in a separate environment)")
    return results


def throughput(n, repeats, factors=100):
    data = make_data(n)
    model = mf.MatrixFactorization(solver="sgd", factors=factors, epochs=1, n_threads=1, random_state=0)
    model.fit(data)
    P, Q = model.user_factors_, model.item_factors_
    u, i = data.user_indices, data.item_indices
    order = np.random.default_rng(0).permutation(u.size)
    u, i = u[order], i[order]
    with numba_threads(1):
        _read_pass(u, i, P, Q)
        reads = [timed(_read_pass, u, i, P, Q)[0] for _ in range(repeats)]
    sgd = mf_fit(data, "sgd", factors, 3, 1)
    sgd()
    sgd.per_epoch.clear()
    for _ in range(repeats):
        sgd()
    read_s, sgd_s = median(reads), median(sgd.per_epoch)
    ratio = read_s / sgd_s
    print(f"\nThroughput, {data.nnz:,} ratings, k={factors}, 1 thread: read-only pass {data.nnz / read_s / 1e6:.1f} M/s "
          f"(random order), SGD epoch {data.nnz / sgd_s / 1e6:.1f} M/s -> SGD at {100 * ratio:.0f}% of the pass")
    return dict(n=data.nnz, read_s=read_s, sgd_epoch_s=sgd_s, fraction=ratio)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1e6,1e7", help="comma-separated rating counts for the SGD comparison")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: sgd,als,throughput")
    args = ap.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    sizes = [float(s) for s in args.sizes.split(",")]
    payload = dict(machine=machine(), versions={**versions("mf", "numba", "numpy"), **peers.versions()},
                   settings=vars(args))
    print(payload["machine"], payload["versions"], file=sys.stderr)
    started = time.time()
    if "sgd" not in skip:
        payload["sgd_vs_surprise"] = sgd_vs_surprise(sizes, args.repeats, args.epochs)
    if "als" not in skip:
        payload["als_vs_lenskit"] = als_vs_lenskit(sizes[0], args.repeats)
    if "throughput" not in skip:
        payload["throughput"] = throughput(sizes[0], args.repeats)
    payload["wall_s"] = time.time() - started
    print("\nwrote", save("explicit_speed", payload))


if __name__ == "__main__":
    main()
