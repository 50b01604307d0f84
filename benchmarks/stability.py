"""Samples and seconds to a stable map: our LIME and Kernel SHAP against lime_image's and shap's default image usage.

  python benchmarks/stability.py [--model ID ...] [--samples N,N,...] [--seeds K] [--out FILE] [--quick]

For each model (default: lung_xray-resnet34-compact and histopathology-resnet18-compact, on a bundled sample with
its truth) and each budget of samples (model evaluations), every design explains the predicted class with K seeds
(default 5) and we take the mean pairwise Spearman correlation of the K maps (`metrics.agreement`). A design is
stable at the smallest budget where that reaches 0.9; its seconds to a stable map are those of one run there.
- ours: `lime` with lime's own sampling, with antithetic pairs and in orthogonal blocks, and `kernel_shap` (shap's
  KernelExplainer, which pairs each coalition with its complement), on our superpixels and batched, counted scoring;
- lime_image as its documentation uses it (quickshift segments, each off segment its mean colour, batches of 10),
  and lime_image on our superpixels (`lime_image_slic`, each off superpixel black, as ours): its default quickshift
  cuts these small pictures into a few segments only (11 on the lung sample against our 61), and fewer features
  settle sooner, so only the second compares the sampling and the scoring at equal features;
- shap's image usage: `shap.Explainer` with an inpaint_telea Image masker (the Partition explainer). It draws no
  random numbers, so its K maps are one: its stability is 1 at any budget, and "stable" means instead that its map
  agrees (Spearman 0.9) with its own map at the largest budget.
Then, per model, the speed-up to a stable map (library seconds / ours, target at least 4x) and, at each equal
budget, our LIME's seconds against lime_image's (target: never slower). Timings need an idle machine. Prints a
table, writes JSON (default benchmarks/results/stability.json; --quick: a smoke run of one model, two small
budgets and 3 seeds, written to stability_quick.json in the temporary folder).
"""

import argparse
import functools
import json
import time
from collections.abc import Callable

import numpy as np
import torch
from outputs import output_path

from workbench.methods import METHODS
from workbench.methods.superpixels import as_image01
from workbench.metrics.agreement import mean_pairwise_spearman
from workbench.models import load_model, predict
from workbench.service import prepare_input, target_for
from workbench.tasks import TASKS

STABLE = 0.9
TARGET_SPEEDUP = 4.0
MODELS = ("lung_xray-resnet34-compact", "histopathology-resnet18-compact")
SAMPLES = (200, 400, 800, 1600, 3200, 6400)  # a first run put our LIME at 0.74 at 2,000
OURS = {"lime": ("lime", {}), "lime_paired": ("lime", {"sampling": "paired"}),
        "lime_orthogonal": ("lime", {"sampling": "orthogonal"}), "kernel_shap": ("kernel_shap", {})}
COMPARE = (("lime", "lime_image_slic"), ("lime_paired", "lime_image_slic"), ("lime_orthogonal", "lime_image_slic"),
           ("lime", "lime_image"), ("lime_paired", "lime_image"), ("lime_orthogonal", "lime_image"),
           ("kernel_shap", "shap_partition"), ("lime_orthogonal", "shap_partition"))
DETERMINISTIC = ("shap_partition",)

# One run of a design: (samples, seed) -> (map H x W, the number of features it switched, None when it has none).
Design = Callable[[int, int], tuple[np.ndarray, int | None]]


