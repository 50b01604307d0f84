"""Batch evaluation's speed against the number of Ray workers, beside the local run.

  python benchmarks/bench_ray.py [--n 40] [--methods gradcam,integrated_gradients] [--workers 1,2] [--out FILE]
                                 [--quick]

The same `xai_models.py evaluate` on N generated lung cases with the default lung model, each run in a fresh
process with an empty rows store: once locally, then on a local Ray with each number of workers (the Ray runs
include starting Ray and loading the model in every actor, as a user's run does). Prints a table, writes JSON
(default benchmarks/results/ray.json; --quick: 2 cases, Grad-CAM, one worker, written to the temporary folder).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from outputs import output_path

from workbench.paths import ROOT
from workbench.tasks import TASKS


def timed_run(args: list[str], folder: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "xai_models.py"), *args, "--csv", str(folder / "eval.csv")],
                   check=True, capture_output=True, cwd=folder)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=None, help="default 40 (--quick: 2)")
    parser.add_argument("--methods", default=None, help="default gradcam,integrated_gradients (--quick: gradcam)")
    parser.add_argument("--workers", default=None, help="default 1,2 (--quick: 1)")
    parser.add_argument("--out", default=None, help="default benchmarks/results/ray.json")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 cases, one method, one worker")
    args = parser.parse_args(argv)
    args.n = args.n or (2 if args.quick else 40)
    args.methods = args.methods or ("gradcam" if args.quick else "gradcam,integrated_gradients")
    args.workers = args.workers or ("1" if args.quick else "1,2")
    command = ["evaluate", "--task", "lung_xray", "--model", TASKS["lung_xray"].default_model, "--methods",
               args.methods, "--n", str(args.n)]
    rows = []
    for workers in [None, *(int(w) for w in args.workers.split(","))]:
        with tempfile.TemporaryDirectory() as tmp:
            extra = [] if workers is None else ["--ray", "--workers", str(workers)]
            seconds = timed_run([*command, *extra], Path(tmp))
        rows.append({"runner": "local" if workers is None else f"ray, {workers} worker(s)",
                     "seconds": round(seconds, 2), "cases_per_second": round(args.n / seconds, 2)})
        print(f"{rows[-1]['runner']:<22}{seconds:>8.2f} s {rows[-1]['cases_per_second']:>7.2f} cases/s")
    result = {"cpus": os.cpu_count(), "n": args.n, "methods": args.methods, "rows": rows}
    output_path(args.out, "ray.json", args.quick).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
