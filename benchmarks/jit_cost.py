"""Start-up cost: ``import mf`` plus a first fit in a fresh process, cold and warm numba cache.

    python -m benchmarks.jit_cost [--solver als,sgd,adam] [--repeats 3]

Cold: an empty ``NUMBA_CACHE_DIR``, so every kernel is compiled. Warm: the
same directory again, so kernels load from the cache. Each figure is the
median wall time of whole processes (``time.perf_counter`` around
``subprocess.run``).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

from .common import machine, median, save, table

SCRIPT = """
import numpy as np, mf
rng = np.random.default_rng(0)
data = mf.Ratings(rng.integers(0, 100, 2000), rng.integers(0, 50, 2000), rng.integers(1, 6, 2000), duplicates="last")
mf.MatrixFactorization(factors=8, epochs=2, solver={solver!r}).fit(data).predict([1], [2])
"""


def run(code, cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    return time.perf_counter() - start


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--solver", default="als,sgd,adam")
    ap.add_argument("--repeats", type=int, default=3)
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
    print(table(rows, ["process", "cold cache s", "warm cache s"]))
    print("\nwrote", save("jit_cost", dict(machine=machine(), import_s=import_only, fits=results)))


if __name__ == "__main__":
    main()
