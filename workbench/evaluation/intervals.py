"""How sure a table's numbers are: bootstrap intervals over cases, and paired comparisons between methods.

A mean over 20 cases says little on its own: two methods 0.05 apart may be noise. Each mean gets a 95% percentile
bootstrap interval (cases drawn with replacement, seeded, so a table is the same every time it is made); two
methods scored on the same cases are compared by a paired bootstrap of their per-case differences, which is
tighter than comparing their intervals, since the cases' own difficulty cancels.
"""

from __future__ import annotations

import numpy as np

RESAMPLES = 1000  # bootstrap resamples per interval; recorded in every summary row
LEVEL = 0.95


def defined(values: list) -> np.ndarray:
    """The values that are numbers (None and NaN left out), as float64."""
    kept = [float(v) for v in values if v is not None and not np.isnan(v)]
    return np.asarray(kept, np.float64)


def _draws(n: int, seed: int, resamples: int) -> np.ndarray:
    """`resamples` x `n` case indices drawn with replacement: the same draws for the same (n, seed)."""
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def _percentiles(means: np.ndarray) -> tuple[float, float]:
    tail = (1 - LEVEL) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return float(lo), float(hi)


def bootstrap_interval(values: np.ndarray, seed: int, resamples: int = RESAMPLES) -> tuple[float, float] | None:
    """The 95% percentile-bootstrap interval of the mean of `values`; None when there are none."""
    if values.size == 0:
        return None
    return _percentiles(values[_draws(values.size, seed, resamples)].mean(axis=1))


def clearly_worse(candidate: np.ndarray, best: np.ndarray, higher_is_better: bool, seed: int,
                  resamples: int = RESAMPLES) -> bool:
    """Whether `candidate` is worse than `best` beyond noise, both scored on the same cases (paired arrays): the
    95% bootstrap interval of the mean per-case difference lies wholly on the worse side of zero."""
    if candidate.size == 0:
        return False
    gain = (candidate - best) if higher_is_better else (best - candidate)  # > 0: the candidate is better
    _, hi = _percentiles(gain[_draws(gain.size, seed, resamples)].mean(axis=1))
    return hi < 0
