"""Training and evaluation of the bundled classifiers on generated data with known truth.

Everything specific to a model is in its recipe (recipes.py); this module trains, evaluates and
writes the Hub-format folder: config.json, model.safetensors, training.json, ood.safetensors and
the model card with the measured held-out numbers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from workbench.evaluation.classification import classification_report
from workbench.models import FeatureStats, ModelAdapter, load_model, nets
from workbench.training.loop import argmax_batches, fit
from workbench.training.ood import write_feature_stats
from workbench.training.recipes import Recipe

HELD_OUT = {"split": "test", "seed": 0}


def held_out_model(model: str | ModelAdapter) -> ModelAdapter:
    """A model id or folder loaded for a held-out evaluation, or a model loaded already (the app's cached one)."""
    return model if isinstance(model, ModelAdapter) else load_model(model)


# What a real radiograph tolerates (augment "radiograph"): a rotation (degrees), a zoom (a crop of 1/zoom of
# the side), a shift (share of the side), contrast (a factor about the film's mean) and brightness (in [0, 1]
# units). Never a flip: a mirrored film puts the heart on the right and mirrors the side marker.
RADIOGRAPH = {"rotation": 7.0, "zoom": (1.0, 1.15), "shift": 0.04, "contrast": (0.8, 1.25), "brightness": 0.05}


def _radiograph(xb: torch.Tensor, std: float, gen: torch.Generator) -> torch.Tensor:
    """Each input rotated, cropped and shifted (edges repeated where the film runs out), then its contrast
    and brightness changed (`std`: the model's normalisation, to express brightness in input units)."""
    def uniform(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(len(xb), generator=gen)

    angle = torch.deg2rad(uniform(-RADIOGRAPH["rotation"], RADIOGRAPH["rotation"]))
    scale = 1 / uniform(*RADIOGRAPH["zoom"])
    shift = [2 * uniform(-RADIOGRAPH["shift"], RADIOGRAPH["shift"]) for _ in range(2)]  # grid runs -1 to 1
    cos, sin = scale * torch.cos(angle), scale * torch.sin(angle)
    theta = torch.stack([torch.stack([cos, -sin, shift[0]], 1), torch.stack([sin, cos, shift[1]], 1)], 1)
    grid = torch.nn.functional.affine_grid(theta, list(xb.shape), align_corners=False)
    xb = torch.nn.functional.grid_sample(xb, grid, padding_mode="border", align_corners=False)
    mean = xb.mean(dim=(1, 2, 3), keepdim=True)
    contrast = uniform(*RADIOGRAPH["contrast"]).view(-1, 1, 1, 1)
    brightness = uniform(-RADIOGRAPH["brightness"], RADIOGRAPH["brightness"]).view(-1, 1, 1, 1) / std
    return (xb - mean) * contrast + mean + brightness


def _augment(xb: torch.Tensor, recipe: Recipe, gen: torch.Generator) -> torch.Tensor:
    """Label-preserving changes: left-right flips for phantom chests, all eight dihedral moves for tissue,
    what a real film tolerates (`RADIOGRAPH`), or none."""
    kind = recipe.augment
    if kind == "radiograph":
        return _radiograph(xb, recipe.spec.std[0], gen)
    if kind == "none":
        return xb
    flip = torch.rand(len(xb), generator=gen) < 0.5
    xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
    if kind == "dihedral":
        flip = torch.rand(len(xb), generator=gen) < 0.5
        xb = torch.where(flip[:, None, None, None], xb.flip(-2), xb)
        if torch.rand(1, generator=gen) < 0.5:
            xb = xb.transpose(-1, -2)
    return xb


def train(recipe: Recipe, out_dir: str | Path, n_train: int | None = None, n_val: int | None = None,
          epochs: int | None = None, seed: int = 0, n_ood: int = 2000,
          log: Callable[[str], None] = print) -> dict:
    """Train on the recipe's data (generated, or real files read) and write the model folder (with its OOD
    statistics). Real data may hold fewer cases than asked for: the counts are what was used.

    Returns the training summary that also goes into the folder's `training.json`.
    """
    epochs = epochs or recipe.epochs
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    train_img, _, train_y = recipe.make_dataset(n_train or recipe.n_train, seed=seed, split="train")
    val_img, _, val_y = recipe.make_dataset(n_val or recipe.n_val, seed=seed, split="val")
    n_train, n_val = len(train_y), len(val_y)
    log(f"{'read' if recipe.data_credit else 'generated'} {n_train} + {n_val} {recipe.case_word} in "
        f"{time.perf_counter() - t0:.1f} s")
    x, y = torch.from_numpy(recipe.model_input(train_img)), torch.from_numpy(train_y)
    plainer = {gain: torch.from_numpy(recipe.model_input(
        recipe.make_dataset(n_train, seed=seed, split="train", lesion_gain=gain)[0]))
        for gain in set(recipe.curriculum)}
    xv = torch.from_numpy(recipe.model_input(val_img))

    module = nets.build(recipe.architecture, **recipe.arch)
    weight = class_weights(train_y, len(recipe.labels)) if recipe.balanced_loss else None

    def batch_loss(epoch: int, idx: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        xe = plainer[recipe.curriculum[epoch]] if epoch < len(recipe.curriculum) else x
        return torch.nn.functional.cross_entropy(module(_augment(xe[idx], recipe, gen)), y[idx], weight=weight)

    def validate() -> dict[str, float]:
        report = classification_report(val_y, argmax_batches(module, xv).numpy(), recipe.labels)
        return {"val acc": report["accuracy"], "val balanced acc": report["balanced_accuracy"]}

    scores = fit(module, recipe, n_train, epochs, seed, batch_loss, validate=validate,
                 schedule=lambda opt, steps: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps),
                 started=t0, log=log)
    summary = {"n_train": n_train, "n_val": n_val, "epochs": epochs, "batch_size": recipe.batch_size,
               "lr": recipe.lr, "seed": seed, "curriculum": list(recipe.curriculum[:epochs]),
               "val_accuracy": scores["val acc"], "val_balanced_accuracy": scores["val balanced acc"],
               "seconds": round(time.perf_counter() - t0, 1)}
    if weight is not None:
        summary["class_weights"] = [round(float(w), 4) for w in weight]
    save_hub_folder(module.eval(), out_dir, recipe, summary)
    write_feature_stats(out_dir, recipe, seed=seed, n_fit=n_ood, n_held_out=max(n_ood // 4, 32))
    return summary


def class_weights(labels: np.ndarray, k: int) -> torch.Tensor:
    """Per-class loss weights that make every class count as much as the others: total / (k x class count)."""
    counts = np.bincount(labels, minlength=k).clip(min=1)
    return torch.tensor(counts.sum() / (k * counts), dtype=torch.float32)


def write_hub_files(out_dir: str | Path, recipe: Recipe, summary: dict, preprocessing: str) -> Path:
    """config.json (from the recipe, for its framework) and training.json; the weights are the caller's."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config = {"framework": recipe.framework, "architecture": recipe.architecture, "arch_params": recipe.arch,
              "task": recipe.task, "labels": list(recipe.labels), "input": recipe.spec.to_dict(),
              "output": "logits", "output_kind": recipe.output_kind, "preprocessing": preprocessing,
              "target_layer": recipe.target_layer, "model_id": recipe.id}
    if recipe.notice:
        config["notice"] = recipe.notice
    if recipe.step_scores:
        config["step_scores"] = recipe.step_scores
    if recipe.stages:
        config["stages"] = list(recipe.stages)
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (out / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
    return out


def save_hub_folder(module: torch.nn.Module, out_dir: str | Path, recipe: Recipe, summary: dict) -> Path:
    """config.json, model.safetensors and training.json (the card comes after evaluation)."""
    spec = recipe.spec
    colour = "grayscale" if spec.channels == 1 else "RGB"
    out = write_hub_files(out_dir, recipe, summary, f"{colour}, resize to {spec.height}x{spec.width} (area), "
                                                    f"(x - {spec.mean[0]}) / {spec.std[0]}")
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(out / "model.safetensors"))
    return out


def evaluate(model: str | ModelAdapter, recipe: Recipe, n: int = 1000, seed: int = HELD_OUT["seed"]) -> dict:
    """Accuracy, per-class precision, recall and F1, and the confusion matrix on `n` held-out cases (real data:
    all there are, if fewer; `n` says how many); accuracy on each of the recipe's stress tests as well."""
    model = held_out_model(model)

    def report(make_dataset: Callable) -> dict:
        images, _, labels = make_dataset(n, seed=seed, split=HELD_OUT["split"])
        pred = model.predict(recipe.model_input(images, model.info.input)).argmax(1)
        return {"n": len(labels), **classification_report(labels, pred, recipe.labels)}

    result = {"model": model.info.id, "split": HELD_OUT["split"], "seed": seed, **report(recipe.make_dataset)}
    if recipe.stress_tests:
        result["stress_tests"] = {name: report(make)["accuracy"] for name, make in recipe.stress_tests}
    return result


def write_model_card(out_dir: str | Path, recipe: Recipe, summary: dict, evaluation: dict) -> Path:
    """README.md in Hugging Face model-card form, with the measured held-out numbers."""
    out = Path(out_dir)
    config = json.loads((out / "config.json").read_text())
    n_params = parameter_count(out)
    rows = "\n".join(f"| {label} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} |"
                     for label, m in evaluation["per_class"].items())
    ood_section = ood_card_section(out, recipe)
    r = RADIOGRAPH
    regime = {"lr_flip": "random left-right flips", "dihedral": "random flips and transposes",
               "radiograph": f"random rotations (up to ±{r['rotation']:g}°), crops (zoom {r['zoom'][0]:g}-"
                             f"{r['zoom'][1]:g}), shifts (up to {r['shift']:.0%}), contrast (x{r['contrast'][0]:g}-"
                             f"{r['contrast'][1]:g}) and brightness (±{r['brightness']:g}) changes, no flips",
               "none": "no augmentation"}[recipe.augment]
    if recipe.balanced_loss:
        regime += (", cross-entropy with each class weighted by the inverse of its share of the training set "
                    f"(weights {', '.join(f'{w:.3f}' for w in summary['class_weights'])})")
    real = bool(recipe.data_credit)
    unmeasured = " (the last stage: without lesion masks, no layer can be measured to localise better)" if real else ""
    credit = f"\nData: {recipe.data_credit}" if real else ""
    k = len(recipe.labels)
    confusion = "\n".join(f"| {label} | " + " | ".join(str(c) for c in row) + " |"
                          for label, row in zip(recipe.labels, evaluation["confusion"]))
    gains = summary.get("curriculum") or []
    curriculum = "" if not gains else (
        f"\nCurriculum: the first {len(gains)} epochs train on the same phantoms with the lesion contrast "
        f"multiplied by {', '.join(f'{g:g}' for g in gains)}; the rest, and all validation and evaluation, "
        f"at the generator's own contrast.")
    spec = recipe.spec
    colour = "one grayscale channel" if spec.channels == 1 else "RGB"
    stages = "" if not recipe.stages else f"\n{stages_line(recipe.stages)}"
    stress = "".join(f"\n- {name}: **accuracy {acc:.3f}**" for name, acc in evaluation.get("stress_tests", {}).items())
    if stress:
        stress = f"\n\nThe same {evaluation['n']} {recipe.case_word}, changed on purpose:{stress}"
    card = f"""---
license: mit
library_name: pytorch
pipeline_tag: image-classification
tags: [xai-workbench, {"real-data" if real else "synthetic-data"}, {recipe.tags}, not-for-clinical-use]
---

# {recipe.id}: {recipe.title}

**Not a medical device and not for diagnosis.** {recipe.disclaimer}

## Model
{recipe.model_text} {n_params:,} parameters; the exact configuration is `arch_params` in config.json.
Input: {colour}, {spec.height}x{spec.width}, scaled to [0, 1] then `(x - {spec.mean[0]}) / {spec.std[0]}`.
Output: logits for `{config["labels"]}`. Default Grad-CAM layer: `{config["target_layer"]}`{unmeasured}.{stages}

## Training data
{summary["n_train"]} {"real" if real else "generated"} {recipe.case_word} (split `train`, seed {summary["seed"]}), \
{recipe.data_text}
Validation: {summary["n_val"]} {recipe.case_word} (split `val`).{credit}

## Training recipe
AdamW, lr {summary["lr"]} with cosine decay, batch {summary["batch_size"]}, {summary["epochs"]}
epochs, {regime}, seed {summary["seed"]}; {summary["seconds"]:.0f} s on a 2-core CPU.{curriculum}
Command: `python -m workbench.training train --recipe {recipe.id} --out models/{recipe.id}`
(or `{recipe.notebook}`).

## Held-out evaluation
{evaluation["n"]} {recipe.case_word} never trained on (split `{evaluation["split"]}`, seed {evaluation["seed"]}):
**accuracy {evaluation["accuracy"]:.3f}**, balanced accuracy {evaluation["balanced_accuracy"]:.3f} (the mean \
of the per-class recalls).

| class | precision | recall | F1 |
| --- | ---: | ---: | ---: |
{rows}

| truth \\ predicted | {" | ".join(recipe.labels)} |
| --- |{" ---: |" * k}
{confusion}{stress}

Measured with `python -m workbench.training evaluate --recipe {recipe.id} --model {recipe.id} --n {evaluation["n"]}`.

## Out-of-distribution check
{ood_section}

## Limits
{recipe.limits}
"""
    (out / "README.md").write_text(card)
    return out / "README.md"


def stages_line(stages: tuple[str, ...]) -> str:
    """The card's line on NormGrad's default layers, each choice with the measurement behind it."""
    names = ", ".join(f"`{s}`" for s in stages)
    if len(stages) > 1:
        return (f"Default NormGrad layers: {names} (the stages after the stem, multiplied; on held-out phantoms "
                "this localised better than any one layer: README, known truth).")
    return (f"Default NormGrad layer: {names} (on held-out phantoms it localised better than each later stage "
            "alone and than their product: README, known truth).")


def ood_card_section(folder: Path, recipe: Recipe) -> str:
    """The model card's paragraph on the out-of-distribution statistics in `folder`."""
    stats = FeatureStats.load(folder)
    if stats is None:
        return "No statistics in this folder: predictions carry no in-distribution check."
    flips = " and their flips" if recipe.flips else ""
    return (f"`ood.safetensors` holds the mean and Ledoit-Wolf shrunk covariance of the channel means and "
            f"standard deviations at {', '.join(f'`{n}`' for n in stats.layers)}, over {stats.n_fit} training "
            f"inputs ({recipe.case_word}{flips}); an input whose Mahalanobis distance exceeds "
            f"{stats.threshold:.2f} (the {stats.quantile:.0%} quantile over {stats.n_held_out} validation "
            f"{recipe.case_word}{flips}) is reported as unlike the training data. Recompute with "
            f"`python -m workbench.training ood --recipe {recipe.id} --model models/{recipe.id}`.")


def parameter_count(folder: Path) -> int:
    from safetensors.torch import load_file

    return sum(int(np.prod(t.shape)) for t in load_file(str(folder / "model.safetensors")).values())