def library_designs(model, x: np.ndarray, c: int, segments: np.ndarray) -> dict[str, Design]:
    """lime_image's and shap's image usage as their documentation writes it, on the picture the user has."""
    from lime import lime_image

    lime_image.tqdm = functools.partial(lime_image.tqdm, disable=True)  # its per-sample progress bar, on stderr
    spec = model.info.input
    module = model.module.eval()
    image01 = as_image01(model, x)  # H x W x C in [0, 1]
    rgb = np.repeat(image01, 3, axis=-1) if spec.channels == 1 else image01

    def probabilities(images: np.ndarray) -> np.ndarray:  # N x H x W x 3 in [0, 1]
        batch = spec.normalize(np.asarray(images)[..., :spec.channels].transpose(0, 3, 1, 2)).astype(np.float32)
        with torch.no_grad():
            return torch.softmax(module(torch.from_numpy(batch)), 1).numpy()

    def lime_default(samples: int, seed: int, **ours) -> tuple[np.ndarray, int]:
        e = lime_image.LimeImageExplainer(random_state=seed).explain_instance(rgb, probabilities, num_samples=samples,
                                                                              **ours)
        weights = np.zeros(int(e.segments.max()) + 1)
        for feature, weight in e.local_exp[c]:
            weights[feature] = weight
        return weights[e.segments], len(weights)

    def lime_slic(samples: int, seed: int) -> tuple[np.ndarray, int]:
        return lime_default(samples, seed, hide_color=0, segmentation_fn=lambda _image: segments)

    def shap_partition(samples: int, _seed: int) -> tuple[np.ndarray, None]:
        import shap

        masker = shap.maskers.Image("inpaint_telea", rgb.shape)
        explainer = shap.Explainer(lambda imgs: probabilities(np.asarray(imgs)), masker)
        values = explainer(rgb[None], max_evals=samples, batch_size=50, outputs=[c], silent=True).values
        return np.asarray(values)[0, ..., 0].sum(axis=-1), None

    return {"lime_image": lime_default, "lime_image_slic": lime_slic, "shap_partition": shap_partition}


def our_designs(model, x: np.ndarray, target) -> dict[str, Design]:
    def design(method_id: str, params: dict) -> Design:
        def explain(samples: int, seed: int) -> tuple[np.ndarray, int]:
            e = METHODS[method_id].explain(model, x, target, {**params, "samples": samples}, seed)
            return e.map, e.meta["superpixels"]
        return explain
    return {name: design(*spec) for name, spec in OURS.items()}


def ladder(design: Design, budgets: tuple[int, ...], seeds: int, deterministic: bool) -> list[dict]:
    """Per budget: the stability of the K seeds' maps (or, for a deterministic design, its agreement with its map
    at the largest budget) and the mean seconds of one run."""
    rows, maps = [], {}
    for n in budgets:
        runs, seconds = [], []
        for seed in range(1 if deterministic else seeds):
            start = time.perf_counter()
            runs.append(design(n, seed))
            seconds.append(time.perf_counter() - start)
        maps[n] = runs[0][0]
        stability = 1.0 if deterministic else mean_pairwise_spearman(np.stack([m for m, _ in runs]))
        rows.append({"samples": n, "seconds": round(float(np.mean(seconds)), 4), "stability": round(stability, 4),
                     "features": runs[0][1]})
    if deterministic:
        for row in rows:
            row["agreement_with_largest"] = round(mean_pairwise_spearman(np.stack([maps[row["samples"]],
                                                                                   maps[budgets[-1]]])), 4)
    return rows


def first_stable(rows: list[dict]) -> dict | None:
    """The smallest budget whose map is stable (for a deterministic design: agrees with its largest budget's)."""
    return next((r for r in rows if r.get("agreement_with_largest", r["stability"]) >= STABLE), None)


