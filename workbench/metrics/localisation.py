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
