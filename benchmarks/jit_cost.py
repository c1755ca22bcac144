"""Start-up cost: ``import mf`` plus a first fit in a fresh process, cold and warm numba cache.

    python -m benchmarks.jit_cost [--solver als,sgd,adam] [--repeats 3] [--peers [NAMES]]

Cold: an empty ``NUMBA_CACHE_DIR``, so every kernel is compiled. Warm: the
same directory again, so kernels load from the cache. Each figure is the
median wall time of whole processes (``time.perf_counter`` around
``subprocess.run``). ``--peers`` adds the same measurement for the peer
libraries' "import and fit once on 2,000 ratings" programs
(``benchmarks.peers.COLD_START``: Surprise, implicit, LensKit, Spark,
TF-Keras and, for comparison with the latter, mf.keras); the programs
alternate within each repeat, and a library that is not installed is skipped.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

from . import peers
from .common import machine, median, save, table

SCRIPT = """
import numpy as np, mf
rng = np.random.default_rng(0)
data = mf.Ratings(rng.integers(0, 100, 2000), rng.integers(0, 50, 2000), rng.integers(1, 6, 2000), duplicates="last")
mf.MatrixFactorization(factors=8, epochs=2, solver={solver!r}).fit(data).predict([1], [2])
"""


def run(code, cache_dir, python=sys.executable, check=True):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    start = time.perf_counter()
    proc = subprocess.run([python, "-c", code], env=env, check=check, stdout=subprocess.DEVNULL,
                          stderr=None if check else subprocess.DEVNULL)
    return time.perf_counter() - start if proc.returncode == 0 else None


def peer_programs(names, repeats):
    """Cold and warm process times of the peers' start-up programs, alternating programs in each repeat."""
    programs = {}
    for name in names:
        kind, code = peers.COLD_START[name]
        python = peers.cold_start_python(kind)
        if python is not None:
            programs[name] = (kind, python, code)
    times = {name: dict(cold=[], warm=[]) for name in programs}
    for _ in range(repeats):
        for name, (kind, python, code) in programs.items():
            with tempfile.TemporaryDirectory() as cache:
                times[name]["cold"].append(run(code, cache, python, check=False))
                times[name]["warm"].append(run(code, cache, python, check=False))
    results = []
    for name, t in times.items():
        if None in t["cold"] or None in t["warm"]:
            results.append(dict(name=name, skipped="the program failed (library not installed?)"))
        else:
            results.append(dict(name=name, python=programs[name][0], cold_s=t["cold"], warm_s=t["warm"]))
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--solver", default="als,sgd,adam")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--peers", nargs="?", const=",".join(peers.COLD_START), default="",
                    help="comma-separated peer programs (default when given: all)")
    args = ap.parse_args(argv)
    rows, results = [], []
    import_only = []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as cache:
            import_only.append(run("import mf", cache))
    rows.append(["import mf", "-", f"{median(import_only):.2f}"])
    for solver in args.solver.split(","):
        cold, warm = [], []
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as cache:
                cold.append(run(SCRIPT.format(solver=solver), cache))
                warm.append(run(SCRIPT.format(solver=solver), cache))
        rows.append([f"import + fit ({solver})", f"{median(cold):.2f}", f"{median(warm):.2f}"])
        results.append(dict(solver=solver, cold_s=cold, warm_s=warm))
    peer_results = peer_programs([name for name in args.peers.split(",") if name], args.repeats)
    for r in peer_results:
        rows.append([f"{r['name']} (import + fit)"] + ([r["skipped"], "-"] if "skipped" in r else
                                                        [f"{median(r['cold_s']):.2f}", f"{median(r['warm_s']):.2f}"]))
    print(table(rows, ["process", "cold cache s", "warm cache s"]))
    print("\nwrote", save("jit_cost", dict(machine=machine(), versions=peers.versions(), import_s=import_only,
                                          fits=results, peers=peer_results)))


if __name__ == "__main__":
    main()
