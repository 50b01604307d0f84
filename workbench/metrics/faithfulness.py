"""Faithfulness: does the model's output follow the map? Deletion and insertion (Petsiuk et al. 2018).

Deletion replaces the map's most relevant pixels with a baseline, a growing share at a time, and
follows the target's probability down; insertion starts from the baseline and puts the most relevant
pixels back. A faithful map makes deletion fall fast (small area under the curve) and insertion rise
fast (large area). The copies are scored in batches through the adapter, so their passes are counted.
"""

from __future__ import annotations

import numpy as np

from workbench.methods.common import BASELINES, baseline_for, chunk_size
from workbench.metrics.base import Metric
from workbench.metrics.localisation import descending
from workbench.models import ModelAdapter, Target


def target_probability(model: ModelAdapter, batch: np.ndarray, target: Target) -> np.ndarray:
    """The target's probability for each item: the class's for a classifier, its mean over the region
    for a segmentation."""
    probs = model.predict(batch)[:, target.class_index]
    if target.region is None:
        return probs.astype(np.float64)
    return probs[:, target.region].mean(axis=1).astype(np.float64)


def relevance_order(heatmap: np.ndarray, seed: int) -> np.ndarray:
    """The map's points (flat indices), most relevant first; tied points in an order drawn from `seed`
    (`descending`), so the curve does not delete a plateau top row first."""
    return descending(heatmap.reshape(1, -1), seed)[0]


def perturbation_curve(model: ModelAdapter, x: np.ndarray, heatmap: np.ndarray, target: Target, mode: str,
                       steps: int = 20, baseline: str | np.ndarray = "black",
                       seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(shares of pixels changed, 0 to 1 in `steps` steps; the target's probability at each): the most
    relevant pixels first, ties in the order `relevance_order` draws from `seed`. `baseline` names a reference
    (black, mean, blur) or is the reference input itself, such as the case's counterfactual twin."""
    if mode not in ("deletion", "insertion"):
        raise ValueError(f"mode must be deletion or insertion, not {mode!r}")
    target = model.resolve_target(x, target)
    if isinstance(baseline, np.ndarray):
        if baseline.shape != x.shape:
            raise ValueError(f"a reference input must have the input's shape {x.shape}, not {baseline.shape}")
        reference = baseline
    else:
        reference = baseline_for(model, x, baseline)
    start, end = (x, reference) if mode == "deletion" else (reference, x)
    order = relevance_order(heatmap, seed)
    shares = np.linspace(0.0, 1.0, steps + 1)
    counts = np.round(shares * order.size).astype(int)
    probs = []
    step = chunk_size(model, x)
    for first in range(0, len(counts), step):
        changed = np.zeros((len(counts[first:first + step]), order.size), bool)
        for row, count in enumerate(counts[first:first + step]):
            changed[row, order[:count]] = True
        copies = np.where(changed.reshape(-1, 1, *heatmap.shape), end, start).astype(np.float32)
        probs.append(target_probability(model, copies, target))
    return shares, np.concatenate(probs)


def area_under(shares: np.ndarray, values: np.ndarray) -> float:
    """Trapezoidal area under a curve on [0, 1]."""
    return float(np.sum((values[1:] + values[:-1]) / 2 * np.diff(shares)))


class PerturbationAUC(Metric):
    category = "faithfulness"
    needs = frozenset({"model"})
    mode: str

    def __init__(self, steps: int = 20, baseline: str = "black") -> None:
        if baseline not in BASELINES:
            raise ValueError(f"baseline must be one of {BASELINES}")
        self.steps, self.baseline = steps, baseline

    def curve(self, explanation, model, x, baseline: str | np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The curve with this metric's baseline, or with `baseline` when given (a name, or a reference input
        such as the counterfactual twin: `perturbation_curve`). Ties are ordered by the explanation's seed."""
        return perturbation_curve(model, x, explanation.map, explanation.target, self.mode, self.steps,
                                  self.baseline if baseline is None else baseline, explanation.seed)

    def score_curve(self, curve: tuple[np.ndarray, np.ndarray]) -> float:
        """The score of a curve computed already: the app draws the curves and scores the same ones."""
        return area_under(*curve)

    def score(self, explanation, *, truth=None, model=None, x=None) -> float:
        self._require(model=model, x=x)
        return self.score_curve(self.curve(explanation, model, x))


class DeletionAUC(PerturbationAUC):
    id = "deletion_auc"
    name = "Deletion AUC"
    mode = "deletion"
    higher_is_better = False
    what_it_measures = ("Area under the target's probability as the map's most relevant pixels are replaced by "
                        "a baseline (black unless chosen otherwise), 5% at a time (low = the map found what the model "
                        "needs).")


class InsertionAUC(PerturbationAUC):
    id = "insertion_auc"
    name = "Insertion AUC"
    mode = "insertion"
    higher_is_better = True
    what_it_measures = ("Area under the target's probability as the map's most relevant pixels are put back "
                        "into a baseline (black unless chosen otherwise), 5% at a time (high = the map found what the "
                        "model needs).")