def run(model_id: str, budgets: tuple[int, ...], seeds: int) -> dict:
    model = load_model(model_id)
    task = TASKS[model.info.task]
    sample = next(s for s in task.samples() if s.truth_path is not None)
    x = prepare_input(task, model, task.decode(sample.path.read_bytes()))[1]
    target = target_for(model, predict(model, x))
    segments = METHODS["lime"].segments(model, x, METHODS["lime"].resolve_params(model, {}))
    designs = our_designs(model, x, target) | library_designs(model, x, target.class_index, segments)
    for design in designs.values():  # warm-up: imports, OpenCV's and the model's first calls
        design(budgets[0], 0)
    curves = {name: ladder(d, budgets, seeds, name in DETERMINISTIC) for name, d in designs.items()}
    stable = {name: first_stable(rows) for name, rows in curves.items()}
    comparisons = []
    for ours, library in COMPARE:
        a, b = stable[ours], stable[library]
        speedup = None if a is None or b is None else round(b["seconds"] / a["seconds"], 2)
        comparisons.append({"ours": ours, "library": library, "ours_stable": a, "library_stable": b,
                            "speedup": speedup, "meets_target": speedup is not None and speedup >= TARGET_SPEEDUP})
    equal = [{"samples": o["samples"], "ours_seconds": o["seconds"],
              **{f"{k}_seconds": r["seconds"] for k, r in (("lime_image", t), ("lime_image_slic", u))},
              **{f"ours_over_{k}": round(o["seconds"] / r["seconds"], 3) for k, r in (("lime_image", t),
                                                                                    ("lime_image_slic", u))}}
             for o, t, u in zip(curves["lime"], curves["lime_image"], curves["lime_image_slic"])]
    return {"model": model_id, "input": sample.name, "class": target.class_index, "curves": curves,
            "stable": stable, "comparisons": comparisons, "lime_at_equal_samples": equal,
            "lime_never_slower": all(max(r["ours_over_lime_image"], r["ours_over_lime_image_slic"]) <= 1.0
                                     for r in equal)}


def show(result: dict) -> None:
    print(f"\n{result['model']} on {result['input']} (stable: mean Spearman over the seeds >= {STABLE})")
    print(f"{'design':16s} " + " ".join(f"{r['samples']:>13d}" for r in result["curves"]["lime"]))
    for name, rows in result["curves"].items():
        cells = [f"{r.get('agreement_with_largest', r['stability']):6.3f}/{r['seconds']:5.2f}s" for r in rows]
        features = rows[0]["features"]
        print(f"{name:16s} " + " ".join(f"{c:>13s}" for c in cells) + f"  {features or '-'} features")
    print("(stability / seconds per run; shap_partition: agreement with its largest budget, as it has no seed)")
    for c in result["comparisons"]:
        a, b = c["ours_stable"], c["library_stable"]
        where = lambda s: "not reached" if s is None else f"{s['samples']} samples, {s['seconds']:.2f} s"  # noqa: E731
        flag = "-" if c["speedup"] is None else f"{c['speedup']}x " + ("met" if c["meets_target"] else "MISSED")
        print(f"{c['ours']:12s} {where(a):>24s}  {c['library']:14s} {where(b):>24s}  {flag} (target "
              f"{TARGET_SPEEDUP:g}x)")
    ratios = ", ".join(f"{r['samples']}: {r['ours_over_lime_image']} / {r['ours_over_lime_image_slic']}"
                       for r in result["lime_at_equal_samples"])
    print(f"our LIME's seconds / lime_image's (default / on our superpixels) at equal samples: {ratios} "
          f"({'never slower' if result['lime_never_slower'] else 'SLOWER somewhere'})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", nargs="+", default=None)
    parser.add_argument("--samples", default=None, help=f"budgets, comma-separated (default {SAMPLES})")
    parser.add_argument("--seeds", type=int, default=None, help="K, the seeds per budget (default 5)")
    parser.add_argument("--out", default=None)
    parser.add_argument("--quick", action="store_true", help="a smoke run: one model, budgets 20 and 40, 3 seeds")
    args = parser.parse_args(argv)
    models = args.model or (MODELS[:1] if args.quick else MODELS)
    budgets = tuple(int(n) for n in args.samples.split(",")) if args.samples else (20, 40) if args.quick else SAMPLES
    seeds = args.seeds or (3 if args.quick else 5)
    out = output_path(args.out, "stability.json", args.quick)
    results = []
    for model_id in models:
        results.append(run(model_id, budgets, seeds))
        show(results[-1])
    summary = {"seeds": seeds, "budgets": list(budgets), "stable_at": STABLE, "target_speedup": TARGET_SPEEDUP,
               "quick": args.quick, "torch_threads": torch.get_num_threads(), "models": results}
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
