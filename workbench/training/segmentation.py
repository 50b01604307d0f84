"""Training and evaluation of the bundled segmentation model on generated cases with known masks.

Shares the recipe, the Hub folder and the OOD statistics with the classifiers (classifier.py);
what differs is the loss (cross-entropy plus soft Dice on the object classes, which are ~2% of the
pixels), flips applied to image and label map together, and the report: Dice, Boundary IoU, ASSD
and HD95 of the objects, and how well the task's read-out (the quality grade) follows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from workbench.evaluation.segmentation import segmentation_report
from workbench.models import FeatureStats, ModelAdapter, nets
from workbench.tasks import TASKS
from workbench.training.classifier import HELD_OUT, held_out_model, parameter_count, save_hub_folder
from workbench.training.loop import argmax_batches, fit
from workbench.training.ood import write_feature_stats
from workbench.training.recipes import Recipe


def _loss(logits: torch.Tensor, target: torch.Tensor, foreground: tuple[int, ...]) -> torch.Tensor:
    """Cross-entropy plus soft Dice of the union of the foreground classes (one score per image)."""
    probs = logits.softmax(1)[:, list(foreground)].sum(1)
    truth = torch.isin(target, torch.tensor(foreground)).float()
    inter, total = (probs * truth).sum((1, 2)), (probs + truth).sum((1, 2))
    soft_dice = (2 * inter + 1) / (total + 1)
    return F.cross_entropy(logits, target) + (1 - soft_dice).mean()


def train_segmenter(recipe: Recipe, out_dir: str | Path, n_train: int | None = None, n_val: int | None = None,
                    epochs: int | None = None, seed: int = 0, n_ood: int = 1000,
                    log: Callable[[str], None] = print) -> dict:
    """Train on freshly generated cases and write the model folder (with its OOD statistics)."""
    n_train, n_val, epochs = n_train or recipe.n_train, n_val or recipe.n_val, epochs or recipe.epochs
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    train_img, train_maps, _ = recipe.make_dataset(n_train, seed=seed, split="train")
    val_img, val_maps, _ = recipe.make_dataset(n_val, seed=seed, split="val")
    log(f"generated {n_train} + {n_val} {recipe.case_word} in {time.perf_counter() - t0:.1f} s")
    x, y = torch.from_numpy(recipe.model_input(train_img)), torch.from_numpy(train_maps)
    xv = torch.from_numpy(recipe.model_input(val_img))

    module = nets.build(recipe.architecture, **recipe.arch)

    def batch_loss(epoch: int, idx: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        xb, yb = x[idx], y[idx]
        flip = torch.rand(len(idx), generator=gen) < 0.5  # a mirrored chest is still a chest
        xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
        yb = torch.where(flip[:, None, None], yb.flip(-1), yb)
        return _loss(module(xb), yb, recipe.foreground)

    def validate() -> dict[str, float]:
        val = segmentation_report(val_maps, argmax_batches(module, xv, batch=32).numpy(), recipe.foreground,
                                  recipe.labels)
        return {"val Dice": val["dice"], "pooled Dice": val["pooled_dice"]}

    scores = fit(module, recipe, n_train, epochs, seed, batch_loss, validate,
                 schedule=lambda opt, steps: torch.optim.lr_scheduler.OneCycleLR(
                     opt, max_lr=recipe.lr, total_steps=steps, pct_start=0.15),
                 started=t0, log=log)
    summary = {"n_train": n_train, "n_val": n_val, "epochs": epochs, "batch_size": recipe.batch_size,
               "lr": recipe.lr, "seed": seed, "val_dice": scores["val Dice"],
               "seconds": round(time.perf_counter() - t0, 1)}
    save_hub_folder(module.eval(), out_dir, recipe, summary)
    write_feature_stats(out_dir, recipe, seed=seed, n_fit=n_ood, n_held_out=max(n_ood // 4, 32))
    return summary


def evaluate_segmenter(model: str | ModelAdapter, recipe: Recipe, n: int = 500, seed: int = HELD_OUT["seed"]) -> dict:
    """Object Dice, Boundary IoU, ASSD, HD95 on `n` held-out cases, and the task's read-outs (the
    quality grade) from the predicted maps against those from the true ones."""
    model = held_out_model(model)
    images, truth, _ = recipe.make_dataset(n, seed=seed, split=HELD_OUT["split"])
    pred = model.predict(recipe.model_input(images, model.info.input)).argmax(1)
    task = TASKS[recipe.task]
    result = {"model": model.info.id, "n": n, "split": HELD_OUT["split"], "seed": seed,
              **segmentation_report(truth, pred, recipe.foreground, recipe.labels)}
    said, true = [task.assess(p) for p in pred], [task.assess(t) for t in truth]
    if said and said[0]:
        numeric = [k for k, v in said[0].items() if isinstance(v, float)]
        words = [k for k in said[0] if k not in numeric]
        result["read_outs"] = {
            **{f"{k} mean abs error": float(np.mean([abs(s[k] - t[k]) for s, t in zip(said, true)])) for k in numeric},
            **{f"{k} agreement": float(np.mean([s[k] == t[k] for s, t in zip(said, true)])) for k in words}}
    return result


def write_segmentation_card(out_dir: str | Path, recipe: Recipe, summary: dict, evaluation: dict) -> Path:
    """README.md in Hugging Face model-card form, with the measured held-out numbers."""
    out = Path(out_dir)
    stats = FeatureStats.load(out)
    spec = recipe.spec
    fg = " and ".join(f"`{recipe.labels[k]}`" for k in recipe.foreground)
    per_class = "\n".join(f"| {label} | {d:.3f} |" for label, d in evaluation["per_class_dice"].items())
    read_outs = "".join(f"\n- {k}: {v:.3f}" for k, v in evaluation.get("read_outs", {}).items())
    card = f"""---
