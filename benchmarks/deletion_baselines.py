"""Can deletion tell a map on the object from a map elsewhere? The truth itself as the map, per baseline.

  python benchmarks/deletion_baselines.py [--task TASK] [--model ID[,ID...]] [--n N] [--out FILE] [--quick]

On N held-out generated cases (default 200 lung phantoms) that the model relies on (its answer flips on the
counterfactual twin), two measures for each deletion baseline (black, mean, blur, and the case's twin):
- the deletion AUC of the *oracle* map, the truth mask (its points first, the rest in a seeded random order):
  the lowest a map that finds the object can score, so a baseline whose oracle AUC stays high cannot reward
  a map for finding it;
- the target's probability with only the truth's points replaced by the baseline: whether the model still
  sees the object once it is "deleted".
Prints a table, writes JSON (default benchmarks/results/deletion_baselines.json; --quick: the first model on 6 cases,
written to the temporary folder).
"""

import argparse

import numpy as np
from baseline_table import report
from outputs import output_path

from workbench.evaluation.batch import prepare
from workbench.evaluation.cases import EVAL_BASELINES, TWIN, generated
from workbench.methods.common import baseline_for
from workbench.metrics.faithfulness import area_under, perturbation_curve, target_probability
from workbench.models import load_model


def measure(model_id: str, task: str, n: int) -> dict:
    model = load_model(model_id)
    oracle_auc = {b: [] for b in EVAL_BASELINES}
    object_removed = {b: [] for b in EVAL_BASELINES}
    for case in generated(task, n).cases():
        ready = prepare(model, case)
        if not ready.relies:
            continue
        noise = np.random.default_rng(case.index).random(ready.truth.shape, dtype=np.float32)
        oracle = ready.truth.astype(np.float32) + 1e-3 * noise
        for name in EVAL_BASELINES:
            reference = ready.twin if name == TWIN else baseline_for(model, ready.x, name)
            oracle_auc[name].append(area_under(*perturbation_curve(
                model, ready.x, oracle, ready.target, "deletion", baseline=reference)))
            removed = np.where(ready.truth, reference, ready.x).astype(np.float32)
            object_removed[name].append(float(target_probability(model, removed, ready.target)[0]))
    return {"model": model_id, "relied_on": len(oracle_auc[TWIN]), "n": n, "baselines": {
        b: {"oracle_deletion_auc": round(float(np.mean(oracle_auc[b])), 3),
            "p_object_removed": round(float(np.mean(object_removed[b])), 3),
            "still_detected": round(float(np.mean(np.array(object_removed[b]) > 0.5)), 3)} for b in EVAL_BASELINES}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="lung_xray")
    parser.add_argument("--model", default="lung_xray-resnet-compact,lung_xray-alexnet-compact,"
                        "lung_xray-densenet121-compact,lung_xray-efficientnet_b0-compact,lung_xray-resnet34-compact")
    parser.add_argument("--n", type=int, default=None, help="default 200 (--quick: 6)")
    parser.add_argument("--out", default=None, help="default benchmarks/results/deletion_baselines.json")
    parser.add_argument("--quick", action="store_true", help="a smoke run: the first model, 6 cases")
    args = parser.parse_args(argv)
    models = args.model.split(",")[:1] if args.quick else args.model.split(",")
    results = [measure(m, args.task, args.n or (6 if args.quick else 200)) for m in models]
    report(results, [("oracle deletion AUC", "oracle_deletion_auc", ".3f"),
                     ("p, object removed", "p_object_removed", ".3f"), ("still detected", "still_detected", ".2f")],
           output_path(args.out, "deletion_baselines.json", args.quick))


if __name__ == "__main__":
    main()
