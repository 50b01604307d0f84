"""Which layer should Grad-CAM read by default? Measured, not the last layer by habit.

On held-out generated cases the model relies on (its answer flips when the object is left out), Grad-CAM
at every candidate layer is scored against the truth. One forward and one backward pass per case capture
every layer at once, so the sweep costs what one Grad-CAM per case costs.

A coarse layer limits any CAM read from it: the upsampled map peaks at a cell's centre. Each layer's
*ceiling* is the pointing game of the truth itself, averaged onto the layer's grid and upsampled the
way a CAM is: what a perfect map at that resolution would score. It tells a method's miss from the
layer's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from workbench.arrays import resize
from workbench.evaluation.batch import prepare
from workbench.evaluation.cases import CASE_SOURCES
from workbench.methods.cam import weighted_cam
from workbench.metrics import METRICS
from workbench.models import ModelAdapter

SCORES = ("pointing_game", "rank_accuracy")


def layer_sweep(model: ModelAdapter, n: int = 100, seed: int = 0, split: str = "val",
                layers: Sequence[str] | None = None) -> dict:
    """Per layer, Grad-CAM's mean pointing game and rank accuracy over the relied-on cases; the best layer
    (pointing game first, rank accuracy to break ties)."""
    layers = list(layers or model.layers())
    scores = {layer: {s: [] for s in SCORES} for layer in layers}
    grids, truths = {}, []
    for case in CASE_SOURCES[model.info.task](n, seed, split):
        ready = prepare(model, case)
        if not ready.relies:
            continue
        truths.append(ready.truth)
        for layer, (acts, grads) in zip(layers, model.layer_gradients(ready.x, ready.target, layers)):
            grids[layer] = tuple(acts.shape[-2:])
            cam = weighted_cam(acts, grads.mean(axis=(2, 3)), ready.x.shape[-2:])
            for s in SCORES:
                scores[layer][s].append(METRICS[s].score_maps(cam[None], ready.truth[None])[0])
    ceilings = {grid: resolution_ceiling(np.stack(truths), grid) for grid in set(grids.values())} if truths else {}
    table = {layer: {**{s: round(float(np.mean(v)), 4) if v else None for s, v in by.items()},
                     "grid": list(grids.get(layer, ())), "ceiling": ceilings.get(grids.get(layer))}
             for layer, by in scores.items()}
    ranked = sorted((la for la in layers if table[la]["pointing_game"] is not None),
                    key=lambda la: (table[la]["pointing_game"], table[la]["rank_accuracy"]), reverse=True)
    return {"model": model.info.id, "n": n, "split": split, "seed": seed, "relied_on": len(truths),
            "best": ranked[0] if ranked else None, "configured": model.info.target_layer, "layers": table}


def resolution_ceiling(truths: np.ndarray, grid: tuple[int, int]) -> float:
    """The pointing game of the truths themselves, area-averaged onto `grid` and upsampled bilinearly as a CAM
    is (N x H x W booleans): the best a map of that resolution can score."""
    size = truths.shape[-2:]
    perfect = resize(resize(truths.astype(np.float32), grid), size, mode="bilinear")
    return round(float(METRICS["pointing_game"].score_maps(perfect, truths).mean()), 4)


def write_default_layer(folder: Path, sweep: dict, command: str) -> None:
    """Record the measured layer in the model folder: config.json's target_layer, and a card section."""
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text())
    config["target_layer"] = sweep["best"]
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    rows = sorted(sweep["layers"].items(), key=lambda kv: -(kv[1]["pointing_game"] or -1))[:8]
    section = (f"## Default Grad-CAM layer, measured\n\n`{sweep['best']}`: Grad-CAM's best pointing game (rank "
               f"accuracy breaking ties) on {sweep['relied_on']} of {sweep['n']} held-out generated cases "
               f"(split `{sweep['split']}`) that the model relies on (its answer flips without the object). "
               "The ceiling is what a perfect map at the layer's resolution would score (the truth averaged onto "
               f"the layer's grid, upsampled as a CAM is). The eight best of {len(sweep['layers'])} layers:\n\n"
               "| layer | grid | pointing game | rank accuracy | ceiling |\n| --- | --- | ---: | ---: | ---: |\n"
               + "".join(f"| `{la}` | {'x'.join(map(str, v['grid']))} | {v['pointing_game']} | {v['rank_accuracy']} "
                         f"| {v['ceiling']} |\n" for la, v in rows)
               + f"\nCommand: `{command}`\n")
    card_path = folder / "README.md"
    card = card_path.read_text()
    card = re.sub(r"Default Grad-CAM layer: `[^`]*`", f"Default Grad-CAM layer: `{sweep['best']}` (measured, below)",
                  card)
    card = re.sub(r"## Default Grad-CAM layer, measured\n.*?(?=\n## |\Z)", "", card, flags=re.S).rstrip() + "\n"
    card_path.write_text(card + "\n" + section)
