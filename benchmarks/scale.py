"""How fit time and memory grow with the data: synthetic 1M -> 10M -> 100M ratings.

    python -m benchmarks.scale [--sizes 1e6,1e7,1e8] [--models mf-als,mf-sgd,...] [--repeats 3] [--fresh]
                               [--factors 64] [--iterations 10] [--threads N] [--peer-max 1e7]

Data: ``mf.datasets.synthetic`` with Netflix's 208 ratings per user and its
17,770 items; at 100M ratings that is Netflix's shape, 480,189 users x
17,770 items. Each size is generated once, in its own process, and stored
in ``benchmarks/.cache/scale-N`` (12 bytes a rating) so that every fit
starts from the same arrays.

Every fit runs in a fresh process, so its peak resident memory
(``ru_maxrss``, plus the peak of any helper process such as Spark's JVM) is
its own: loading the data, converting it to the library's format, fitting.
Models (``--models``):

- ``mf-als``, ``mf-als-cg``, ``mf-sgd``: ``mf.MatrixFactorization`` with
  ``--factors``, ``--iterations`` and ``--threads`` (per-iteration times from
  ``history_``): exact ALS, ALS with 3 conjugate-gradient steps per row
  (``cg_steps=3``), SGD.
- ``lenskit-als``: LensKit's ``BiasedMF`` (coordinate descent, its default),
  per-iteration times from ``fit_iters``; run in LensKit's interpreter.
- ``spark-als``: Spark's ``ALS`` in ``local[threads]``; fit time / iterations
  (job set-up included).
- ``surprise-svd``: Surprise's ``SVD`` (one thread); fit time / epochs.
- ``mf-ials``, ``implicit-als``: implicit feedback on the same (user, item)
  pairs (each a positive): mf's ``ImplicitALS`` and the implicit library's
  ALS, both with 3 conjugate-gradient steps, ``reg=0.01``, confidence 2 per
  positive, BLAS on one thread for implicit (its per-iteration timers).

Peers run up to ``--peer-max`` ratings. Libraries alternate within each
repeat; sizes of ``--single-above`` ratings or more run once, and the peers
run once from ``--peer-single-above`` ratings on (Spark's fit at 10M ratings
takes about ten minutes on two cores). Results
are saved after every fit (``results/scale.json``), so an interrupted run
keeps what it reached; a fit that fails or passes ``--timeout`` is recorded
with its error and the last lines it printed. A run adds to the results of
earlier runs with the same factors, iterations and threads (runs of the
models and sizes it measures again are replaced); ``--fresh`` starts over.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from . import peers
from .common import CACHE, RESULTS, machine, median, save, table, versions

NETFLIX_USERS, NETFLIX_ITEMS, NETFLIX_RATINGS = 480_189, 17_770, 100_000_000
MODELS = {
    "mf-als": dict(label="mf ALS", family="ALS", python="bench"),
    "mf-als-cg": dict(label="mf ALS (3 CG steps)", family="ALS", python="bench"),
    "mf-sgd": dict(label="mf SGD", family="SGD", python="bench"),
    "lenskit-als": dict(label="LensKit BiasedMF (cd)", family="ALS", python="lenskit"),
    "spark-als": dict(label="Spark ALS", family="ALS", python="bench"),
    "surprise-svd": dict(label="Surprise SVD", family="SGD", python="bench"),
    "mf-ials": dict(label="mf ImplicitALS (cg)", family="implicit ALS", python="bench"),
    "implicit-als": dict(label="implicit ALS (cg)", family="implicit ALS", python="bench"),
}


def shape(n):
    """Netflix's ratings per user and item count: (users, items) for ``n`` ratings."""
    return max(100, round(NETFLIX_USERS * n / NETFLIX_RATINGS)), NETFLIX_ITEMS


def folder(n):
    return CACHE / f"scale-{n}"


