"""Issue 38: the acquisition augmentation and the per-image standardisation layer. Oracles: scipy's Gaussian filter,
the identity (every range collapsed to no change), and an affine change of grey levels computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from workbench.models import nets
from workbench.models.nets.standardize import Standardize
from workbench.training import augment
from workbench.training.recipes import LUNG_SPEC, RECIPES


def test_each_films_blur_is_scipys_gaussian_filter_with_its_own_sigma():
    rng = np.random.default_rng(0)
    x = rng.random((2, 1, 20, 24)).astype(np.float32)
    sigma = torch.tensor([1.0, 0.5])
    out = augment._blur(torch.from_numpy(x), sigma).numpy()
    for i, s in enumerate(sigma.tolist()):  # the kernel's radius is 3 x the largest sigma, edges repeated
        want = gaussian_filter(x[i, 0].astype(np.float64), s, mode="nearest", truncate=3 / s)
        np.testing.assert_allclose(out[i, 0], want, atol=1e-5)


def test_acquisition_with_every_range_collapsed_changes_nothing(monkeypatch):
    identity = {"rotation": 0.0, "zoom": (1.0, 1.0), "shift": 0.0, "gain": (1.0, 1.0), "offset": 0.0,
                "gamma": (1.0, 1.0), "blur": (0.5, 0.5), "blur_share": 0.0, "noise": (0.0, 0.0)}
    monkeypatch.setattr(augment, "ACQUISITION", identity)
    x01 = np.random.default_rng(1).random((3, 1, 32, 32)).astype(np.float32)
    x = torch.from_numpy(LUNG_SPEC.normalize(x01))
    out = augment.augment(x, "acquisition", LUNG_SPEC, torch.Generator().manual_seed(0))
    np.testing.assert_allclose(out.numpy(), x.numpy(), atol=1e-5)


def test_acquisition_keeps_grey_levels_in_range_and_never_mirrors_the_film():
    """A film dark on its left half: after any acquisition change (rotation at most 7 degrees), still darker left."""
    x01 = np.zeros((16, 1, 64, 64), np.float32)
    x01[..., 32:] = 0.8
    x = torch.from_numpy(LUNG_SPEC.normalize(x01))
    out = augment.augment(x, "acquisition", LUNG_SPEC, torch.Generator().manual_seed(3)).numpy() * 0.25 + 0.5
    assert out.min() >= -1e-6 and out.max() <= 1 + 1e-6
    assert (out[..., 8:24].mean(axis=(1, 2, 3)) < out[..., 40:56].mean(axis=(1, 2, 3))).all()


def test_standardisation_gives_zero_mean_unit_std_and_ignores_exposure_and_contrast():
    x = torch.from_numpy(np.random.default_rng(2).normal(0.3, 0.7, (2, 1, 16, 16)).astype(np.float32))
    layer = Standardize()
    out = layer(x)
    np.testing.assert_allclose(out.mean(dim=(1, 2, 3)).numpy(), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(dim=(1, 2, 3), unbiased=False).numpy(), 1, atol=1e-3)
    np.testing.assert_allclose(layer(1.7 * x - 0.4).numpy(), out.numpy(), atol=1e-3)
    flat = layer(torch.full((1, 1, 4, 4), 0.9))
    assert torch.isfinite(flat).all() and flat.abs().max() < 1e-3, "a flat image maps to (about) zeros"


@pytest.mark.parametrize("architecture", ["compact_resnet", "compact_densenet"])
def test_a_standardising_network_gives_the_same_output_for_a_film_at_another_exposure(architecture):
    recipe = next(r for r in RECIPES.values() if r.architecture == architecture and r.arch.get("standardize"))
    net = nets.build(architecture, **recipe.arch).eval()
    x = torch.from_numpy(np.random.default_rng(4).random((1, 1, 64, 64)).astype(np.float32))
    with torch.no_grad():  # the layer's eps (1e-4 against a variance of about 1/12) leaves a 1e-3 relative change
        np.testing.assert_allclose(net(2.0 * x + 0.3).numpy(), net(x).numpy(), rtol=2e-3, atol=1e-4)
