"""Localisation metrics: does the explanation point where the ground truth says the evidence is?

Each scores a batch of maps against a batch of truths (`score_maps`, N x H x W each); `score` is
the one-explanation case. Overlap metrics binarise the map first: its top k% points (default 10%),
or Otsu's threshold; `iou_sweep` gives the whole curve of IoU against k.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from workbench import masks
from workbench.metrics.base import MapMetric

THRESHOLDS = ("top_k", "otsu")
MEASURE_NAMES = {"iou": "IoU", "dice": "Dice", "hd95": "HD95"}
TIE_SEED = 0  # the tie order of the overlap metrics, which see maps without their explanation's seed


def descending(maps: np.ndarray, seed: int = TIE_SEED) -> np.ndarray:
    """Each row's flat indices, highest value first; tied points in an order drawn from `seed`. A stable sort
    would take a plateau (a CAM's zeros after ReLU, a LIME tile) top row first, so a score would measure where
    in the image the truth lies, not the map."""
    shuffled = np.random.default_rng(seed).permutation(maps.shape[1])
    return shuffled[np.argsort(-maps[:, shuffled], axis=1, kind="stable")]


def top_fraction(maps: np.ndarray, fraction: float) -> np.ndarray:
    """Each map's round(fraction x H x W) highest points (at least one; ties: as `descending` orders them)."""
    n, size = len(maps), maps[0].size
    k = min(size, max(1, int(round(fraction * size))))
    order = descending(maps.reshape(n, size))[:, :k]
    out = np.zeros((n, size), bool)
    np.put_along_axis(out, order, True, axis=1)
    return out.reshape(maps.shape)


def otsu(maps: np.ndarray) -> np.ndarray:
    """Each map above its own Otsu threshold (a constant map: nothing)."""
    from skimage.filters import threshold_otsu

    return np.stack([m > threshold_otsu(m) if m.max() > m.min() else np.zeros(m.shape, bool) for m in maps])


def binarise(maps: np.ndarray, threshold: str = "top_k", k_percent: float = 10.0) -> np.ndarray:
    if threshold == "top_k":
        return top_fraction(maps, k_percent / 100)
    if threshold == "otsu":
        return otsu(maps)
    raise ValueError(f"threshold must be one of {THRESHOLDS}, not {threshold!r}")


def iou_sweep(maps: np.ndarray, truths: np.ndarray, k_percents=tuple(range(1, 51))) -> np.ndarray:
    """IoU of each map's top-k% against its truth, for every k (N x len(k_percents)), from one sort per map:
    the top n points hold cumsum(truth in rank order)[n - 1] truth points."""
    n, size = len(maps), maps[0].size
    order = descending(maps.reshape(n, size))
    hits = np.cumsum(np.take_along_axis(truths.reshape(n, size), order, axis=1), axis=1)
    counts = np.array([min(size, max(1, int(round(k / 100 * size)))) for k in k_percents])
    inside = hits[:, counts - 1]
    return inside / (counts[None, :] + truths.reshape(n, size).sum(1, keepdims=True) - inside)


class PointingGame(MapMetric):
    """Zhang et al. (2018): a hit when the map's maximum falls on the truth, allowed a margin of
    `tolerance` pixels (a coarse CAM cell blurs a small lesion over about that much)."""

    id = "pointing_game"
    name = "Pointing game"
    what_it_measures = ("1 when the map's strongest point lies on the ground truth, else 0 (several equal strongest "
                        "points: the share of them on it).")
    category = "localisation"
    higher_is_better = True

    def __init__(self, tolerance: int = 4) -> None:
        self.tolerance = tolerance

    def score_maps(self, maps, truths):
        """Where several points share the maximum (a plateau: LIME's and SHAP's segments, a saturated map),
        the expected hit over a fair choice among them: the share of them on the truth. Picking the first
        in row-major order instead would score a plateau by its top-left corner."""
        hits = []
        for m, t in zip(maps, truths):
            region = ndimage.binary_dilation(t, iterations=self.tolerance) if self.tolerance else t
            hits.append(float(region[m == m.max()].mean()))
        return np.array(hits)


class RelevanceRankAccuracy(MapMetric):
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

    def score_maps(self, maps, truths):
        """Points tied with the K-th highest value share the places left after the points above it: each
        counts in proportion (the expected score over a fair choice among them), so a plateau that
        straddles the truth's edge scores what its share on the truth says, not its row-major order."""
        flat, on = maps.reshape(len(maps), -1), truths.reshape(len(maps), -1)
        out = []
        for m, t in zip(flat, on):
            k = int(t.sum())
            kth = np.partition(m, m.size - k)[m.size - k]  # the K-th highest value
            above, tied = m > kth, m == kth
            share_tied = t[tied].mean()
            out.append((t[above].sum() + (k - above.sum()) * share_tied) / k)
        return np.array(out)


class EnergyPointingGame(MapMetric):
    """Wang et al. (2020, Score-CAM): the share of the map's positive relevance that lies on the truth."""

    id = "energy_pointing_game"
    name = "Energy pointing game"
    what_it_measures = "The share of the map's positive relevance inside the ground truth (1 = all of it)."
    category = "localisation"
    higher_is_better = True

    def score_maps(self, maps, truths):
        positive = np.maximum(maps, 0).reshape(len(maps), -1).astype(np.float64)
        total = positive.sum(1)
        inside = (positive * truths.reshape(len(maps), -1)).sum(1)
        return np.divide(inside, total, out=np.zeros_like(total), where=total > 0)


class ThresholdedOverlap(MapMetric):
    """IoU, Dice or HD95 between the binarised map and the truth."""

    category = "localisation"

    def __init__(self, measure: str, threshold: str = "top_k", k_percent: float = 10.0) -> None:
        self.measure, self.threshold, self.k_percent = measure, threshold, k_percent
        self.id = measure if threshold == "top_k" else f"{measure}_{threshold}"
        top = f"top {k_percent:g}%"
        self.name = f"{MEASURE_NAMES[measure]} ({top if threshold == 'top_k' else 'Otsu'})"
        cut = top if threshold == "top_k" else "part above Otsu's threshold"
        self.higher_is_better = measure != "hd95"
        self.unit = "px" if measure == "hd95" else "0 to 1"
        self.what_it_measures = {
            "iou": f"Overlap (intersection over union) of the map's {cut} with the ground truth.",
            "dice": f"Dice overlap of the map's {cut} with the ground truth.",
            "hd95": f"95th-percentile distance (px) between the contours of the map's {cut} and the ground truth.",
        }[measure]

    def score_maps(self, maps, truths):
        fn = {"iou": masks.iou, "dice": masks.dice, "hd95": masks.hd95}[self.measure]
        return np.array([fn(b, t) for b, t in zip(binarise(maps, self.threshold, self.k_percent), truths)])


class BestIoU(MapMetric):
    id = "best_iou"
    name = "Best IoU (sweep)"
    what_it_measures = "The highest IoU with the ground truth over the map's top 1%, 2%, ... 50%."
    category = "localisation"
    higher_is_better = True

    def score_maps(self, maps, truths):
        return iou_sweep(maps, truths).max(axis=1)
