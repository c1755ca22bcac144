"""Time and memory of building mf.Ratings from integer id arrays.

Run one size per process (peak RSS is per process):

    python -m benchmarks.ratings_memory --n 10000000
    python -m benchmarks.ratings_memory --n 100000000   # needs ~6 GB of RAM

The input is ``n`` distinct (user, item) pairs of a 480k x 18k matrix (the
Netflix-prize shape) in scattered order, with float32 ratings. It prints the
construction time, the time of the first ``to_csr()``, the bytes of the
container (index arrays, values, id maps) and of what the CSR adds, and the
process's RSS before construction and at its peak. Each size is recorded
under its rating count in ``results/ratings_memory.json`` (other sizes kept).
"""

import argparse
import json
import math
import resource
import sys
import time

import numpy as np

from mf import Ratings

from .common import RESULTS, machine, save, versions

N_USERS = 480_189
N_ITEMS = 17_770


def _rss_now_mb():
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except OSError:
        return float("nan")
    return pages * resource.getpagesize() / 2**20


def _peak_rss_mb():
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def make_pairs(n, dtype, chunk=10_000_000):
    """``n`` distinct cells ``(a * k + b) mod cells`` (``a`` coprime to ``cells``), as user and item ids."""
    cells = N_USERS * N_ITEMS
    if n > cells:
        raise SystemExit(f"--n must be at most {cells:,}")
    a = 2_654_435_761
    while math.gcd(a, cells) != 1:
        a += 2
    users = np.empty(n, dtype=dtype)
    items = np.empty(n, dtype=dtype)
    for start in range(0, n, chunk):
        k = np.arange(start, min(start + chunk, n), dtype=np.int64)
        cell = (k * a + 12_345) % cells
        users[start : start + k.size] = cell // N_ITEMS
        items[start : start + k.size] = cell % N_ITEMS
    values = (1 + (np.arange(n, dtype=np.int64) * 7 % 9)).astype(np.float32) / 2
    return users, items, values


def container_bytes(r):
    arrays = [r.user_indices, r.item_indices, r.values, r.user_map.ids, r.item_map.ids]
    if r.timestamps is not None:
        arrays.append(r.timestamps)
    return sum(a.nbytes for a in arrays)


def csr_extra_bytes(r):
    csr = r.to_csr()
    extra = csr.indptr.nbytes
    if not np.shares_memory(csr.indices, r.item_indices):
        extra += csr.indices.nbytes
    if not np.shares_memory(csr.data, r.values):
        extra += csr.data.nbytes
    return extra


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ratings_memory", description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="number of ratings (default 10,000,000)")
    parser.add_argument("--dtype", choices=["int32", "int64"], default="int64", help="dtype of the raw id arrays")
    args = parser.parse_args(argv)

    Ratings([0, 1], [0, 1], [1.0, 2.0]).to_csr()  # compile the kernels outside the timings
    users, items, values = make_pairs(args.n, np.dtype(args.dtype))
    rss_before = _rss_now_mb()
    t0 = time.perf_counter()
    r = Ratings(users, items, values)
    build = time.perf_counter() - t0
    del users, items, values
    t0 = time.perf_counter()
    r.to_csr()
    to_csr = time.perf_counter() - t0
    container = container_bytes(r) / 2**20
    extra = csr_extra_bytes(r) / 2**20
    rows = [
        ("ratings", f"{r.nnz:,}"),
        ("shape", f"{r.n_users:,} x {r.n_items:,}"),
        ("input ids", args.dtype),
        ("Ratings(...) time", f"{build:.2f} s"),
        ("first to_csr() time", f"{to_csr:.2f} s"),
        ("container bytes", f"{container:,.0f} MiB"),
        ("CSR adds", f"{extra:,.0f} MiB"),
        ("container + CSR", f"{container + extra:,.0f} MiB"),
        ("RSS before Ratings(...)", f"{rss_before:,.0f} MiB"),
        ("peak RSS", f"{_peak_rss_mb():,.0f} MiB"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    previous = RESULTS / "ratings_memory.json"
    sizes = json.loads(previous.read_text())["sizes"] if previous.exists() else {}
    sizes[str(r.nnz)] = dict(n_users=r.n_users, n_items=r.n_items, input_ids=args.dtype, build_s=build,
                             to_csr_s=to_csr, container_mib=container, csr_extra_mib=extra, rss_before_mib=rss_before,
                             peak_rss_mib=_peak_rss_mb())
    save("ratings_memory", dict(machine=machine(), versions=versions("mf", "numba", "numpy"), sizes=sizes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
