"""Shared helpers for the benchmark scripts: timing, machine description, results files."""

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(os.environ.get("MF_BENCH_RESULTS") or Path(__file__).resolve().parent / "results")
CACHE = Path(__file__).resolve().parent / ".cache"
ML100K = Path(__file__).resolve().parents[2] / "shared" / "data" / "ml-100k"


def ml100k_dir():
    """Folder with ML-100K's u.data and u1..u5 splits, or None.

    ``../shared/data/ml-100k`` when present, else the release that
    ``mf.datasets.load_movielens("100k")`` downloads (or finds in its cache),
    unpacked into ``benchmarks/.cache/ml-100k``.
    """
    if (ML100K / "u1.base").exists():
        return ML100K
    dest = CACHE / "ml-100k"
    names = ["u.data"] + [f"u{k}.{part}" for k in range(1, 6) for part in ("base", "test")]
    if not all((dest / name).exists() for name in names):
        import zipfile

        from mf.datasets import data_home, load_movielens

        try:
            load_movielens("100k")
        except OSError as exc:
            print(f"ML-100K is not available ({exc})", file=sys.stderr)
            return None
        dest.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(data_home() / "ml-100k.zip") as archive:
            for name in names:
                (dest / name).write_bytes(archive.read(f"ml-100k/{name}"))
    return dest


def machine():
    """What the numbers were measured on."""
    info = {
        "date": time.strftime("%Y-%m-%d"),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cores": os.cpu_count(),
    }
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        info["cpu"] = names[0] if names else platform.processor()
    except OSError:
        info["cpu"] = platform.processor()
    return info


def versions(*modules):
    out = {}
    for name in modules:
        try:
            mod = __import__(name)
            out[name] = getattr(mod, "__version__", "?")
        except ImportError:
            out[name] = None
    return out


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - start, value


def alternate(runs, repeats=3):
    """Run each named callable ``repeats`` times, alternating; return {name: [seconds, ...]}.

    Each callable returns the seconds it wants counted (so set-up can be excluded).
    """
    out = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            out[name].append(fn())
    return out


def median(values):
    return statistics.median(values)


def save(name, payload):
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=1, default=float))
    os.replace(tmp, path)
    return path


def git_revision():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def table(rows, headers):
    """Plain-text table."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths))]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(str(c).rjust(w) if isinstance(c, (int, float)) else str(c).ljust(w)
                               for c, w in zip(r, widths)))
    return "\n".join(lines)
