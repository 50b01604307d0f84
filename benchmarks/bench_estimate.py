"""How far the sidebar's estimate ("about X s") is from the time a run takes, before and after the method's first run.

  python benchmarks/bench_estimate.py [--models M1,M2] [--methods ID,...] [--out FILE] [--quick]

For each model (default: the lung task's default and the histopathology model) and each method it offers, at the
method's default settings: the estimate from the model's one timed pass (`pass_seconds`), then a first run (seed 0),
then the estimate learned from it (`workbench.service.RATES`) against a second run with a new seed (deterministic
methods compute the same map again: the time is what a repeat costs). Prints a table, writes JSON (default
benchmarks/results/estimate.json; --quick: a smoke run of the compact lung model with Grad-CAM and Saliency, written
to the temporary folder). The target: after one run, within 30% of the measured time.
"""

import argparse
import json

import numpy as np
from outputs import output_path

from workbench.methods import METHODS, compatible_methods
from workbench.models import load_model, predict
from workbench.service import (
    RATES,
    estimated_cost,
    explain_request,
    explain_with_progress,
    pass_seconds,
    prepare_input,
    target_for,
)
from workbench.tasks import TASKS

MODELS = ("lung_xray-resnet34-compact", "histopathology-resnet18-compact")
QUICK_MODEL = "lung_xray-resnet-compact"


def measure(model_ids: list[str], method_ids: list[str] | None = None) -> list[dict]:
    rows = []
    for model_id in model_ids:
        model = load_model(model_id)
        task = TASKS[model.info.task]
        sample = task.samples()[0]
        _, x, _ = prepare_input(task, model, task.read(sample.path.read_bytes(), sample.path.name)[0])
        target = target_for(model, predict(model, x))
        timed = pass_seconds(model, x)
        for method in compatible_methods(task, model):
            if method_ids is not None and method.id not in method_ids:
                continue
            passes = estimated_cost(model, x, method.id, {}).passes
            before = passes * RATES.seconds_per_pass(model.key, method.id, timed)
            first = explain_with_progress(model, x, explain_request(model, x, method.id, target, {}, 0), target, None)
            after = passes * RATES.seconds_per_pass(model.key, method.id, timed)
            repeat = explain_with_progress(model, x, explain_request(model, x, method.id, target, {}, 1), target,
                                           None)
            rows.append({"model": model_id, "method": method.id, "passes": passes,
                         "estimate_timed_s": round(before, 4), "first_run_s": round(first.seconds, 4),
                         "error_timed": round(abs(before - first.seconds) / first.seconds, 3),
                         "estimate_learned_s": round(after, 4), "repeat_run_s": round(repeat.seconds, 4),
                         "error_learned": round(abs(after - repeat.seconds) / repeat.seconds, 3)})
            print(f"{model_id:<34}{METHODS[method.id].name:<30}{passes:>7}{before:>9.3f}{first.seconds:>9.3f}"
                  f"{rows[-1]['error_timed']:>8.0%}{after:>9.3f}{repeat.seconds:>9.3f}{rows[-1]['error_learned']:>8.0%}",
                  flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=None, help=f"default {','.join(MODELS)} (--quick: {QUICK_MODEL})")
    parser.add_argument("--methods", default=None, help="method ids (default: every method a model offers; --quick: "
                                                        "gradcam,saliency)")
    parser.add_argument("--out", default=None, help="default benchmarks/results/estimate.json")
    parser.add_argument("--quick", action="store_true", help="a smoke run: one compact model, two methods")
    args = parser.parse_args(argv)
    models = args.models or (QUICK_MODEL if args.quick else ",".join(MODELS))
    methods = args.methods or ("gradcam,saliency" if args.quick else None)
    print(f"{'model':<34}{'method':<30}{'passes':>7}{'timed':>9}{'run 1':>9}{'error':>8}{'learned':>9}{'run 2':>9}"
          f"{'error':>8}")
    rows = measure(models.split(","), methods.split(",") if methods else None)
    learned = [r["error_learned"] for r in rows]
    summary = {"median_error_timed": float(np.median([r["error_timed"] for r in rows])),
               "median_error_learned": float(np.median(learned)), "max_error_learned": max(learned),
               "within_30_percent": sum(e <= 0.3 for e in learned), "runs": len(rows)}
    print(summary)
    output_path(args.out, "estimate.json", args.quick).write_text(json.dumps({"summary": summary, "rows": rows},
                                                                             indent=2))


if __name__ == "__main__":
    main()
