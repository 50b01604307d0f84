"""The Metric contract: a number that says how good an explanation is, and which way is better.

A metric declares its category and direction as data (the comparison tab groups by category and
draws an arrow for the direction) and what it needs beyond the explanation: the model and input
(faithfulness), a ground-truth mask on the map's grid (localisation), or runs of the method again (stability:
computed only on request, as it costs several explanations). Metrics that read only the
map score a whole batch of maps at once (`MapMetric.score_maps`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from workbench.methods import Explanation
from workbench.models import ModelAdapter

CATEGORIES = ("faithfulness", "localisation", "agreement", "sanity", "complexity")
NEEDS = ("model", "ground_truth", "reruns")  # reruns: the method run again, so computed only on request


class Metric(ABC):
    id: str
    name: str
    what_it_measures: str
    category: str  # one of CATEGORIES
    higher_is_better: bool
    needs: frozenset[str]  # subset of NEEDS
    unit: str = "0 to 1"  # what a value is counted in, for tables' headers

    @property
    def direction(self) -> str:
        return "higher" if self.higher_is_better else "lower"

    @property
    def on_request(self) -> bool:
        """It runs the method again (several times the explanation's cost): never computed unless asked for."""
        return "reruns" in self.needs

    @property
    def label(self) -> str:
        """The name with an arrow for the direction in which it is better, as tables and legends show it."""
        return f"{self.name} {'↑' if self.higher_is_better else '↓'}"

    @abstractmethod
    def score(self, explanation: Explanation, *, truth: np.ndarray | None = None,
              model: ModelAdapter | None = None, x: np.ndarray | None = None) -> float:
        """The metric's value for one explanation; `truth` is a bool mask on the map's grid."""

    def _require(self, **given: object) -> None:
        missing = [name for name, value in given.items() if value is None]
        if missing:
            raise ValueError(f"metric {self.id} needs {', '.join(missing)}")


class MapMetric(Metric):
    """A metric of the map alone, or of the map and the ground truth: vectorised over a batch."""

    needs = frozenset({"ground_truth"})

    @abstractmethod
    def score_maps(self, maps: np.ndarray, truths: np.ndarray | None) -> np.ndarray:
        """One value per map: maps N x H x W float, truths N x H x W bool (None when not needed)."""

    def score(self, explanation, *, truth=None, model=None, x=None) -> float:
        if "ground_truth" in self.needs:
            self._require(truth=truth)
            if truth.shape != explanation.map.shape:
                raise ValueError(f"truth is {truth.shape}, the map {explanation.map.shape}")
            if not truth.any():
                raise ValueError("the ground truth is empty: nothing to score against")
        truths = None if truth is None else np.asarray(truth, bool)[None]
        return float(self.score_maps(explanation.map[None], truths)[0])
