"""Sanity: the model-randomisation check (Adebayo et al. 2018).

Cascading from the output back to the input, more and more layers get random weights, and the method
explains the same input and target again (same parameters, same seed) on each damaged copy. A map that
explains the model must change as the model is destroyed; a map that stays the same shows the input
(its edges, its brightness), not what the model learned. Copies are new adapters: the model the caller
holds, which the app shares between sessions, never sees a random weight.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from workbench.methods import METHODS, Explanation, Method
from workbench.models import ModelAdapter

STEPS = 4  # damaged copies per check by default: the top layer, ..., every layer
PASS_BELOW = 0.5  # a method passes when, all layers random, its map's |Spearman| with the original is under this


@dataclass(frozen=True)
class RandomisationStep:
    layers_randomised: int
    down_to: str  # the deepest (closest to the input) layer randomised so far
    spearman: float
    ssim: float


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Rank correlation of two maps (0 when either is constant)."""
    from workbench.metrics.agreement import spearman_matrix

    return float(spearman_matrix(np.stack([a, b]))[0, 1])


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Structural similarity of the two maps, each divided by its largest magnitude (scale is not structure)."""
    from skimage.metrics import structural_similarity

    def unit(m: np.ndarray) -> np.ndarray:
        peak = float(np.abs(m).max())
        return (m / peak if peak > 0 else m).astype(np.float64)

    return float(structural_similarity(unit(a), unit(b), data_range=2.0))


def cascade_points(n_layers: int, steps: int) -> list[int]:
    """How many layers are random at each step: about evenly spaced, ending with all of them."""
    return sorted({int(round(k)) for k in np.linspace(1, n_layers, min(steps, n_layers))})


def model_randomisation(model: ModelAdapter, x: np.ndarray, explanation: Explanation, steps: int = STEPS,
                        seed: int = 0, method: Method | None = None) -> dict:
    """The original map against the map on each randomised copy: Spearman and SSIM per step, and the verdict.
    `method` defaults to the registered method that made the explanation."""
    method = method or METHODS[explanation.method]
    layers = model.weighted_layers()
    trail = []
    for k in cascade_points(len(layers), steps):
        damaged = model.randomised(layers[:k], seed)
        heatmap = method.explain(damaged, x, explanation.target, explanation.params, explanation.seed).map
        trail.append(RandomisationStep(k, layers[k - 1], spearman(explanation.map, heatmap),
                                       ssim(explanation.map, heatmap)))
    final = abs(trail[-1].spearman)
    return {"method": explanation.method, "layers": len(layers), "seed": seed,
            "steps": [asdict(s) for s in trail], "final_abs_spearman": final, "passed": final < PASS_BELOW}
