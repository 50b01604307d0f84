"""Mask overlap and distance measures against hand computations and a brute-force reference."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial.distance import cdist
from skimage.segmentation import find_boundaries

from workbench import masks


def square(top: int, left: int, side: int, shape=(64, 64)) -> np.ndarray:
    out = np.zeros(shape, bool)
    out[top:top + side, left:left + side] = True
    return out


def test_dice_and_iou_of_two_shifted_squares_by_hand():
    a, b = square(10, 10, 10), square(10, 15, 10)  # 100 px each, overlap 5 x 10 = 50
    assert masks.dice(a, b) == pytest.approx(2 * 50 / 200)
    assert masks.iou(a, b) == pytest.approx(50 / 150)


def test_distances_of_a_shifted_square_by_hand():
    """Shifting a 10 px square by 3 px: contour points on the two moved sides are 3 px away, those on the
    top and bottom rows 0 to 3 px; the largest distance is 3, so HD95 is at most 3 and ASSD below it."""
    a, b = square(20, 20, 10), square(20, 23, 10)
    assert masks.hd95(a, b) == pytest.approx(3.0)
    assert 0 < masks.assd(a, b) < 3
    assert masks.hd95(a, a) == 0 and masks.assd(a, a) == 0


def test_boundary_iou_forgives_nothing_on_edges():
    """A big square against the same square shrunk by 1 px: IoU stays above 0.9, but the two 1 px
    contour bands do not overlap at all, so Boundary IoU is 0."""
    a = square(10, 10, 40)
    b = square(11, 11, 38)
    assert masks.iou(a, b) > 0.9
    assert masks.boundary_iou(a, b, ratio=1 / np.hypot(64, 64)) == pytest.approx(0.0)
    assert masks.boundary_iou(a, a) == 1.0


def blob(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.normal(size=(80, 80)), 4)
    out = field > np.quantile(field, 0.75)
    out[:6], out[-6:], out[:, :6], out[:, -6:] = False, False, False, False  # away from the border
    return out


@pytest.mark.parametrize("seed", range(5))
def test_surface_distances_match_brute_force_on_random_blobs(seed):
    """Reference: contour pixels from scikit-image, all pairwise distances by scipy's cdist."""
    a, b = blob(seed), blob(seed + 100)
    pa = np.argwhere(find_boundaries(a, connectivity=1, mode="inner"))
    pb = np.argwhere(find_boundaries(b, connectivity=1, mode="inner"))
    d = cdist(pa, pb)
    both = np.concatenate([d.min(1), d.min(0)])
    assert masks.hd95(a, b) == pytest.approx(np.percentile(both, 95))
    assert masks.assd(a, b) == pytest.approx(both.mean())


def test_empty_masks_follow_the_stated_conventions():
    empty, some = np.zeros((8, 8), bool), square(2, 2, 3, (8, 8))
    assert masks.dice(empty, empty) == 1 and masks.hd95(empty, empty) == 0 and masks.assd(empty, empty) == 0
    assert masks.dice(empty, some) == 0
    assert np.isnan(masks.hd95(empty, some)) and np.isnan(masks.assd(some, empty))


def test_components_are_eight_connected_and_largest_first():
    m = np.zeros((10, 10), bool)
    m[0, 0] = m[1, 1] = True  # diagonal neighbours: one component
    m[5:8, 5:8] = True
    parts = masks.components(m)
    assert [int(p.sum()) for p in parts] == [9, 2]
    assert parts[1][0, 0] and parts[1][1, 1]