license: mit
library_name: pytorch
pipeline_tag: image-segmentation
tags: [xai-workbench, synthetic-data, {recipe.tags}, not-for-clinical-use]
---

# {recipe.id}: {recipe.title}

**Not a medical device.** {recipe.disclaimer}

## Model
{recipe.model_text} {parameter_count(out):,} parameters; the exact configuration is `arch_params` in config.json.
Input: one grayscale channel, {spec.height}x{spec.width}, scaled to [0, 1] then `(x - {spec.mean[0]}) / {spec.std[0]}`.
Output: per-pixel logits for `{list(recipe.labels)}`. Default Grad-CAM layer: `{recipe.target_layer}`.

## Training data
{summary["n_train"]} generated {recipe.case_word} (split `train`, seed {summary["seed"]}), {recipe.data_text}
Validation: {summary["n_val"]} {recipe.case_word} (split `val`).

## Training recipe
AdamW with a one-cycle schedule to lr {summary["lr"]}, batch {summary["batch_size"]}, {summary["epochs"]} epochs,
random left-right flips of image and label map, loss = cross-entropy + soft Dice of the objects,
seed {summary["seed"]}; {summary["seconds"]:.0f} s on a 2-core CPU.
Command: `python -m workbench.training train --recipe {recipe.id} --out models/{recipe.id}` (or `{recipe.notebook}`).

## Held-out evaluation
{evaluation["n"]} {recipe.case_word} never trained on (split `{evaluation["split"]}`, seed {evaluation["seed"]}),
{evaluation["n_with_objects"]} of them with objects. Foreign objects = {fg}, scored per image and
averaged over the images with objects (distances in pixels of the {spec.height}x{spec.width} input):

| measure | value |
| --- | ---: |
| **Dice** | **{evaluation["dice"]:.3f}** |
| Dice pooled over all pixels | {evaluation["pooled_dice"]:.3f} |
| Boundary IoU (band 2% of the diagonal) | {evaluation["boundary_iou"]:.3f} |
| ASSD | {evaluation["assd"]:.2f} px |
| HD95 | {evaluation["hd95"]:.2f} px |

Images without objects predicted without objects: {evaluation["empty_images_predicted_empty"]:.3f}.
Images where a distance is undefined (objects in only one of truth and prediction):
{evaluation["undefined_distance_images"]}. Dice of each class, pooled:

| class | Dice |
| --- | ---: |
{per_class}

Read-outs from the predicted maps against those from the true maps:{read_outs}

Measured with `python -m workbench.training evaluate --recipe {recipe.id} --model {recipe.id} --n {evaluation["n"]}`.

## Out-of-distribution check
Mean and Ledoit-Wolf covariance of channel statistics at {", ".join(f"`{n}`" for n in stats.layers)} over
{stats.n_fit} training {recipe.case_word} and their flips; threshold {stats.threshold:.2f}, the
{stats.quantile:.0%} quantile over {stats.n_held_out} validation {recipe.case_word} and flips.

## Limits
{recipe.limits}
"""
    (out / "README.md").write_text(card)
    return out / "README.md"
