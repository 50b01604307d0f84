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

from workbench.evaluation.classification import classification_report, expected_calibration_error, roc_auc
from workbench.models import FeatureStats, ModelAdapter, load_model, nets
from workbench.training.augment import ACQUISITION, augment
from workbench.training.calibration import choose_threshold, fit_temperature, nll
from workbench.training.loop import argmax_batches, fit
from workbench.training.ood import write_feature_stats
from workbench.training.recipes import Recipe

HELD_OUT = {"split": "test", "seed": 0}


def held_out_model(model: str | ModelAdapter) -> ModelAdapter:
    """A model id or folder loaded for a held-out evaluation, or a model loaded already (the app's cached one)."""
    return model if isinstance(model, ModelAdapter) else load_model(model)


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
        return torch.nn.functional.cross_entropy(module(augment(xe[idx], recipe.augment, recipe.spec, gen)), y[idx],
                                                 weight=weight)

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
    if recipe.calibrate:
        summary.update(calibrate(module.eval(), xv, val_y))
    save_hub_folder(module.eval(), out_dir, recipe, summary)
    write_feature_stats(out_dir, recipe, seed=seed, n_fit=n_ood, n_held_out=max(n_ood // 4, 32))
    return summary


def calibrate(module: torch.nn.Module, xv: torch.Tensor, val_y: np.ndarray) -> dict:
    """Temperature and operating point (for class 1) fitted on the validation inputs, with the validation
    NLL and ECE before and after the temperature (training.json; the first two go into config.json)."""
    with torch.no_grad():
        logits = torch.cat([module(xv[i:i + 64]) for i in range(0, len(xv), 64)]).double().numpy()
    temperature = fit_temperature(logits, val_y)
    raw, tempered = (torch.softmax(torch.from_numpy(logits / t), 1).numpy() for t in (1.0, temperature))
    return {"temperature": round(temperature, 4), "threshold": round(choose_threshold(tempered[:, 1], val_y), 4),
            "val_nll": [round(nll(logits, val_y, t), 4) for t in (1.0, temperature)],
            "val_ece": [round(expected_calibration_error(p, val_y), 4) for p in (raw, tempered)]}


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
    if "temperature" in summary:
        config["temperature"] = summary["temperature"]
        config["threshold"] = {"label": recipe.labels[1], "probability": summary["threshold"]}
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


def evaluate(model: str | ModelAdapter, recipe: Recipe, n: int = 1000, seed: int = HELD_OUT["seed"],
             split: str = HELD_OUT["split"]) -> dict:
    """Accuracy, per-class precision, recall and F1, and the confusion matrix on `n` held-out cases (real data:
    all there are, if fewer; `n` says how many), each labelled by the model's own rule (`ModelInfo.decide`);
    for two classes also the ROC AUC and the ECE (before the config's temperature too); accuracy on each of the
    recipe's stress tests as well."""
    model = held_out_model(model)

    def report(make_dataset: Callable, details: bool = False) -> dict:
        images, _, labels = make_dataset(n, seed=seed, split=split)
        logits = model.outputs(recipe.model_input(images, model.info.input))
        probs = model.probabilities(logits)
        out = {"n": len(labels), **classification_report(labels, model.info.decide(probs), recipe.labels)}
        if details and len(recipe.labels) == 2 and len(set(labels.tolist())) == 2:
            raw = torch.softmax(torch.from_numpy(logits.astype(np.float64)), 1).numpy()
            out |= {"roc_auc": roc_auc(labels, probs[:, 1]), "ece": expected_calibration_error(probs, labels),
                    "ece_before_temperature": expected_calibration_error(raw, labels)}
        return out

    result = {"model": model.info.id, "split": split, "seed": seed, **report(recipe.make_dataset, details=True)}
    if recipe.stress_tests:
        result["stress_tests"] = {name: report(make)["accuracy"] for name, make in recipe.stress_tests}
    if recipe.batch_split and split == HELD_OUT["split"]:
        result["batch"] = evaluate(model, recipe, n, seed, split="batch")
    return result


def held_out_block(evaluation: dict, recipe: Recipe) -> str:
    """One split's numbers in the card: accuracy, balanced accuracy (and ROC AUC, ECE for two classes), the
    per-class table and the confusion matrix."""
    rows = "\n".join(f"| {label} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} |"
                     for label, m in evaluation["per_class"].items())
    confusion = "\n".join(f"| {label} | " + " | ".join(str(c) for c in row) + " |"
                          for label, row in zip(recipe.labels, evaluation["confusion"]))
    extra = "" if "roc_auc" not in evaluation else (
        f", ROC AUC {evaluation['roc_auc']:.4f}, expected calibration error {evaluation['ece']:.3f} "
        f"({evaluation['ece_before_temperature']:.3f} before the temperature)")
    accuracy, balanced = evaluation["accuracy"], evaluation["balanced_accuracy"]
    return f"""**accuracy {accuracy:.3f}**, balanced accuracy {balanced:.3f} (the mean of the per-class recalls){extra}.

| class | precision | recall | F1 |
| --- | ---: | ---: | ---: |
{rows}

| truth \\ predicted | {" | ".join(recipe.labels)} |
| --- |{" ---: |" * len(recipe.labels)}
{confusion}"""


def calibration_text(summary: dict, recipe: Recipe) -> str:
    """The card's lines on the fitted temperature and operating point (empty when the recipe fits none)."""
    if "temperature" not in summary:
        return ""
    nll_before, nll_after = summary["val_nll"]
    ece_before, ece_after = summary["val_ece"]
    return (f"\nCalibration, on the {summary['n_val']} validation {recipe.case_word} after training: temperature "
            f"{summary['temperature']:.3f} (config.json's `temperature`; every prediction divides the logits by it), "
            f"validation NLL {nll_before:.3f} -> {nll_after:.3f}, ECE {ece_before:.3f} -> {ece_after:.3f}. "
            f"Operating point: `{recipe.labels[1]}` when its calibrated probability is at least "
            f"{summary['threshold']:.3f} (config.json's `threshold`, the app's and CLI's label), the validation "
            "threshold with the highest balanced accuracy.")


def write_model_card(out_dir: str | Path, recipe: Recipe, summary: dict, evaluation: dict) -> Path:
    """README.md in Hugging Face model-card form, with the measured held-out numbers."""
    out = Path(out_dir)
    config = json.loads((out / "config.json").read_text())
    n_params = parameter_count(out)
    ood_section = ood_card_section(out, recipe)
    a = ACQUISITION
    regime = {"lr_flip": "random left-right flips", "dihedral": "random flips and transposes",
              "acquisition": f"random rotations (up to ±{a['rotation']:g}°), zooms ({a['zoom'][0]:g}-"
                             f"{a['zoom'][1]:g}), shifts (up to {a['shift']:.0%}), exposure (gain "
                             f"x{a['gain'][0]:g}-{a['gain'][1]:g}, offset ±{a['offset']:g}), gamma "
                             f"{a['gamma'][0]:g}-{a['gamma'][1]:g}, Gaussian blur "
                             f"(sigma {a['blur'][0]:g}-{a['blur'][1]:g} px, on {a['blur_share']:.0%} of the films) and "
                             f"noise (sigma up to {a['noise'][1]:g}), no flips (`workbench/training/augment.py`)",
              "none": "no augmentation"}[recipe.augment]
    if recipe.balanced_loss:
        regime += (", cross-entropy with each class weighted by the inverse of its share of the training set "
                    f"(weights {', '.join(f'{w:.3f}' for w in summary['class_weights'])})")
    real = bool(recipe.data_credit)
    unmeasured = " (the last stage: without lesion masks, no layer can be measured to localise better)" if real else ""
    credit = f"\nData: {recipe.data_credit}" if real else ""
    gains = summary.get("curriculum") or []
    curriculum = "" if not gains else (
        f"\nCurriculum: the first {len(gains)} epochs train on the same phantoms with the lesion contrast "
        f"multiplied by {', '.join(f'{g:g}' for g in gains)}; the rest, and all validation and evaluation, "
        f"at the generator's own contrast.")
    spec = recipe.spec
    colour = "one grayscale channel" if spec.channels == 1 else "RGB"
    stages = "" if not recipe.stages else f"\n{stages_line(recipe.stages)}"
    standard = ("; the network's first layer then standardises each film to zero mean and unit standard deviation "
                "(`standardize` in arch_params), so a film's exposure and contrast do not matter"
                if recipe.arch.get("standardize") else "")
    batch = "" if "batch" not in evaluation else (
        f"\n\nThe batch-imitating split (split `batch`): {evaluation['batch']['n']} {recipe.case_word} of "
        f"{recipe.batch_split}\n\n{held_out_block(evaluation['batch'], recipe)}")
    n_asked = max(evaluation["n"], evaluation.get("batch", {}).get("n", 0))  # real data: every film of both splits
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
Input: {colour}, {spec.height}x{spec.width}, scaled to [0, 1] then `(x - {spec.mean[0]}) / {spec.std[0]}`{standard}.
Output: logits for `{config["labels"]}`. Default Grad-CAM layer: `{config["target_layer"]}`{unmeasured}.{stages}

## Training data
{summary["n_train"]} {"real" if real else "generated"} {recipe.case_word} (split `train`, seed {summary["seed"]}), \
{recipe.data_text}
Validation: {summary["n_val"]} {recipe.case_word} (split `val`).{credit}

## Training recipe
AdamW, lr {summary["lr"]} with cosine decay, batch {summary["batch_size"]}, {summary["epochs"]}
epochs, {regime}, seed {summary["seed"]}; {summary["seconds"]:.0f} s on a 2-core CPU.{curriculum}\
{calibration_text(summary, recipe)}
Command: `python -m workbench.training train --recipe {recipe.id} --out models/{recipe.id}`
(or `{recipe.notebook}`).

## Held-out evaluation
{evaluation["n"]} {recipe.case_word} never trained on (split `{evaluation["split"]}`, seed {evaluation["seed"]}):
{held_out_block(evaluation, recipe)}{stress}{batch}

Measured with `python -m workbench.training evaluate --recipe {recipe.id} --model {recipe.id} --n {n_asked}`.

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
