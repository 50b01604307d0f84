"""Batch evaluation's speed against the number of Ray workers, beside the local run.

  python benchmarks/bench_ray.py [--n 40] [--methods gradcam,integrated_gradients] [--workers 1,2] [--out FILE]

The same `xai_models.py evaluate` on N generated lung cases with the default lung model, each run in a fresh
process with an empty rows store: once locally, then on a local Ray with each number of workers (the Ray runs
include starting Ray and loading the model in every actor, as a user's run does). Prints a table, writes JSON
(default benchmarks/results/ray.json).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from workbench.paths import ROOT
from workbench.tasks import TASKS


def timed_run(args: list[str], folder: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "xai_models.py"), *args, "--csv", str(folder / "eval.csv")],
                   check=True, capture_output=True, cwd=folder)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--methods", default="gradcam,integrated_gradients")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "ray.json"))
    args = parser.parse_args()
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
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
