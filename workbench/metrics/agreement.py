"""Agreement between methods: do two maps of the same input rank the same points first?"""

from __future__ import annotations

import numpy as np

from workbench import masks
from workbench.metrics.localisation import top_fraction


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
