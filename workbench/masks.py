"""Overlap and distance between two binary masks: Dice, IoU, Boundary IoU, ASSD and HD95.

Written here because no library we install has all of them on 2-D masks. They score segmentation
models against ground truth, and (binarised) explanations against ground-truth masks. Conventions:
both masks empty -> perfect agreement (Dice 1, distances 0); exactly one empty -> Dice 0 and
distances NaN (undefined, left out of averages and reported as such).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

_CROSS = ndimage.generate_binary_structure(2, 1)


def dice(a: np.ndarray, b: np.ndarray) -> float:
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int((a & b).sum()) / total


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = int((a | b).sum())
    return 1.0 if union == 0 else int((a & b).sum()) / union


def boundary_band(mask: np.ndarray, width: int) -> np.ndarray:
    """Pixels of `mask` within `width` px of its contour (the mask minus its erosion by `width`);
    the image border does not count as contour."""
    eroded = ndimage.binary_erosion(mask, _CROSS, iterations=width, border_value=1)
    return mask & ~eroded


def boundary_iou(a: np.ndarray, b: np.ndarray, ratio: float = 0.02) -> float:
    """Boundary IoU (Cheng et al., 2021): IoU of the bands of width `ratio` x image diagonal inside
    each mask's contour. Unlike IoU it does not forgive wrong edges on large objects."""
    width = max(1, int(round(ratio * float(np.hypot(*a.shape)))))
    return iou(boundary_band(a, width), boundary_band(b, width))


def surface(mask: np.ndarray) -> np.ndarray:
    """The mask's contour pixels (4-connected erosion; the image border does not count)."""
    return mask & ~ndimage.binary_erosion(mask, _CROSS, border_value=1)


def surface_distances(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distances (px) from each contour pixel of `a` to the nearest of `b`, and from `b` to `a`."""
    sa, sb = surface(a), surface(b)
    return ndimage.distance_transform_edt(~sb)[sa], ndimage.distance_transform_edt(~sa)[sb]


def _symmetric(a: np.ndarray, b: np.ndarray, reduce) -> float:
    """`reduce` over both directions' surface distances: 0 when both masks are empty, NaN when one is."""
    has_a, has_b = bool(a.any()), bool(b.any())
    if not (has_a or has_b):
        return 0.0
    if not (has_a and has_b):
        return float("nan")
    return float(reduce(np.concatenate(surface_distances(a, b))))


def assd(a: np.ndarray, b: np.ndarray) -> float:
    """Average symmetric surface distance (px)."""
    return _symmetric(a, b, np.mean)


def hd95(a: np.ndarray, b: np.ndarray) -> float:
    """95th percentile of the symmetric surface distances (px), robust to a few stray pixels."""
    return _symmetric(a, b, lambda d: np.percentile(d, 95))


def components(mask: np.ndarray) -> list[np.ndarray]:
    """The mask's 8-connected components, largest first."""
    labelled, n = ndimage.label(mask, np.ones((3, 3), bool))
    parts = [labelled == k for k in range(1, n + 1)]
    return sorted(parts, key=lambda m: -int(m.sum()))
