"""Command line for training and evaluating the bundled models (one recipe each, see recipes.py).

  python -m workbench.training train --recipe lung_xray-resnet-compact --out models/lung_xray-resnet-compact
  python -m workbench.training train --recipe lung_xray-resnet-real --out /tmp/smoke --smoke
  python -m workbench.training evaluate --recipe lung_xray-resnet-compact --model lung_xray-resnet-compact
  python -m workbench.training ood --recipe lung_xray-resnet-compact --model models/lung_xray-resnet-compact
  python -m workbench.training ood-evaluate --recipe lung_xray-resnet-compact --model lung_xray-resnet-compact
  python -m workbench.training reliance --model lung_xray-resnet-compact --n 200
  python -m workbench.training evaluate-npz --model histopathology-resnet18-compact --npz pathmnist_64.npz
  python -m workbench.training spans --model audio_deepfake-resnet-compact --n 100
  python -m workbench.training prepare-speech
  python -m workbench.training loeo --recipe audio_deepfake-mobilenetv2-compact
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from workbench.data.spoof_engines import ENGINES, SPEECH_CACHE, use_cache
from workbench.errors import InputError, ModelError, fail
from workbench.evaluation.medmnist import evaluate_npz
from workbench.evaluation.reliance import lesion_reliance
from workbench.evaluation.spans import span_localisation
from workbench.models import load_model
from workbench.paths import ROOT
from workbench.service import check_methods, check_model_task
from workbench.tasks import TASKS
from workbench.training.audio import LOEO_RESULTS
from workbench.training.ood import N_FIT, N_HELD_OUT, evaluate_feature_stats, write_feature_stats
from workbench.training.recipes import RECIPES, Recipe
from workbench.training.runner import train_and_card, trainer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    commands = {
        "train": "train a model (writes its OOD statistics and card too)",
        "card": "re-evaluate a trained model folder and rewrite its card",
        "evaluate": "held-out accuracy and per-class precision, recall, F1 (segmentation: Dice, HD95...)",
        "ood": "(re)compute a model folder's out-of-distribution statistics",
        "ood-evaluate": "held-out data in, probes out?",
        "reliance": "case vs counterfactual twin: does the lung model rely on the lesion?",
        "evaluate-npz": "accuracy on a real MedMNIST .npz file (pathmnist, pneumoniamnist, chestmnist)",
        "spans": "held-out partial spoofs: do the audio model's explanations find the spoofed span?",
        "layers": "Grad-CAM at every layer on held-out cases the model relies on; --write records the best",
        "prepare-speech": "make every spoof engine's utterances and re-syntheses once (kept in --cache)",
        "loeo": "audio: retrain without each spoof engine in turn; how is the unseen engine caught?",
        "calibrate-audio": "audio: fit a model folder's temperature, window threshold and clip rule on validation data",
    }
    for name, help_text in commands.items():
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--recipe", default=RECIPES.ids()[0], choices=RECIPES.ids())
        p.add_argument("--seed", type=int, default=0)
        if name == "evaluate-npz":
            p.add_argument("--npz", required=True, help="a MedMNIST .npz file")
            p.add_argument("--dataset", default=None, help="pathmnist, pneumoniamnist or chestmnist "
                           "(default: from the file name)")
            p.add_argument("--split", default="test")
        p.add_argument("--cache", default=str(SPEECH_CACHE), help="audio: where made spoof utterances are kept "
                       "between runs (outside the repository; '' keeps none)")
        if name == "loeo":
            p.add_argument("--engines", default=",".join(ENGINES))
            p.add_argument("--n-train", type=int, default=3000)
            p.add_argument("--epochs", type=int, default=5)
            p.add_argument("--out", default=LOEO_RESULTS, help="the rows, kept between runs (resumable)")
        if name == "card":
            p.add_argument("--reuse", action="store_true", help="audio: the kept held-out report, not a new one")
            p.add_argument("--n", type=int, default=None, help="held-out cases to evaluate (default: the "
                           "evaluation's own, as `evaluate` without --n)")
        if name == "ood":
            p.add_argument("--n-fit", type=int, default=N_FIT, help="training inputs the statistics are fitted on")
            p.add_argument("--n-held-out", type=int, default=N_HELD_OUT,
                           help="validation inputs the threshold is set on")
        if name == "train":
            p.add_argument("--out", required=True)
            p.add_argument("--smoke", action="store_true", help="tiny settings: every step runs, nothing is learnt")
        elif name not in ("prepare-speech", "loeo"):
            p.add_argument("--model", required=True, help="model folder" if name in ("card", "ood") else
                           "bundled model id or model folder")
            if name in ("evaluate", "ood-evaluate", "reliance", "spans", "layers"):  # the others score no N cases
                p.add_argument("--n", type=int, default={"evaluate": 1000, "reliance": 200, "spans": 100,
                                                         "layers": 100}.get(name, 300))
        if name == "spans":
            p.add_argument("--methods", default="step_scores,gradcam,integrated_gradients",
                           help="comma-separated method ids, each explained with its default settings")
        if name == "layers":
            p.add_argument("--write", action="store_true", help="write the best layer into the model folder's "
                           "config.json and card (a bundled model's folder under models/)")
    args = parser.parse_args(argv)
    recipe = RECIPES[args.recipe]
    if args.cache:
        use_cache(Path(args.cache))
    if args.cmd == "prepare-speech":
        from workbench.data import speech

        for split in ("train", "val", "test"):
            speech.prepare(split)
        return
    if args.cmd == "calibrate-audio":
        from workbench.training.audio_report import calibrate_detector

        summary_path = Path(args.model) / "training.json"
        summary = json.loads(summary_path.read_text())
        summary["calibration"] = calibrate_detector(args.model, n_val=summary["n_val"], seed=args.seed)
        summary_path.write_text(json.dumps(summary, indent=2) + "\n")
        print(json.dumps(summary["calibration"], indent=2))
        return
    if args.cmd == "loeo":
        from workbench.training.audio import train_keras
        from workbench.training.audio_report import leave_one_engine_out

        engines = tuple(e.strip() for e in args.engines.split(",") if e.strip())
        print(json.dumps(leave_one_engine_out(recipe, train_keras, engines, args.out, args.n_train, args.epochs),
                         indent=2))
        return
    if args.cmd == "layers":
        from workbench.evaluation.layers import layer_sweep, write_default_layer

        try:
            model = load_model(args.model)
        except (InputError, ModelError) as err:
            raise SystemExit(fail(str(err))) from None
        sweep = layer_sweep(model, n=args.n, seed=args.seed)
        if args.write:
            write_default_layer(model.info.path, sweep,
                                f"python -m workbench.training layers --model {args.model} --n {args.n} --write")
        print(json.dumps(sweep, indent=2))
        return
    if args.cmd == "spans":
        try:
            model = load_model(args.model)
            methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
            check_model_task(model, TASKS["audio_deepfake"])
            check_methods(TASKS["audio_deepfake"], model, methods)
        except (InputError, ModelError) as err:
            raise SystemExit(fail(str(err))) from None
        print(json.dumps(span_localisation(model, methods, n=args.n, seed=args.seed), indent=2))
        return
    if args.cmd == "evaluate-npz":
        try:
            result = evaluate_npz(load_model(args.model), args.npz, args.split, args.dataset)
        except (InputError, ModelError) as err:
            raise SystemExit(fail(str(err))) from None
        print(json.dumps(result, indent=2))
        return
    try:
        result = _run(args, recipe)
    except (InputError, ModelError) as err:  # e.g. a recipe's real data folder missing, a model not found
        raise SystemExit(fail(str(err))) from None
    print(json.dumps(result, indent=2))


def _run(args: argparse.Namespace, recipe: Recipe) -> dict:
    """train, card, evaluate, ood, ood-evaluate or reliance: the commands that read the recipe's data."""
    _, evaluate_fn, card_fn = trainer(recipe)
    if args.cmd == "train":
        return train_and_card(recipe, args.out, smoke=args.smoke, seed=args.seed)
    model = None
    if args.cmd in ("card", "evaluate", "ood", "ood-evaluate"):  # the recipe's data through the model: same task
        model = load_model(args.model)
        check_model_task(model, TASKS[recipe.task])
    if args.cmd == "card":
        if not (Path(args.model) / "training.json").is_file():
            raise InputError(f"{args.model} has no training.json: `card` rewrites the card of a model folder that "
                             "training wrote (python -m workbench.training train --out FOLDER).")
        summary = json.loads((Path(args.model) / "training.json").read_text())
        # an audio detector's held-out report is kept (benchmarks/results), so its card can be rewritten when the
        # leave-one-engine-out rows change without scoring everything again (--reuse)
        saved = ROOT / "benchmarks" / "results" / f"held_out_{recipe.id}.json"
        keep = recipe.framework == "keras"
        if keep and args.reuse and saved.is_file():
            evaluation = json.loads(saved.read_text())
        else:
            evaluation = evaluate_fn(model, recipe, **({} if args.n is None else {"n": args.n}))
        if keep:
            saved.write_text(json.dumps(evaluation, indent=2) + "\n")
        card_fn(args.model, recipe, summary, evaluation)
        return evaluation
    if args.cmd == "evaluate":
        return evaluate_fn(model, recipe, n=args.n)
    if args.cmd == "ood":
        stats = write_feature_stats(args.model, recipe, seed=args.seed, n_fit=args.n_fit, n_held_out=args.n_held_out)
        return {"layers": stats.layers, "threshold": stats.threshold, "n_fit": stats.n_fit,
                "n_held_out": stats.n_held_out}
    if args.cmd == "ood-evaluate":
        return evaluate_feature_stats(args.model, recipe, n=args.n)
    return {"model": args.model, **lesion_reliance(load_model(args.model), n=args.n)}

if __name__ == "__main__":
    main()
