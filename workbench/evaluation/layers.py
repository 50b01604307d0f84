"""Which layer should Grad-CAM read by default? Measured, not the last layer by habit.

On held-out generated cases the model relies on (its answer flips when the object is left out), Grad-CAM
at every candidate layer is scored against the truth. One forward and one backward pass per case capture
every layer at once, so the sweep costs what one Grad-CAM per case costs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from workbench.evaluation.explanations import CASE_SOURCES, prepare
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
    relied = 0
    for case in CASE_SOURCES[model.info.task](n, seed, split):
        ready = prepare(model, case)
        if not ready.relies:
            continue
        relied += 1
        for layer, (acts, grads) in zip(layers, model.layer_gradients(ready.x, ready.target, layers)):
            cam = weighted_cam(acts, grads.mean(axis=(2, 3)), ready.x.shape[-2:])
            for s in SCORES:
                scores[layer][s].append(METRICS[s].score_maps(cam[None], ready.truth[None])[0])
    table = {layer: {s: round(float(np.mean(v)), 4) if v else None for s, v in by.items()}
             for layer, by in scores.items()}
    ranked = sorted((la for la in layers if table[la]["pointing_game"] is not None),
                    key=lambda la: (table[la]["pointing_game"], table[la]["rank_accuracy"]), reverse=True)
    return {"model": model.info.id, "n": n, "split": split, "seed": seed, "relied_on": relied,
            "best": ranked[0] if ranked else None, "configured": model.info.target_layer, "layers": table}


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
               f"The eight best of {len(sweep['layers'])} layers:\n\n| layer | pointing game | rank accuracy |\n"
               "| --- | ---: | ---: |\n"
               + "".join(f"| `{la}` | {v['pointing_game']} | {v['rank_accuracy']} |\n" for la, v in rows)
               + f"\nCommand: `{command}`\n")
    card_path = folder / "README.md"
    card = card_path.read_text()
    card = re.sub(r"Default Grad-CAM layer: `[^`]*`", f"Default Grad-CAM layer: `{sweep['best']}` (measured, below)",
                  card)
    card = re.sub(r"## Default Grad-CAM layer, measured\n.*?(?=\n## |\Z)", "", card, flags=re.S).rstrip() + "\n"
    card_path.write_text(card + "\n" + section)
