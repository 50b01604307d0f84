"""Complexity: how concentrated an explanation is, whatever it points at."""

from __future__ import annotations

import numpy as np

from workbench.metrics.base import MapMetric


class Sparseness(MapMetric):
    """Chalasani et al. (2020): the Gini index of the map's absolute values, 0 when every point carries the
    same relevance, towards 1 when one point carries all of it."""

    id = "sparseness"
    name = "Sparseness (Gini)"
    what_it_measures = "Gini index of |map|: 0 = relevance spread evenly, 1 = all on one point."
    category = "complexity"
    higher_is_better = True
    needs = frozenset()

    def score_maps(self, maps, truths=None):
        values = np.sort(np.abs(maps.reshape(len(maps), -1)).astype(np.float64), axis=1)
        n = values.shape[1]
        total = values.sum(1)
        ranks = np.arange(1, n + 1)
        gini = ((2 * ranks - n - 1) * values).sum(1) / (n * np.where(total > 0, total, 1))
        return np.where(total > 0, gini, 0.0)
