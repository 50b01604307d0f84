"""Training and evaluation of the lung X-ray classifier on generated phantoms with known truth.

The input spec is defined once here (LUNG_INPUT); training normalises with it and writes it into
config.json, which serving reads: the same object on both sides, no train/serve skew.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from workbench.data import phantoms
from workbench.models import FeatureStats, load_model, nets
from workbench.specs import InputSpec
from workbench.training.ood import write_feature_stats

LUNG_INPUT = InputSpec(128, 128, 1, (0.5,), (0.25,))
LUNG_ARCH = {"in_channels": 1, "num_classes": 2, "widths": [16, 32, 64, 128],
             "blocks": [1, 1, 1, 1], "strides": [1, 2, 2, 1]}
HELD_OUT = {"split": "test", "seed": 0}


def _normalise(images: np.ndarray) -> torch.Tensor:
    """N x H x W phantoms in [0, 1] to the model's input scale, through the spec config.json holds."""
    return torch.from_numpy(LUNG_INPUT.normalize(images[:, None]))


def _accuracy(module: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 128) -> float:
    module.eval()
    with torch.no_grad():
        pred = torch.cat([module(x[i:i + batch]).argmax(1) for i in range(0, len(x), batch)])
    return float((pred == y).float().mean())


def train_lung_model(out_dir: str | Path, n_train: int = 8000, n_val: int = 400, epochs: int = 14,
                     batch_size: int = 32, lr: float = 1e-3, seed: int = 0,
                     arch: dict | None = None, model_id: str = "lung_xray-resnet-compact",
                     n_ood: int = 2000, log: Callable[[str], None] = print) -> dict:
    """Train the compact ResNet on fresh phantoms and write a Hub-format model folder.

    Returns the training summary (sizes, epochs, seconds, validation accuracy) that also goes
    into the folder's `training.json`. The folder also gets its out-of-distribution statistics
    (`ood.safetensors`, fitted on `n_ood` training phantoms).
    """
    torch.manual_seed(seed)
    arch = dict(arch or LUNG_ARCH)
    t0 = time.perf_counter()
    train_img, _, train_y = phantoms.make_dataset(n_train, seed=seed, split="train")
    val_img, _, val_y = phantoms.make_dataset(n_val, seed=seed, split="val")
    log(f"generated {n_train} + {n_val} phantoms in {time.perf_counter() - t0:.1f} s")
    x, y = _normalise(train_img), torch.from_numpy(train_y)
    xv, yv = _normalise(val_img), torch.from_numpy(val_y)

    module = nets.build("compact_resnet", **arch)
    opt = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * ((n_train + batch_size - 1) // batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        module.train()
        order = torch.randperm(n_train, generator=gen)
        total = 0.0
        for i in range(0, n_train, batch_size):
            idx = order[i:i + batch_size]
            xb = x[idx]
            flip = torch.rand(len(idx), generator=gen) < 0.5  # left-right flip keeps the label
            xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
            loss = torch.nn.functional.cross_entropy(module(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        val_acc = _accuracy(module, xv, yv)
        log(f"epoch {epoch + 1}/{epochs}: loss {total / n_train:.4f}, val acc {val_acc:.4f}, "
            f"{time.perf_counter() - t0:.0f} s")
    summary = {"n_train": n_train, "n_val": n_val, "epochs": epochs, "batch_size": batch_size,
               "lr": lr, "seed": seed, "val_accuracy": val_acc,
               "seconds": round(time.perf_counter() - t0, 1)}
    save_hub_folder(module.eval(), out_dir, arch, model_id, summary)
    write_feature_stats(out_dir, seed=seed, n_fit=n_ood, n_held_out=max(n_ood // 4, 32))
    return summary


def save_hub_folder(module: torch.nn.Module, out_dir: str | Path, arch: dict, model_id: str,
                    summary: dict) -> Path:
    """Write config.json, model.safetensors and training.json (the card is written separately,
    after evaluation, by `write_model_card`)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config = {"framework": "pytorch", "architecture": "compact_resnet", "arch_params": arch,
              "task": "lung_xray", "labels": list(phantoms.LABELS), "input": LUNG_INPUT.to_dict(),
              "output": "logits", "output_kind": "classification",
              "preprocessing": f"grayscale, resize to {LUNG_INPUT.height}x{LUNG_INPUT.width} (area), "
                               f"(x - {LUNG_INPUT.mean[0]}) / {LUNG_INPUT.std[0]}",
              "target_layer": "layer4", "model_id": model_id}
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(out / "model.safetensors"))
    (out / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
    return out


def evaluate_lung_model(model_id: str, n: int = 1000, seed: int = HELD_OUT["seed"]) -> dict:
    """Accuracy and per-class recall on `n` held-out phantoms (split 'test', never trained on)."""
    adapter = load_model(model_id)
    images, _, labels = phantoms.make_dataset(n, seed=seed, split=HELD_OUT["split"])
    x = adapter.info.input.normalize(images[:, None])
    pred = adapter.predict(x).argmax(1)
    recall = {lab: float((pred[labels == i] == i).mean()) for i, lab in enumerate(phantoms.LABELS)}
    return {"model": model_id, "n": n, "split": HELD_OUT["split"], "seed": seed,
            "accuracy": float((pred == labels).mean()), "recall": recall}


def write_model_card(out_dir: str | Path, summary: dict, evaluation: dict) -> Path:
    """README.md in Hugging Face model-card form, with the measured held-out numbers."""
    out = Path(out_dir)
    config = json.loads((out / "config.json").read_text())
    arch = config["arch_params"]
    n_params = sum(int(np.prod(t.shape)) for t in _load_state(out).values())
    recall = ", ".join(f"{k} {v:.3f}" for k, v in evaluation["recall"].items())
    stats = FeatureStats.load(out)
    ood_section = "No statistics in this folder: predictions carry no in-distribution check." if stats is None else (
        f"`ood.safetensors` holds the mean and Ledoit-Wolf shrunk covariance of the channel means and "
        f"standard deviations at {', '.join(f'`{n}`' for n in stats.layers)}, over {stats.n_fit} training "
        "inputs (phantoms and their left-right flips); an input whose Mahalanobis distance exceeds "
        f"{stats.threshold:.2f} (the {stats.quantile:.0%} quantile over {stats.n_held_out} validation "
        "phantoms and flips) is reported as unlike the training data. Recompute with "
        f"`python -m workbench.training ood --model models/{config['model_id']}`.")
    card = f"""---
license: mit
library_name: pytorch
pipeline_tag: image-classification
tags: [xai-workbench, synthetic-data, chest-x-ray, not-for-clinical-use]
---

# {config["model_id"]}: compact ResNet for synthetic chest X-ray phantoms

**Not a medical device and not for diagnosis.** It was trained only on synthetic phantoms made by
`workbench/phantoms.py`; it has never seen a real radiograph. It exists so that explanations can be
checked against a lesion mask that is known by construction.

## Model
A *compact* ResNet, not torchvision's ResNet-18: the same stem + four residual stages + global
average pooling + linear head, but {arch["blocks"]} basic blocks per stage with widths
{arch["widths"]} (strides {arch["strides"]} after a stride-2 stem), {n_params:,} parameters.
Input: one grayscale channel, 128x128, scaled to [0, 1] then `(x - 0.5) / 0.25`.
Output: logits for `{config["labels"]}`. Default Grad-CAM layer: `{config["target_layer"]}` (16x16).

## Training data
{summary["n_train"]} phantoms (split `train`, seed {summary["seed"]}), balanced: `normal`, or
`affected` with 1-3 nodules (radius 2.5-5 px) or patchy opacities (6-12 px) inside the lung
fields, with contrast comparable to the ribs; random size, position, rotation (±7°), contrast,
blur and noise. Validation: {summary["n_val"]} phantoms (split `val`).

## Training recipe
AdamW, lr {summary["lr"]} with cosine decay, batch {summary["batch_size"]}, {summary["epochs"]}
epochs, random left-right flips, seed {summary["seed"]}; {summary["seconds"]:.0f} s on a 2-core CPU.
Command: `python -m workbench.training train --out models/{config["model_id"]}`
(or `training_notebooks/train_lung_xray.ipynb`).

## Held-out evaluation
{evaluation["n"]} phantoms never trained on (split `{evaluation["split"]}`, seed {evaluation["seed"]}):
**accuracy {evaluation["accuracy"]:.3f}**; recall {recall}.
Measured with `python -m workbench.training evaluate --model {config["model_id"]} --n {evaluation["n"]}`.

## Out-of-distribution check
{ood_section}

## Limits
Synthetic anatomy only; lesion appearance, scanner physics and patient variation of real X-rays are
absent. Real images will be classified, but the output means nothing clinically; the
out-of-distribution check says so beside every prediction.
"""
    (out / "README.md").write_text(card)
    return out / "README.md"


def _load_state(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))
