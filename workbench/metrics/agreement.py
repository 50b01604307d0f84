"""Agreement between maps: do two methods rank the same points of an input first, and does one method rank them
the same way whatever its seed (stability)?"""

from __future__ import annotations

import numpy as np

from workbench import masks
from workbench.methods import METHODS, Explanation
from workbench.metrics.base import Metric
from workbench.metrics.localisation import top_fraction
from workbench.models import ModelAdapter


def spearman_matrix(maps: np.ndarray) -> np.ndarray:
    """Spearman rank correlation between every pair of maps (N x H x W -> N x N); ties get their mean rank."""
    from scipy.stats import rankdata

    ranks = rankdata(maps.reshape(len(maps), -1), axis=1)
    ranks -= ranks.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(ranks, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    out = (ranks @ ranks.T) / np.outer(safe, safe)
    out[norms == 0, :] = out[:, norms == 0] = 0.0  # a constant map ranks nothing
    np.fill_diagonal(out, 1.0)
    return out


def top_k_iou_matrix(maps: np.ndarray, k_percent: float = 10.0) -> np.ndarray:
    """IoU of every pair of maps' top k% points (N x N)."""
    tops = top_fraction(maps, k_percent / 100)
    return np.array([[masks.iou(a, b) for b in tops] for a in tops])


RUNS = 5  # maps a stability score compares by default: the explanation's own and four more seeds


def mean_pairwise_spearman(maps: np.ndarray) -> float:
    """The mean Spearman correlation over every pair of maps (N x H x W, N >= 2); two equal maps agree fully
    (1), even when constant, where `spearman_matrix` says 0 because a constant map ranks nothing."""
    rho = spearman_matrix(maps)
    flat = maps.reshape(len(maps), -1)
    pairs = [(i, j) for i in range(len(maps)) for j in range(i + 1, len(maps))]
    return float(np.mean([1.0 if np.array_equal(flat[i], flat[j]) else rho[i, j] for i, j in pairs]))


def stability_seeds(seed: int, runs: int) -> list[int]:
    """The explanation's own seed, then the next runs - 1 (numpy hashes each seed into its own stream, so
    neighbouring seeds draw unrelated samples; a user can type any of them into the app to see that map)."""
    return [(seed + k) % 2**32 for k in range(runs)]


class Stability(Metric):
    """How much a stochastic method's map depends on its seed. A method that is not stochastic gives one map
    whatever the seed (`Method.stochastic` False), so its stability is 1 by definition, with no rerun."""

    id = "stability"
    name = "Stability (seeds)"
    category = "agreement"  # the agreement of a method with itself across seeds, by the agreement matrix's measure
    higher_is_better = True
    needs = frozenset({"model", "reruns"})
    unit = "-1 to 1"

    def __init__(self, runs: int = RUNS) -> None:
        if runs < 2:
            raise ValueError("stability compares two maps or more: runs must be at least 2")
        self.runs = runs
        self.what_it_measures = (f"Mean Spearman correlation between the maps the method makes with {runs} seeds "
                                 "(the explanation's and the next ones): 1 = the seed changes nothing; a method that "
                                 f"draws no random numbers is 1 without a rerun. Costs {runs - 1} runs of the method.")

    def measure(self, explanation: Explanation, model: ModelAdapter, x: np.ndarray) -> dict:
        """The score with its record: the seeds, and the reruns' counted passes and seconds (none when the method
        is not stochastic)."""
        method = METHODS[explanation.method]
        seeds = stability_seeds(explanation.seed, self.runs)
        if not method.stochastic:
            return {"stability": 1.0, "runs": self.runs, "reruns": 0, "seeds": seeds, "passes": 0, "seconds": 0.0,
                    "note": "not stochastic: one map whatever the seed, so 1 by definition"}
        again = [method.explain(model, x, explanation.target, explanation.params, s) for s in seeds[1:]]
        maps = np.stack([explanation.map, *(e.map for e in again)])
        return {"stability": mean_pairwise_spearman(maps), "runs": self.runs, "reruns": len(again), "seeds": seeds,
                "passes": sum(e.passes for e in again), "seconds": sum(e.seconds for e in again)}

    def score(self, explanation, *, truth=None, model=None, x=None) -> float:
        self._require(model=model, x=x)
        return self.measure(explanation, model, x)["stability"]
