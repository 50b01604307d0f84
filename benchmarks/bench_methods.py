"""Speed of every registered method on every bundled model, against its pass budget.

  python benchmarks/bench_methods.py [--model ID ...] [--repeats N] [--out FILE] [--quick]

Prints a table per model and writes JSON (default benchmarks/results/methods.json). Times are
medians of `repeats` runs on one sample input (one with ground truth where the task has one), after
a warm-up run (a method whose warm-up takes over 5 s is timed once); `passes` are the passes the adapter
counted. A method's pass budget is what its passes cost in batches of the adapter's batch size: forward
passes x one batched forward pass per item, plus backward passes x one batched backward pass per item.
The target: every method at most 1.3 x its budget + 50 ms. `score_file_seconds` is the whole path
from the file's bytes to the prediction: decode, (audio: every window's spectrogram and score),
preprocess, predict with the OOD score.
"""

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from workbench.methods import METHODS
from workbench.models import list_models, load_model, predict
from workbench.paths import ROOT
from workbench.service import prepare_input, run_methods, target_for
from workbench.tasks import TASKS


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(model_id: str, repeats: int, quick: bool) -> dict:
    model = load_model(model_id)
    task = TASKS[model.info.task]
    samples = task.samples()
    sample = next((s for s in samples if s.truth_path is not None), samples[0])
    data = sample.path.read_bytes()

    def score_file():
        _raw, x, _windows = prepare_input(task, model, task.read(data, sample.path.name)[0])
        return predict(model, x)

    x = prepare_input(task, model, task.decode(data))[1]
    target = model.resolve_target(x, target_for(model, predict(model, x)))  # a segmentation gets its region
    batch = np.repeat(x, 4 if quick else model.batch_size, axis=0)  # --quick: a smoke run, not a measurement
    per_forward = median_seconds(lambda: model.target_scores(batch, target), repeats) / len(batch)
    per_backward = median_seconds(lambda: model.input_gradients(batch, target), repeats) / len(batch) - per_forward
    fwd_bwd = median_seconds(lambda: model.input_gradients(x, target), repeats)
    forward = median_seconds(lambda: model.outputs(x), repeats)
    prediction = median_seconds(lambda: predict(model, x), repeats)  # probabilities + OOD score
    score = median_seconds(score_file, repeats)
    rows = []
    for method in METHODS.values():
        if not method.is_compatible(task, model) or method.family == "baseline":  # no pass: no budget to meet
            continue
        params = {method.id: method.quick_params(model) if quick else {}}
        warm = run_methods(task, model, x, [method.id], target, params=params)[0]
        runs = [run_methods(task, model, x, [method.id], target, params=params)[0]
                for _ in range(1 if warm.seconds > 5 else repeats)]
        seconds = statistics.median(r.seconds for r in runs)
        budget = warm.counted.forward * per_forward + warm.counted.backward * per_backward
        rows.append({"method": method.id, "seconds": round(seconds, 4), "passes": warm.passes,
                     "params": warm.params, "budget_seconds": round(budget, 4),
                     "x_budget": round(seconds / budget, 2), "meets_target": seconds <= 1.3 * budget + 0.05,
                     "x_forward_backward": round(seconds / fwd_bwd, 1)})
    return {"model": model_id, "revision": model.info.revision, "input": sample.name,
            "repeats": repeats, "quick": quick, "torch_threads": torch.get_num_threads(),
            "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, {torch.get_num_threads()} threads",
            "forward_seconds": round(forward, 5), "forward_backward_seconds": round(fwd_bwd, 5),
            "batch_size": len(batch), "batched_forward_per_item": round(per_forward, 6),
            "batched_backward_per_item": round(per_backward, 6),
            "predict_with_ood_seconds": round(prediction, 5), "score_file_seconds": round(score, 5),
            "methods": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", nargs="+", default=None, help="bundled model ids (default: all)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="each method's cheapest settings")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "methods.json"))
    args = parser.parse_args()
    results = [run(m, args.repeats, args.quick) for m in args.model or [m.id for m in list_models()]]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    for result in results:
        print(f"{result['model']} on {result['input']}: forward {result['forward_seconds'] * 1000:.1f} ms, "
              f"forward+backward {result['forward_backward_seconds'] * 1000:.1f} ms, "
              f"prediction with OOD score {result['predict_with_ood_seconds'] * 1000:.1f} ms, "
              f"file to prediction {result['score_file_seconds'] * 1000:.1f} ms")
        print(f"batched pass per item: forward {result['batched_forward_per_item'] * 1000:.2f} ms, "
              f"backward {result['batched_backward_per_item'] * 1000:.2f} ms (batches of {result['batch_size']})")
        print(f"{'method':24s} {'seconds':>9s} {'passes':>7s} {'budget s':>9s} {'x budget':>9s} {'target':>7s}")
        for row in result["methods"]:
            print(f"{row['method']:24s} {row['seconds']:9.4f} {row['passes']:7d} {row['budget_seconds']:9.4f} "
                  f"{row['x_budget']:9.2f} {'met' if row['meets_target'] else 'MISSED':>7s}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
