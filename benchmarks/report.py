"""Regenerate ``benchmarks/README.md`` and its plots from ``benchmarks/results/*.json``.

    python -m benchmarks report [--results DIR] [--out FILE]

Each results file has its own section; files that are absent are listed as
not run. Plots (PNG, matplotlib, written next to the results): RMSE against
training time per library, seconds per iteration against data size
(log-log) and peak memory against data size.
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from .common import RESULTS, median

HERE = Path(__file__).resolve().parent
SCALE_TARGET = dict(n=100_000_000, factors=64, iterations=10, peak_gib=8.0, fit_s=600.0, threads=2)
DATASET_TITLES = {"ml-100k": "ML-100K, official splits u1-u5", "latest-small": "ml-latest-small, 5-fold"}
ALS_HEADLINE = [("mf als exact", "lenskit BiasedMF lu"), ("mf als cg3", "lenskit BiasedMF cd"),
                ("mf als exact", "spark ALS")]
"""(mf, peer) name prefixes of the ALS speed rows in the headline: exact against exact, approximate against approximate."""
MODEL_STYLES = {"mf-als": ("tab:blue", "-", "o"), "mf-als-cg": ("tab:cyan", "-", "s"),
                "mf-sgd": ("tab:blue", "--", "^"), "mf-ials": ("tab:blue", ":", "D"),
                "lenskit-als": ("tab:green", "-", "o"), "spark-als": ("tab:red", "-", "o"),
                "surprise-svd": ("tab:orange", "--", "^"), "implicit-als": ("tab:purple", ":", "D")}
"""Scale plot styles: colour by library (mf's variants in blues), line by family (ALS -, SGD --, implicit ALS :)."""
LIBRARY_COLORS = {"mf": "tab:blue", "surprise": "tab:orange", "lenskit": "tab:green", "spark": "tab:red",
                  "implicit": "tab:purple", "tf": "tab:brown"}


# ---------------------------------------------------------------------- formatting
def md_table(headers, rows):
    lines = ["| " + " | ".join(str(h) for h in headers) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|"]
    lines += ["| " + " | ".join("" if c is None else str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def num(x, digits=3):
    """``x`` to ``digits`` significant digits (thousands separated), '-' for None."""
    if x is None:
        return "-"
    x = float(x)
    if x == 0 or not np.isfinite(x):
        return f"{x:g}"
    decimals = max(0, digits - 1 - int(np.floor(np.log10(abs(x)))))
    return f"{x:,.{decimals}f}"


def secs(x):
    if x is None:
        return "-"
    if x < 1e-3:
        return f"{num(x * 1e6)} µs"
    if x < 1:
        return f"{num(x * 1e3)} ms"
    return f"{num(x)} s"


def ratio(peer, ours):
    """How many times faster mf is (peer time / mf time)."""
    if not peer or not ours:
        return "-"
    return f"{peer / ours:.2f}×"


def mib(x):
    return "-" if x is None else (f"{x / 1024:.2f} GiB" if x >= 1024 else f"{x:,.0f} MiB")


def link(folder, name, page):
    """Path of a plot relative to the page that shows it."""
    return Path(os.path.relpath(folder / name, page.parent)).as_posix()


def load(folder):
    """Every results file by name, with when it was measured under ``_when``.

    ``_when`` is the recorded ``machine.time`` (or, in older files, only the
    date), so the order does not depend on file modification times, which a
    fresh clone resets.
    """
    out = {}
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        if isinstance(data, dict):
            recorded = data.get("machine") or {}
            data["_when"] = (str(recorded.get("time") or recorded.get("date") or ""), path.stem)
        out[path.stem] = data
    return out


def family(results, prefix):
    """Names of the results files ``prefix.json`` and ``prefix_<anything>.json``, oldest first."""
    return sorted((n for n in results if n == prefix or n.startswith(prefix + "_")), key=lambda n: results[n]["_when"])


def newest(results, prefix):
    """One payload from a family of files: each key from the newest file that has it."""
    merged = {}
    for name in family(results, prefix):
        merged.update(results[name])
    return merged


IMPLICIT_KEYS = {"als_seconds_per_iteration": 4, "bpr_epochs_per_second": 3, "ranking_accuracy": 2}
"""Tables of implicit_vs_peer files and how many leading columns identify a row (the rest are measurements)."""


def implicit_merged(results):
    """The implicit_vs_peer tables merged over its files: a row measured again in a newer file replaces the older."""
    out = {}
    for name in family(results, "implicit_vs_peer"):
        for key, width in IMPLICIT_KEYS.items():
            section = results[name].get(key)
            if section:
                table = out.setdefault(key, {"headers": section["headers"], "rows": {}})
                for row in section["rows"]:
                    table["rows"][tuple(row[:width])] = (row, name)
    return out


# ---------------------------------------------------------------------- plots
def plot_setup():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 8, "figure.dpi": 100, "savefig.dpi": 100})
    return plt


def color(name):
    return LIBRARY_COLORS.get(name.split()[0].lower(), "tab:gray")


def plot_rmse_vs_time(results, path):
    plt = plot_setup()
    datasets = list(dict.fromkeys(r["dataset"] for r in results))
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.2 * len(datasets), 3.4), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        for r in (r for r in results if r["dataset"] == dataset):
            x, y = median(r["fit_s"]), float(np.mean(r["rmse"]))
            ax.scatter(x, y, color=color(r["name"]), s=18)
            ax.annotate(r["name"].split(" ", 1)[-1], (x, y), fontsize=6, xytext=(3, 2), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel("fit time, s (median over folds, log scale)")
        ax.set_ylabel("RMSE (mean over folds)")
        ax.set_title(DATASET_TITLES.get(dataset, dataset))
        ax.grid(alpha=0.3)
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, label=lib) for lib, c in LIBRARY_COLORS.items()
               if any(color(r["name"]) == c for r in results)]
    fig.legend(handles=handles, fontsize=7, loc="lower center", ncol=len(handles))
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path)
    plt.close(fig)


