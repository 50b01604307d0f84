"""Localisation metrics: does the explanation point where the ground truth says the evidence is?"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from workbench.metrics.base import Metric


class PointingGame(Metric):
    """Zhang et al. (2018): a hit when the map's maximum falls on the truth, allowed a margin of
    `tolerance` pixels (a coarse CAM cell blurs a small lesion over about that much)."""

    id = "pointing_game"
    name = "Pointing game"
    what_it_measures = "1 when the map's strongest point lies on the ground truth, else 0."
    category = "localisation"
    higher_is_better = True
    needs = frozenset({"ground_truth"})

    def __init__(self, tolerance: int = 4) -> None:
        self.tolerance = tolerance

    def score(self, explanation, *, truth=None, model=None, x=None) -> float:
        self._require(truth=truth)
        if truth.shape != explanation.map.shape:
            raise ValueError(f"truth is {truth.shape}, the map {explanation.map.shape}")
        region = ndimage.binary_dilation(truth, iterations=self.tolerance) if self.tolerance else truth
        peak = np.unravel_index(np.argmax(explanation.map), explanation.map.shape)
        return float(region[peak])


class RelevanceRankAccuracy(Metric):
    """Arras et al. (2022, CLEVR-XAI): of the K highest-ranked points of the map, K being the size
    of the ground truth, the fraction that lies on it. It needs no threshold, and unlike the pointing
    game it reads the whole map; a map that ignores the truth scores about the truth's share of the
    map (a 1.5 s span of a 4 s window: about 0.37)."""

    id = "rank_accuracy"
    name = "Rank accuracy"
    what_it_measures = ("The share of the map's top-K points that lie on the ground truth, K being the truth's "
                        "size (1 = the map's strongest region is exactly the truth).")
    category = "localisation"
    higher_is_better = True
    needs = frozenset({"ground_truth"})

    def score(self, explanation, *, truth=None, model=None, x=None) -> float:
        self._require(truth=truth)
        if truth.shape != explanation.map.shape:
            raise ValueError(f"truth is {truth.shape}, the map {explanation.map.shape}")
        k = int(truth.sum())
        if k == 0:
            raise ValueError("the ground truth is empty: nothing to rank against")
        top = np.argsort(-explanation.map.ravel(), kind="stable")[:k]  # ties: the first in row-major order
        return float(truth.ravel()[top].mean())
