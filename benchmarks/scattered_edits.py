"""Does a deletion step itself look like evidence? The target's probability after three edits, per baseline.

  python benchmarks/scattered_edits.py [--task TASK] [--model ID[,ID...]] [--n N] [--share S] [--out FILE] [--quick]

Deletion and insertion replace points of the input in a map's order, a few at a time. For a spoof detector a
scatter of replaced points may read as a manipulation whatever it covers; then the curves measure the edit, not
the map. On N held-out generated cases the model relies on (its answer flips on the counterfactual twin), the
target's mean probability with, replaced by each baseline (black, mean, blur):
- the object (the truth mask) alone: whether the model still sees it once it is gone;
- the object and a random share S (default 10%) of the points outside it, scattered: once the object is gone,
  does the scatter bring the answer back?
- the object and the same share outside it in 16 x 16 tiles (the shape LIME and Kernel SHAP switch off).
Prints a table, writes JSON (default benchmarks/results/scattered_edits.json; --quick: the first model on 6 cases,
written to the temporary folder).
"""

import argparse

import numpy as np
from baseline_table import report
from outputs import output_path

from workbench.evaluation.batch import prepare
from workbench.evaluation.cases import BASELINES, generated
from workbench.methods.common import baseline_for
from workbench.metrics.faithfulness import target_probability
from workbench.models import load_model

EDITS = ("object", "object_and_rest_scattered", "object_and_rest_tiles")
TILE = 16


def edit_masks(truth: np.ndarray, share: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Where each edit replaces the input: the object, alone or with a seeded random share of the rest (points or
    tiles)."""
    h, w = truth.shape
    tiles = rng.random((-(-h // TILE), -(-w // TILE))) < share
    tiled = np.kron(tiles, np.ones((TILE, TILE), bool))[:h, :w]
    return {"object": truth, "object_and_rest_scattered": truth | (rng.random(truth.shape) < share),
            "object_and_rest_tiles": truth | tiled}


def measure(model_id: str, task: str, n: int, share: float) -> dict:
    model = load_model(model_id)
    probability = {b: {e: [] for e in EDITS} for b in BASELINES}
    relied_on = 0
    for case in generated(task, n).cases():
        ready = prepare(model, case)
        if not ready.relies:
            continue
        relied_on += 1
        masks = edit_masks(ready.truth.astype(bool), share, np.random.default_rng(case.index))
        for name in BASELINES:
            reference = baseline_for(model, ready.x, name)
            batch = np.concatenate([np.where(masks[e], reference, ready.x) for e in EDITS]).astype(np.float32)
            for e, p in zip(EDITS, target_probability(model, batch, ready.target)):
                probability[name][e].append(float(p))
    return {"model": model_id, "relied_on": relied_on, "n": n, "share": share, "baselines": {
        b: {f"p_{e}_replaced": round(float(np.mean(v)), 3) for e, v in edits.items()}
        for b, edits in probability.items()}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="audio_deepfake")
    parser.add_argument("--model", default="audio_deepfake-resnet-compact,audio_deepfake-vgg16-compact,"
                        "audio_deepfake-mobilenetv2-compact")
    parser.add_argument("--n", type=int, default=None, help="default 200 (--quick: 6)")
    parser.add_argument("--share", type=float, default=0.10)
    parser.add_argument("--out", default=None, help="default benchmarks/results/scattered_edits.json")
    parser.add_argument("--quick", action="store_true", help="a smoke run: the first model, 6 cases")
    args = parser.parse_args(argv)
    models = args.model.split(",")[:1] if args.quick else args.model.split(",")
    results = [measure(m, args.task, args.n or (6 if args.quick else 200), args.share) for m in models]
    report(results, [("relied on", "relied_on", "d"), ("p, object replaced", "p_object_replaced", ".3f"),
                     ("+ rest scattered", "p_object_and_rest_scattered_replaced", ".3f"),
                     ("+ rest in tiles", "p_object_and_rest_tiles_replaced", ".3f")],
           output_path(args.out, "scattered_edits.json", args.quick))


if __name__ == "__main__":
    main()
