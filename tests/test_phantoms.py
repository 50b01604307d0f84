"""The phantom generator: deterministic, balanced, with subtle lesions and matching masks."""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

from workbench.data import phantoms


def test_same_seed_same_case_and_other_seeds_differ():
    a = phantoms.make_phantom(3, "train", 7)
    b = phantoms.make_phantom(3, "train", 7)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.mask, b.mask)
    c = phantoms.make_phantom(3, "test", 7)
    assert np.abs(a.image - c.image).mean() > 0.01, "splits must not share images"


def test_dataset_is_balanced_and_masks_follow_labels():
    images, masks, labels = phantoms.make_dataset(40, seed=1, split="val")
    assert images.shape == (40, 128, 128) and images.dtype == np.float32
    assert 0 <= images.min() and images.max() <= 1
    assert labels.sum() == 20
    assert not masks[labels == 0].any()
    lesion_px = masks[labels == 1].reshape(20, -1).sum(1)
    assert (lesion_px > 0).all()
    assert lesion_px.min() < 150 < lesion_px.max(), "sizes from small nodules to larger opacities"


def test_lesions_are_subtle():
    """A lesion raises its pixels by about as much as a rib does, not by a glaring amount."""
    rises = []
    for i in range(20):
        case = phantoms.make_phantom(0, "test", i, label=1)
        ring = ndimage.binary_dilation(case.mask, iterations=4) & ~case.mask
        rises.append(case.image[case.mask].mean() - case.image[ring].mean())
    assert 0.03 < np.median(rises) < 0.25


def test_sample_files_are_the_generator_output(samples_dir):
    img = np.asarray(Image.open(samples_dir / "affected_01.png"), np.float32) / 255
    case = phantoms.make_phantom(0, "sample", 1, label=1)
    assert np.abs(img - case.image).max() <= 0.5 / 255 + 1e-6
    mask = np.asarray(Image.open(samples_dir / "affected_01_mask.png")) > 127
    np.testing.assert_array_equal(mask, case.mask)


def test_counterfactual_twin_differs_only_near_the_lesions():
    """Same anatomy, contrast, blur and noise: equal outside the mask dilated by the lesions' faint
    halo and the blur kernel (16 px), different on the lesions themselves."""
    full = np.ones((3, 3), bool)
    for i in range(30):
        case = phantoms.make_phantom(0, "test", i, label=1)
        twin = phantoms.make_phantom(0, "test", i, label=1, twin=True)
        np.testing.assert_array_equal(case.mask, twin.mask)
        near = ndimage.binary_dilation(case.mask, full, iterations=16)
        np.testing.assert_array_equal(case.image[~near], twin.image[~near])
        assert (case.image - twin.image)[case.mask].mean() > 0.02, "the lesion is what the twin lacks"
    normal = phantoms.make_phantom(0, "test", 1, label=0)
    np.testing.assert_array_equal(normal.image, phantoms.make_phantom(0, "test", 1, label=0, twin=True).image)


def test_the_bundled_model_relies_on_the_lesions(bundled):
    from workbench.evaluation.reliance import lesion_reliance

    result = lesion_reliance(bundled, n=24)
    assert result["detected"] >= 0.85
    assert result["twin_negative_when_detected"] >= 0.9 and result["mean_probability_drop"] >= 0.8