def peak_rss_mb():
    """Peak resident memory of this process and of its live children (Spark's JVM), in MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return own + sum(_hwm_mb(pid) for pid in _descendants(os.getpid()))


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _descendants(pid):
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                for child in f.read().split():
                    out += [int(child)] + _descendants(int(child))
    except OSError:
        pass
    return out


def _hwm_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# ---------------------------------------------------------------------- child processes
def generate(n):
    """Draw the synthetic ratings for size ``n`` and store them (run in its own process)."""
    import mf

    n_users, n_items = shape(n)
    start = time.perf_counter()
    r = mf.datasets.synthetic(n_users, n_items, n, random_state=0)
    seconds = time.perf_counter() - start
    dest = folder(n)
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("user_indices", "item_indices", "values"):
        np.save(dest / f"{name}.npy", getattr(r, name))
    np.save(dest / "user_ids.npy", r.user_ids)
    np.save(dest / "item_ids.npy", r.item_ids)
    meta = dict(n=n, n_users=n_users, n_items=n_items, generate_s=seconds, generate_peak_rss_mb=peak_rss_mb())
    (dest / "meta.json").write_text(json.dumps(meta))
    return meta


def load(n, implicit=False):
    """The stored ratings of size ``n`` as a ``mf.Ratings`` (canonical order); ``implicit``: every pair a positive."""
    from mf.data import Ratings
    from mf.data.ids import IdMap

    src = folder(n)
    arrays = {name: np.load(src / f"{name}.npy") for name in
              ("user_indices", "item_indices", "values", "user_ids", "item_ids")}
    if implicit:
        arrays["values"] = np.ones_like(arrays["values"])
    return Ratings._from_canonical(IdMap(arrays["user_ids"], "users"), IdMap(arrays["item_ids"], "items"),
                                   arrays["user_indices"], arrays["item_indices"], arrays["values"], None, implicit)


def adapter(model, factors, iterations, threads):
    if model == "mf-als":
        return peers.MF("mf ALS", threads, solver="als", factors=factors, epochs=iterations, random_state=0)
    if model == "mf-als-cg":
        return peers.MF("mf ALS (3 CG steps)", threads, solver="als", cg_steps=3, factors=factors, epochs=iterations,
                        random_state=0)
    if model == "mf-sgd":
        return peers.MF("mf SGD", threads, solver="sgd", factors=factors, epochs=iterations, random_state=0)
    if model == "lenskit-als":
        return peers.LensKitBiasedMF(factors, iterations=iterations, threads=threads)
    if model == "spark-als":
        return peers.SparkALS(rank=factors, iterations=iterations, threads=threads)
    if model == "mf-ials":
        return peers.MFImplicit("als", factors=factors, iterations=iterations, threads=threads)
    if model == "implicit-als":
        return peers.ImplicitLib("als", factors=factors, iterations=iterations, threads=threads)
    return peers.SurpriseModel("SVD", n_factors=factors, n_epochs=iterations, random_state=0)


def work(model, n, factors, iterations, threads):
    """Fit one model on size ``n`` in this process and describe the run (time, memory, a training RMSE)."""
    real_stdout, sys.stdout = sys.stdout, sys.stderr
    load_1min = os.getloadavg()[0]
    implicit = MODELS[model]["family"] == "implicit ALS"
    start = time.perf_counter()
    data = load(n, implicit)
    load_s = time.perf_counter() - start
    load_rss = rss_mb()
    m = adapter(model, factors, iterations, threads)
    start = time.perf_counter()
    fit_s = m.fit(data)
    prepare_s = time.perf_counter() - start - fit_s
    peak = peak_rss_mb()
    train_rmse = None
    if not implicit:
        sample = np.random.default_rng(0).choice(data.nnz, size=min(data.nnz, 10_000), replace=False)
        pred = m.predict(data.user_ids[data.user_indices[sample]], data.item_ids[data.item_indices[sample]])
        train_rmse = float(np.sqrt(np.mean((pred - data.values[sample]) ** 2)))
        m.close()
    peers.shutdown()
    per_iter = m.epoch_seconds
    out = dict(model=model, n=data.nnz, n_users=data.n_users, n_items=data.n_items, factors=factors,
               iterations=iterations, threads=m.threads, load_s=load_s, prepare_s=prepare_s, fit_s=fit_s,
               iter_s=median(per_iter) if per_iter else fit_s / iterations,
               iter_timer="library" if per_iter else "fit / iterations", epoch_seconds=per_iter,
               load_rss_mb=load_rss, peak_rss_mb=peak, train_rmse_sample=train_rmse, load_1min=load_1min)
    real_stdout.write(json.dumps(out) + "\n")
    return out


# ---------------------------------------------------------------------- driver
def python_for(kind):
    return peers.lenskit_python() if kind == "lenskit" else sys.executable


def child(python, args, log, timeout, env=None):
    """Run ``python -m benchmarks.scale ARGS``; return (reply dict or None, error text)."""
    with open(log, "w") as err:
        try:
            proc = subprocess.run([python, "-m", "benchmarks.scale", *args], cwd=peers.ROOT, stdout=subprocess.PIPE,
                                  stderr=err, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            return None, f"timed out after {timeout} s"
    lines = proc.stdout.strip().splitlines()
    if proc.returncode == 0 and lines:
        return json.loads(lines[-1]), None
    return None, f"exit status {proc.returncode}"


def tail(log, n=5):
    try:
        return Path(log).read_text(errors="replace").strip().splitlines()[-n:]
    except OSError:
        return []


def earlier(args, sizes, models):
    """Data and runs kept from ``results/scale.json``: same factors, iterations and threads, other models or sizes."""
    path = RESULTS / "scale.json"
    kept = dict(data={}, runs=[])
    if args.fresh or not path.exists():
        return kept
    old = json.loads(path.read_text())
    if all(old["settings"].get(key) == getattr(args, key) for key in ("factors", "iterations", "threads")):
        kept["data"] = old.get("data", {})
        kept["runs"] = [r for r in old["runs"] if not (r["model"] in models and r["n"] in sizes)]
    return kept


def summarize(runs):
    rows, summary = [], []
    keys = sorted({(r["model"], r["n"]) for r in runs if "fit_s" in r}, key=lambda k: (k[1], k[0]))
    for model, n in keys:
        mine = [r for r in runs if r.get("model") == model and r.get("n") == n and "fit_s" in r]
        s = dict(model=model, label=MODELS[model]["label"], family=MODELS[model]["family"], n=n,
                 repeats=len(mine), iter_s=median([r["iter_s"] for r in mine]),
                 fit_s=median([r["fit_s"] for r in mine]), peak_rss_mb=max(r["peak_rss_mb"] for r in mine),
                 iter_timer=mine[0]["iter_timer"], threads=mine[0]["threads"],
                 train_rmse_sample=mine[0]["train_rmse_sample"])
        summary.append(s)
        rmse = s["train_rmse_sample"]
        rows.append([f"{n:,}", s["label"], s["threads"], f"{s['iter_s']:.3f}", f"{s['fit_s']:.1f}",
                     f"{s['peak_rss_mb']:,.0f}", "-" if rmse is None else f"{rmse:.3f}", s["repeats"]])
    return rows, summary


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1e6,1e7,1e8")
    ap.add_argument("--models", default=",".join(m for m in MODELS if MODELS[m]["family"] != "implicit ALS"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--single-above", type=float, default=1e8, help="sizes from here on run once")
    ap.add_argument("--factors", type=int, default=64)
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--threads", type=int, default=peers.cores())
    ap.add_argument("--peer-max", type=float, default=1e7, help="largest size the peers run at")
    ap.add_argument("--peer-single-above", type=float, default=1e7, help="sizes from here on run the peers once")
    ap.add_argument("--timeout", type=int, default=3600, help="seconds allowed to one fit")
    ap.add_argument("--fresh", action="store_true", help="do not keep the results of earlier runs")
    ap.add_argument("--generate", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--worker", choices=list(MODELS), help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.generate:
        print(json.dumps(generate(int(args.generate))))
        return 0
    if args.worker:
        work(args.worker, args.n, args.factors, args.iterations, args.threads)
        return 0

    sizes = [int(float(s)) for s in args.sizes.split(",")]
    models = [m for m in args.models.split(",") if m]
    unknown = set(models) - set(MODELS)
    if unknown:
        ap.error(f"unknown models {sorted(unknown)}; choose from {list(MODELS)}")
    notes = {}
    for m in models:
        note = adapter(m, 2, 1, 1).available()
        if note is None and MODELS[m]["python"] == "lenskit" and peers.lenskit_python() is None:
            note = "no LensKit interpreter"
        if note:
            notes[m] = note
            print(f"  ({MODELS[m]['label']}: {note}; skipped)", file=sys.stderr)
    models = [m for m in models if m not in notes]
    logs = CACHE / "scale-logs"
    logs.mkdir(parents=True, exist_ok=True)
    payload = dict(machine=machine(), versions={**versions("mf", "numba", "numpy"), **peers.versions()},
                   settings=vars(args), skipped=notes, **earlier(args, sizes, models))
    for n in sizes:
        if not (folder(n) / "meta.json").exists():
            print(f"generating {n:,} ratings ...", file=sys.stderr, flush=True)
            meta, error = child(sys.executable, ["--generate", str(n)], logs / f"generate-{n}.log", args.timeout)
            if error:
                payload["data"][str(n)] = dict(error=error, log=tail(logs / f"generate-{n}.log"))
                save("scale", payload)
                continue
        payload["data"][str(n)] = json.loads((folder(n) / "meta.json").read_text())
        here = [m for m in models if m.startswith("mf-") or n <= args.peer_max]
        repeats = 1 if n >= args.single_above else args.repeats
        for rep in range(repeats):
            for m in here:
                if rep and not m.startswith("mf-") and n >= args.peer_single_above:
                    continue
                log = logs / f"{m}-{n}-{rep}.log"
                fit_args = ["--worker", m, "--n", str(n), "--factors", str(args.factors), "--iterations",
                            str(args.iterations), "--threads", str(args.threads)]
                started = time.perf_counter()
                env = peers.single_thread_blas_env(args.threads) if m == "lenskit-als" else None
                reply, error = child(python_for(MODELS[m]["python"]), fit_args, log, args.timeout, env)
                wall = time.perf_counter() - started
                if reply is None:
                    reply = dict(model=m, n=n, repeat=rep, error=error, wall_s=wall, log=tail(log))
                    print(f"  {n:>11,} {m:<13} FAILED: {error}", file=sys.stderr, flush=True)
                else:
                    reply.update(repeat=rep, wall_s=wall)
                    print(f"  {n:>11,} {m:<13} {reply['iter_s']:8.3f} s/iter  fit {reply['fit_s']:7.1f} s  "
                          f"peak {reply['peak_rss_mb']:8,.0f} MiB", file=sys.stderr, flush=True)
                payload["runs"].append(reply)
                payload["summary"] = summarize(payload["runs"])[1]
                save("scale", payload)
    rows, payload["summary"] = summarize(payload["runs"])
    print(f"\n{args.factors} factors, {args.iterations} iterations; s/iter and fit s: median over repeats; "
          "peak RSS: largest")
    print(table(rows, ["ratings", "library", "threads", "s/iter", "fit s", "peak RSS MiB", "train RMSE", "runs"]))
    print("\nwrote", save("scale", payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
