"""Run the benchmark suites and regenerate the results page.

    python -m benchmarks run [--suite accuracy|speed|scale|keras|implicit|all] [--quick] [--only NAMES]
                             [--max-load L] [--no-report]
    python -m benchmarks report [--results DIR] [--out FILE]
    python -m benchmarks list [--suite NAME]

``run`` runs each step of the suite (``benchmarks.suites``) in its own
process, records the command, exit status, wall time and the machine's load
in ``results/runs.json``, then regenerates ``benchmarks/README.md``. With
``--quick`` the steps run at small sizes and everything goes to
``benchmarks/.cache/quick`` instead, leaving the published results alone.
``--max-load L`` waits (up to ``--max-wait`` seconds) before each heavy step
until the 1-minute load average is below ``L``.
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
import time

from . import report
from .common import CACHE, RESULTS
from .peers import ROOT
from .suites import SUITES


def wait_for_load(limit, max_wait):
    waited = 0
    while os.getloadavg()[0] >= limit and waited < max_wait:
        print(f"   load {os.getloadavg()[0]:.2f} >= {limit}: waiting 60 s", file=sys.stderr, flush=True)
        time.sleep(60)
        waited += 60
    return os.getloadavg()[0]


def run(args):
    steps = SUITES[args.suite]
    if args.only:
        wanted = set(args.only.split(","))
        steps = [s for k, s in enumerate(steps, 1) if s.module in wanted or str(k) in wanted]
    results = CACHE / "quick" if args.quick else RESULTS
    results.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, MF_BENCH_RESULTS=str(results))
    log_path = results / "runs.json"
    log = json.loads(log_path.read_text()) if log_path.exists() else {"steps": []}
    failed = []
    for step in steps:
        load = wait_for_load(args.max_load, args.max_wait) if step.heavy and args.max_load else os.getloadavg()[0]
        argv = ["python", "-m", f"benchmarks.{step.module}", *step.args(args.quick)]
        command = shlex.join(argv)
        print(f"==> {command}", file=sys.stderr, flush=True)
        start = time.perf_counter()
        status = subprocess.run([sys.executable, *argv[1:]], cwd=ROOT, env=env).returncode
        seconds = time.perf_counter() - start
        print(f"<== {step.name}: exit status {status}, {seconds:.0f} s", file=sys.stderr, flush=True)
        if status:
            failed.append(command)
        entry = dict(step=step.name, command=command, date=time.strftime("%Y-%m-%d %H:%M"), seconds=seconds,
                     exit_status=status, load_1min=load)
        log["steps"] = [e for e in log["steps"] if e["command"] != command] + [entry]
        log_path.write_text(json.dumps(log, indent=1))
    if not args.no_report:
        report.main(["--results", str(results)])
    if failed:
        print("failed steps:\n  " + "\n  ".join(failed), file=sys.stderr)
    return 1 if failed else 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run a suite, then regenerate the results page")
    r.add_argument("--suite", choices=list(SUITES), default="all")
    r.add_argument("--quick", action="store_true", help="small sizes, results in benchmarks/.cache/quick")
    r.add_argument("--only", help="comma-separated modules or step numbers of the suite to run (see 'list')")
    r.add_argument("--max-load", type=float, default=None, help="wait before heavy steps until the load is below this")
    r.add_argument("--max-wait", type=int, default=600, help="longest wait for the load, seconds")
    r.add_argument("--no-report", action="store_true")
    sub.add_parser("report", help="regenerate benchmarks/README.md from the results (options: report --help)",
                   add_help=False)
    ls = sub.add_parser("list", help="show the steps of the suites")
    ls.add_argument("--suite", choices=list(SUITES), default="all")
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["report"]:
        return report.main(argv[1:])
    args = ap.parse_args(argv)
    if args.command == "list":
        for k, step in enumerate(SUITES[args.suite], 1):
            print(f"{k:>2} {step.module:<18} full: {shlex.join(step.full) or '(defaults)'}\n{'':<21} quick: "
                  f"{shlex.join(step.quick) or '(defaults)'}{'   [heavy]' if step.heavy else ''}")
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