def plot_scale(summary, key, ylabel, path, target=None):
    plt = plot_setup()
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    for model in dict.fromkeys(s["model"] for s in summary):
        points = sorted((s["n"], s[key]) for s in summary if s["model"] == model)
        xs, ys = zip(*points)
        ys = [y / 1024 for y in ys] if key == "peak_rss_mb" else ys
        c, ls, marker = MODEL_STYLES.get(model, ("tab:gray", "-", "o"))
        label = next(s["label"] for s in summary if s["model"] == model)
        ax.plot(xs, ys, marker=marker, color=c, ls=ls, label=label)
    if target is not None:
        ax.axhline(target, color="black", lw=0.8, ls=":", label=f"target {target:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("ratings (log scale)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# ---------------------------------------------------------------------- sections
def versions_text(data):
    parts = []
    for key in ("versions", "tf_versions"):
        for name, version in (data.get(key) or {}).items():
            if version:
                parts.append(f"{name} {version}")
    return ", ".join(dict.fromkeys(parts))


def machine_section(results):
    rows = []
    for name, data in results.items():
        m = data.get("machine") or {}
        rows.append([f"`{name}.json`", m.get("date", "-"), m.get("cpu", "-"), m.get("cores", "-"),
                     m.get("python", "-"), versions_text(data) or "-"])
    machines = {(d.get("machine") or {}).get("cpu") for d in results.values()} - {None}
    cores = {(d.get("machine") or {}).get("cores") for d in results.values()} - {None}
    platforms = {(d.get("machine") or {}).get("platform") for d in results.values()} - {None}
    head = (f"Measured on {', '.join(sorted(machines))} with {', '.join(map(str, sorted(cores)))} cores "
            f"({', '.join(sorted(platforms))}). Each results file records its own date and library versions:")
    return "## Machine, versions, dates\n\n" + head + "\n\n" + md_table(
        ["results", "date", "CPU", "cores", "Python", "versions"], rows)


def best(results, dataset, library):
    rows = [r for r in results if r["dataset"] == dataset and r.get("library", r["name"].split()[0]) == library]
    return min(rows, key=lambda r: np.mean(r["rmse"])) if rows else None


def accuracy_section(data, folder, page, headline):
    results = data["results"]
    parts = ["## Accuracy: rating prediction",
             "Every model is trained on each fold's training part and scored on its test part; within a fold the "
             "models run one after another on the same `mf.Ratings`. RMSE and MAE are means over the folds (± the "
             "standard deviation of RMSE); fit time is the median over folds, after an untimed warm-up fit of each "
             "model (JIT compilation, Spark's start). Predictions are clipped to the training rating range; pairs "
             "a library cannot score get the training mean. ML-100K uses its official u1–u5 splits; ml-latest-small "
             f"a 5-fold split (`mf.split.k_fold`, `random_state=0`). Folds used: {data.get('folds', 5)}; threads: "
             f"{data.get('threads', '-')} (Surprise is single-threaded)."]
    for dataset in dict.fromkeys(r["dataset"] for r in results):
        rows = []
        for r in sorted((r for r in results if r["dataset"] == dataset), key=lambda r: np.mean(r["rmse"])):
            rows.append([r["name"], f"{np.mean(r['rmse']):.4f} ± {np.std(r['rmse']):.4f}", f"{np.mean(r['mae']):.4f}",
                         secs(median(r["fit_s"])), params_text(r.get("params"))])
        parts.append(f"### {dataset}\n\n" + md_table(["model", "RMSE", "MAE", "fit time", "settings"], rows))
        ours, theirs = best(results, dataset, "mf"), [best(results, dataset, lib) for lib in
                                                      ("surprise", "lenskit", "spark")]
        theirs = [t for t in theirs if t]
        if ours and theirs:
            peer = min(theirs, key=lambda r: np.mean(r["rmse"]))
            folds = len(ours["rmse"])
            headline.append([f"RMSE, {DATASET_TITLES.get(dataset, dataset)} ({folds} fold{'s' * (folds > 1)}): "
                             "best mf vs best peer",
                             f"{np.mean(ours['rmse']):.4f} ({ours['name']})",
                             f"{np.mean(peer['rmse']):.4f} ({peer['name']})",
                             f"{np.mean(ours['rmse']) - np.mean(peer['rmse']):+.4f} RMSE"])
    plot_rmse_vs_time(results, folder / "rmse_vs_time.png")
    parts.append(f"![RMSE against fit time]({link(folder, 'rmse_vs_time.png', page)})")
    return "\n\n".join(parts)


def params_text(params):
    if not params:
        return ""
    return ", ".join(f"{k}={v}" for k, v in params.items() if k not in ("random_state", "seed", "verbose"))


def itemknn_section(data):
    rows = []
    for name, runs in data["results"].items():
        if not runs:
            continue
        mean = {k: np.mean([r[k] for r in runs]) for k in ("rmse", "mae", "fit_s", "predict_s")}
        same = [r.get("share_within_1e4_of_surprise") for r in runs]
        rows.append([name, f"{mean['rmse']:.4f}", f"{mean['mae']:.4f}", secs(mean["fit_s"]), secs(mean["predict_s"]),
                     "-" if None in same else f"{100 * np.mean(same):.1f}%"])
    return ("### Item kNN (kNN-baseline) on ML-100K u1–u5\n\nmf's `ItemKNN` against Surprise's `KNNBaseline` "
            "(pearson_baseline, item-based), means over folds; the last column is the share of test predictions "
            "within 1e-4 of Surprise's.\n\n"
            + md_table(["model", "RMSE", "MAE", "fit", "predict test set", "= Surprise"], rows))


def speed_section(data, headline):
    parts = ["## Speed: explicit feedback", "Synthetic ratings (`mf.datasets.synthetic`), libraries alternating "
             f"within each repeat, medians of {data.get('settings', {}).get('repeats', 3)} repeats after an untimed "
             "warm-up run. Ratio columns: how many times faster mf is (peer time / mf time)."]
    sgd = data.get("sgd_vs_surprise")
    if sgd:
        rows = []
        for n in dict.fromkeys(r["n"] for r in sgd):
            mine = [r for r in sgd if r["n"] == n]
            peer = next((r for r in mine if r["name"] == "surprise SVD"), None)
            for r in mine:
                rows.append([f"{n:,}", r["name"], secs(r["fit_s"]), secs(r["epoch_s"]),
                             num(n / r["epoch_s"] / 1e6), ratio(peer and peer["fit_s"], r["fit_s"])])
                if peer and r["name"] == "mf sgd 1t" and n == max(x["n"] for x in sgd):
                    headline.append([f"SGD fit, {n:,} ratings, 100 factors: {r['name']} vs Surprise SVD",
                                     secs(r["fit_s"]), secs(peer["fit_s"]), ratio(peer["fit_s"], r["fit_s"])])
        epochs = data.get("settings", {}).get("epochs", "")
        parts.append(f"### SGD against Surprise SVD (100 factors, {epochs} epochs, lr 0.005, reg 0.02)\n\n"
                     + md_table(["ratings", "library", "fit", "per epoch", "M ratings/s", "mf faster by"], rows))
    als = data.get("als_vs_lenskit") or data.get("als_vs_peers")
    if als:
        lk = next((r for r in als if r["name"].startswith("lenskit BiasedMF cd")), None)
        rows = []
        for r in als:
            rows.append([f"{r['n']:,}", r["name"], secs(r["iter_s"]),
                         "-" if lk is None or r["name"].startswith("lenskit") else ratio(lk["iter_s"], r["iter_s"])])
        for mine, theirs in ALS_HEADLINE:
            ours = [x for x in als if x["name"].startswith(mine)]  # the last has the most threads
            peer = next((x for x in als if x["name"].startswith(theirs)), None)
            ours = ours[-1] if ours else None
            if ours and peer:
                headline.append([f"ALS per iteration, {peer['n']:,} ratings, 50 factors: {ours['name']} vs "
                                 f"{peer['name']}", secs(ours["iter_s"]), secs(peer["iter_s"]),
                                 ratio(peer["iter_s"], ours["iter_s"])])
        parts.append("### ALS against LensKit BiasedMF and Spark ALS (50 factors), seconds per iteration\n\n"
                     "mf: exact Cholesky solves and 3 conjugate-gradient steps; LensKit: coordinate descent (`cd`, "
                     "its default) and LU; Spark: fit time / iterations (its job set-up included). `Nt` = threads.\n\n"
                     + md_table(["ratings", "library", "per iteration", "faster than LensKit cd by"], rows))
    tp = data.get("throughput")
    if tp:
        parts.append(f"### SGD throughput against a read-only pass\n\n{tp['n']:,} ratings, 100 factors, one thread: "
                     f"an SGD epoch runs at {num(tp['n'] / tp['sgd_epoch_s'] / 1e6)} M ratings/s; a pass that only "
                     f"reads both factor rows of every rating (dot product) at {num(tp['n'] / tp['read_s'] / 1e6)} "
                     f"M ratings/s: SGD reaches {100 * tp['fraction']:.0f}% of it.")
    return "\n\n".join(parts)


def jit_section(data, headline):
    rows = [["import mf", "-", secs(median(data["import_s"]))]]
    for f in data.get("fits", []):
        rows.append([f"import mf + first fit ({f['solver']})", secs(median(f["cold_s"])), secs(median(f["warm_s"]))])
    ours = next((f for f in data.get("fits", []) if f["solver"] == "als"), None)
    for p in data.get("peers", []):
        if "skipped" in p:
            rows.append([f"{p['name']}: import + first fit", p["skipped"], "-"])
            continue
        rows.append([f"{p['name']}: import + first fit", secs(median(p["cold_s"])), secs(median(p["warm_s"]))])
        if ours and not p["name"].startswith("mf"):
            headline.append([f"start-up (fresh process, import + first fit, warm cache): mf ALS vs {p['name']}",
                             secs(median(ours["warm_s"])), secs(median(p["warm_s"])),
                             ratio(median(p["warm_s"]), median(ours["warm_s"]))])
    return ("### Start-up: a fresh process that imports the library and fits once\n\n2,000 random ratings, "
            "wall time of the whole process (median of repeats). Cold: empty numba cache, so numba-based libraries "
            "(mf, LensKit) compile their kernels; warm: the same cache again.\n\n"
            + md_table(["process", "cold cache", "warm cache"], rows))


def foldin_section(data):
    rows = [[name, secs(r["median_s"]), secs(r["p90_s"])] for name, r in data["results"].items()]
    return (f"### Fold-in latency of a new user (20 ratings, ml-latest-small, {data.get('threads')} thread)\n\n"
            + md_table(["call", "median", "90th percentile"], rows))


def similarity_section(data):
    rows = [[r["data"], r["metric"], r["threads"], secs(r["seconds"]), num(r["ns_per_triple"]), f"{r['nnz']:,}"]
            for r in data["results"]]
    return ("### Item-item similarity build (top 50 neighbours, shrinkage 100)\n\n"
            + md_table(["data", "metric", "threads", "time", "ns per co-rating triple", "stored pairs"], rows))


def topk_section(data, headline):
    rows = []
    for r in data["rows"]:
        rows.append([r["data"], r["threads"], num(r["mf users/s"]), num(r.get("implicit users/s")),
                     f"{r['ratio']:.2f}×" if "ratio" in r else "-",
                     f"{100 * r['same ids']:.2f}%" if "same ids" in r else "-"])
        if "ratio" in r and r["threads"] == max(x["threads"] for x in data["rows"]):
            headline.append([f"top-10 for every user, {r['data']}, {r['threads']} threads: mf vs implicit (users/s)",
                             num(r["mf users/s"]), num(r["implicit users/s"]), f"{r['ratio']:.2f}×"])
    return (f"### Batch top-{data.get('n', 10)} with seen items filtered, against implicit's `recommend`\n\n"
            f"Same float32 factors ({data.get('factors')}), same seen-items matrix; users per second.\n\n"
            + md_table(["data", "threads", "mf users/s", "implicit users/s", "mf faster by", "identical ids"], rows))


def run_load(data, row):
    """Median load average recorded by the scale runs behind one summary row, or '-'."""
    loads = [r["load_1min"] for r in data.get("runs", [])
             if r.get("model") == row["model"] and r.get("n") == row["n"] and "load_1min" in r]
    return f"{median(loads):.1f}" if loads else "-"


def scale_section(data, folder, page, headline):
    summary = data.get("summary") or []
    s = data.get("settings", {})
    parts = ["## Scale: 1M → 10M → 100M ratings",
             f"Synthetic ratings with Netflix's proportions (208 ratings per user, 17,770 items; 100M ratings = "
             f"480,189 users × 17,770 items), {s.get('factors')} factors, {s.get('iterations')} iterations/epochs, "
             f"{s.get('threads')} threads (Surprise: one). Every fit runs in a fresh process; peak memory is that "
             "process's peak resident set (plus Spark's JVM), data loading and conversion included. Per-iteration "
             "time is the library's own timer where it has one (mf, LensKit: iterations 2–n), else fit time / "
             "iterations (Spark, with its job set-up; Surprise). Medians over repeats (the runs column); sizes of "
             f"{num(s.get('single_above'))} ratings or more run once, and the peers run once from "
             f"{num(s.get('peer_single_above'))} ratings on. 'train RMSE' is measured on 10,000 training "
             "ratings, a check that every fit learned. The implicit-feedback rows (mf ImplicitALS, implicit's ALS, both "
             "with 3 conjugate-gradient steps and reg 0.01) fit the same (user, item) pairs as positives with "
             "confidence 2; implicit runs with BLAS on one thread."]
    parts[-1] += (" Rows are kept from earlier runs until a run of the same library and size replaces them; "
                  "'load' is the median 1-minute load average when the row's fits started ('-' where a run "
                  "predates that record): above the 2 cores, other jobs competed for the machine.")
    rows = [[f"{x['n']:,}", x["label"], x["threads"], secs(x["iter_s"]), iteration_range(data, x), secs(x["fit_s"]),
             mib(x["peak_rss_mb"]), "-" if x["train_rmse_sample"] is None else f"{x['train_rmse_sample']:.3f}",
             x["repeats"], run_load(data, x)] for x in summary]
    parts.append(md_table(["ratings", "library", "threads", "per iteration", "fastest – slowest iteration", "fit",
                           "peak memory", "train RMSE", "runs", "load"], rows))
    failed = [r for r in data.get("runs", []) if "error" in r]
    if failed:
        parts.append("Runs that did not finish:\n\n" + "\n".join(
            f"- {r['model']} at {r['n']:,} ratings: {r['error']}; last output: `{' / '.join(r.get('log', [])[-2:])}`"
            for r in failed))
    if data.get("skipped"):
        parts.append("Skipped: " + "; ".join(f"{k} ({v})" for k, v in data["skipped"].items()))
    gen = [[f"{int(n):,}", f"{d['n_users']:,} × {d['n_items']:,}", secs(d["generate_s"]), mib(d["generate_peak_rss_mb"])]
           for n, d in data.get("data", {}).items() if "generate_s" in d]
    if gen:
        parts.append("Generating the data (`mf.datasets.synthetic`, once per size, its own process):\n\n"
                     + md_table(["ratings", "users × items", "time", "peak memory"], gen))
    checks = []
    for target in (x for x in summary if x["model"] in ("mf-als", "mf-als-cg") and x["n"] == SCALE_TARGET["n"]):
        ok = (target["peak_rss_mb"] / 1024 < SCALE_TARGET["peak_gib"] and target["fit_s"] < SCALE_TARGET["fit_s"]
              and s.get("factors") == SCALE_TARGET["factors"] and s.get("iterations") == SCALE_TARGET["iterations"]
              and target["threads"] <= SCALE_TARGET["threads"])
        checks.append(f"{target['label']}: fit {secs(target['fit_s'])}, peak {mib(target['peak_rss_mb'])} on "
                      f"{target['threads']} threads — **{'met' if ok else 'not met'}**")
        headline.append([f"100M ratings (Netflix shape), {target['label']}, 64 factors, 10 iterations, "
                         f"{target['threads']} threads", f"{secs(target['fit_s'])}, peak {mib(target['peak_rss_mb'])}",
                         "target: < 10 min, < 8 GB", "met" if ok else "not met"])
    if checks:
        parts.insert(1, "**Target** (100M ratings, ALS, 64 factors, 10 iterations, under 8 GB peak and under 10 "
                        "minutes on 2 cores): " + "; ".join(checks) + ".")
    sgd100 = next((x for x in summary if x["model"] == "mf-sgd" and x["n"] == SCALE_TARGET["n"]), None)
    if sgd100:
        headline.append(["100M ratings, mf SGD, 64 factors, 10 epochs", f"{secs(sgd100['fit_s'])}, peak "
                         f"{mib(sgd100['peak_rss_mb'])}", "-", "-"])
    for family, mine in (("ALS", ("mf-als", "mf-als-cg")), ("implicit ALS", ("mf-ials",))):
        largest = max((x["n"] for x in summary if x["family"] == family and not x["model"].startswith("mf")),
                      default=None)
        for ours in (x for x in summary if x["model"] in mine and x["n"] == largest):
            for p in (x for x in summary if x["n"] == largest and x["family"] == family
                      and not x["model"].startswith("mf")):
                headline.append([f"{family} per iteration, {largest:,} ratings, {s.get('factors')} factors, "
                                 f"{ours['threads']} threads: {ours['label']} vs {p['label']}", secs(ours["iter_s"]),
                                 secs(p["iter_s"]), ratio(p["iter_s"], ours["iter_s"])])
    if summary:
        plot_scale(summary, "iter_s", "seconds per iteration (log scale)", folder / "scale_time.png")
        plot_scale(summary, "peak_rss_mb", "peak memory, GiB (log scale)", folder / "scale_memory.png",
                   target=SCALE_TARGET["peak_gib"])
        parts.append(f"![seconds per iteration against ratings]({link(folder, 'scale_time.png', page)})\n"
                     f"![peak memory against ratings]({link(folder, 'scale_memory.png', page)})")
    return "\n\n".join(parts)


def iteration_range(data, summary_row):
    """Fastest and slowest timed iteration over all runs of one (model, size): how much the machine's load moved."""
    times = [t for r in data.get("runs", []) if r.get("model") == summary_row["model"] and r.get("n") == summary_row["n"]
             for t in (r.get("epoch_seconds") or [])]
    return f"{secs(min(times))} – {secs(max(times))}" if times else "-"


def ratings_memory_section(data):
    rows = [[f"{int(n):,}", f"{d['n_users']:,} × {d['n_items']:,}", secs(d["build_s"]), secs(d["to_csr_s"]),
             mib(d["container_mib"]), mib(d["csr_extra_mib"]), mib(d["peak_rss_mib"])]
            for n, d in sorted(data["sizes"].items(), key=lambda kv: int(kv[0]))]
    return ("### Building `mf.Ratings` from raw id arrays\n\nDistinct (user, item) pairs of the 480,189 × 17,770 "
            "matrix in scattered order, int64 ids, one size per process.\n\n"
            + md_table(["ratings", "shape", "Ratings(...)", "first to_csr()", "container", "CSR adds", "peak memory"],
                       rows))


def keras_section(data, headline):
    results = {r["engine"]: r for r in data["results"]}
    parts = ["## Keras front: the seed model against TF-Keras",
             "ML-100K, 80/20 random split, Embedding(50) → Dot → Dense(64, relu) → Dense(1), Adam, MSE; both engines "
             "start from the same weights and see the same batches, each in a fresh process, alternating "
             f"{data.get('settings', {}).get('repeats', 1)} times (epoch times are medians over repeats, the "
             "per-epoch figure the median over epochs 2–n)."]
    for bs in results["mf"]["runs"]:
        rows = []
        steady = {}
        for engine, r in results.items():
            run = r["runs"][bs]
            steady[engine] = float(np.median(run["epoch_seconds"][1:] or run["epoch_seconds"]))
            label = "mf.keras" if engine == "mf" else "TF-Keras"
            rows.append([label, secs(run["epoch_seconds"][0]), secs(steady[engine]), num(run["n_train"] / steady[engine]),
                         f"{min(run['val_rmse']):.4f}", f"{run['val_rmse'][-1]:.4f}", secs(run["predict_seconds"]["1"]),
                         secs(run["predict_seconds"]["1682"])])
        parts.append(f"### batch size {bs}\n\n" + md_table(
            ["engine", "first epoch", "per epoch", "ratings/s", "best val RMSE", "final val RMSE", "predict 1 pair",
             "predict 1,682 pairs"], rows))
        if "tf" in steady:
            headline.append([f"Keras seed model, ML-100K, batch {bs}: mf.keras vs TF-Keras per epoch",
                             secs(steady["mf"]), secs(steady["tf"]), ratio(steady["tf"], steady["mf"])])
    return "\n\n".join(parts)


def implicit_section(results, headline):
    tables = implicit_merged(results)
    used = sorted({name for t in tables.values() for _, name in t["rows"].values()}, key=lambda n: results[n]["_when"])
    parts = ["## Implicit feedback: ImplicitALS and BPR against implicit",
             "From `python -m benchmarks.implicit_vs_peer` (its docstring gives the like-for-like settings); rows "
             "come from these runs, a newer run's row replacing an older one:\n\n"
             + "\n".join(f"- `{name}.json`: {settings_text(results[name].get('settings'))}" for name in used)]
    data = {key: {"headers": t["headers"], "rows": [row for row, _ in t["rows"].values()]} for key, t in tables.items()}
    titles = {"als_seconds_per_iteration": "ALS seconds per iteration (mf / implicit: below 1 means mf is faster)",
              "bpr_epochs_per_second": "BPR epochs per second (mf / implicit: above 1 means mf is faster)",
              "ranking_accuracy": "Ranking accuracy (ratings ≥ 4 as positives, 20% of each user's held out; "
                                  "mean ± sd over 3 seeds)"}
    for key, title in titles.items():
        section = data.get(key)
        if section:
            parts.append(f"### {title}\n\n" + md_table(section["headers"], section["rows"]))
    als = data.get("als_seconds_per_iteration")
    if als and als["rows"]:
        threads = max(r[2] for r in als["rows"])
        rows = [r for r in als["rows"] if r[1] == 64 and r[2] == threads and r[5] is not None]
        for r in (r for r in rows if r[0] == rows[0][0]):
            headline.append([f"implicit ALS per iteration, {r[0]}, 64 factors, {threads} threads, {r[3]}: "
                             "mf vs implicit", secs(r[4]), secs(r[5]), ratio(r[5], r[4])])
    bpr = data.get("bpr_epochs_per_second")
    if bpr and bpr["rows"]:
        threads = max(r[1] for r in bpr["rows"])
        r = next((r for r in bpr["rows"] if r[1] == threads and r[2] == "mf popularity" and r[4]), None)
        if r:
            headline.append([f"BPR epoch, {r[0]}, 64 factors, {threads} threads: mf (popularity negatives) vs "
                             "implicit", secs(1 / r[3]), secs(1 / r[4]), f"{r[5]:.2f}×"])
    return "\n\n".join(parts)


def settings_text(settings):
    if not settings:
        return "settings not recorded"
    return ", ".join(f"`{k}={v}`" for k, v in settings.items())


def runs_section(data):
    rows = [[f"`{r['command']}`", r["date"], secs(r["seconds"]), r["exit_status"], num(r.get("load_1min"), 2)]
            for r in data["steps"]]
    return ("## How these numbers were produced\n\nThe latest run of each step (`python -m benchmarks run` records "
            "them; load is the machine's 1-minute load average when the step started). The machine is shared: "
            "a load above its core count means other processes competed for the cores, which makes timings "
            "pessimistic and multi-threaded ones noisier.\n\n"
            + md_table(["command", "date", "wall time", "exit status", "load"], rows))


SECTIONS = ["explicit_accuracy", "itemknn_accuracy", "explicit_speed", "jit_cost", "foldin_latency", "similarity_build",
            "scale", "ratings_memory", "keras_seed", "implicit_vs_peer", "topk_vs_implicit"]


def render(results, folder, page):
    headline, body = [], []
    if "explicit_accuracy" in results:
        body.append(accuracy_section(results["explicit_accuracy"], folder, page, headline))
    if "itemknn_accuracy" in results:
        body.append(itemknn_section(results["itemknn_accuracy"]))
    if family(results, "explicit_speed"):
        body.append(speed_section(newest(results, "explicit_speed"), headline))
    if "jit_cost" in results:
        body.append(jit_section(results["jit_cost"], headline))
    if "foldin_latency" in results:
        body.append(foldin_section(results["foldin_latency"]))
    if "similarity_build" in results:
        body.append(similarity_section(results["similarity_build"]))
    if "scale" in results:
        body.append(scale_section(results["scale"], folder, page, headline))
    if "ratings_memory" in results:
        body.append(ratings_memory_section(results["ratings_memory"]))
    if "keras_seed" in results:
        body.append(keras_section(results["keras_seed"], headline))
    if family(results, "implicit_vs_peer"):
        body.append(implicit_section(results, headline))
    if "topk_vs_implicit" in results:
        body.append(topk_section(results["topk_vs_implicit"], headline))
    missing = [name for name in SECTIONS if not family(results, name)]
    others = [name for name in results if not any(name in family(results, prefix) for prefix in SECTIONS + ["runs"])]
    top = ["# mf benchmarks",
           "Generated by `python -m benchmarks report` from `benchmarks/results/*.json`; do not edit by hand. "
           "Every comparison runs the libraries in one process or one driver, on the same data, split and thread "
           "count, alternating libraries and repeating; medians are reported. Peers that are not installed are "
           "skipped with a note. Set-up: `pip install -r benchmarks/requirements.txt` in a separate virtualenv "
           "(LensKit 0.14 needs its own, see that file), then `python -m benchmarks run --suite all` and "
           "`python -m benchmarks report`.",
           "## Headline",
           "Ratios are how many times faster mf is (peer time / mf time), unless the row says otherwise.\n\n"
           + md_table(["comparison", "mf", "peer", "ratio"], headline) if headline else "No results yet."]
    tail = []
    if "runs" in results:
        tail.append(runs_section(results["runs"]))
    tail.append(machine_section({k: v for k, v in results.items() if k != "runs"}))
    if missing:
        tail.append("Not run yet: " + ", ".join(f"`{m}`" for m in missing) + ".")
    if others:
        tail.append("Other results files (no section): " + ", ".join(f"`{o}.json`" for o in others) + ".")
    return "\n\n".join(top + body + tail) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", type=Path, default=RESULTS, help="folder of results JSON (plots are written there)")
    ap.add_argument("--out", type=Path, default=None, help="page to write (default benchmarks/README.md, or "
                                                          "README.md in --results when that is another folder)")
    args = ap.parse_args(argv)
    out = args.out or (HERE / "README.md" if args.results.resolve() == (HERE / "results").resolve()
                       else args.results / "README.md")
    results = load(args.results)
    out.write_text(render(results, args.results, out))
    print(f"wrote {out} ({len(results)} results files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
