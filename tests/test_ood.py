"""Out-of-distribution check: the statistics' math, and on the bundled model held-out phantoms are
in while inputs that are not phantoms (made here) are out."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.distance import mahalanobis

from workbench.data import phantoms, probes
from workbench.models import FeatureStats
from workbench.models.ood import pooled

N = 40


def test_pooled_features_are_channel_means_and_deviations():
    a = np.random.default_rng(0).normal(0, 1, (3, 4, 5, 6)).astype(np.float32)
    b = np.random.default_rng(1).normal(0, 1, (3, 2, 7, 7)).astype(np.float32)
    t, u = torch.from_numpy(a).double(), torch.from_numpy(b).double()
    want = torch.cat([t.mean((2, 3)), t.std((2, 3)), u.mean((2, 3)), u.std((2, 3))], 1).numpy()
    np.testing.assert_allclose(pooled([a, b]), want, rtol=1e-10)


def test_distance_is_the_mahalanobis_distance_and_survives_a_save(tmp_path):
    rng = np.random.default_rng(0)
    fit = rng.normal(0, 1, (300, 5)) @ rng.normal(0, 1, (5, 5)) + 3
    held_out = rng.normal(0, 1, (100, 5)) @ rng.normal(0, 1, (5, 5)) + 3
    stats = FeatureStats.fit(("a", "b"), fit, held_out)
    probe = rng.normal(0, 2, (4, 5))
    want = [mahalanobis(p / stats.scale, stats.mean / stats.scale, stats.precision) for p in probe]
    np.testing.assert_allclose(stats.distance(probe), want, rtol=1e-8)
    assert np.mean(stats.scores(held_out) <= 1) == pytest.approx(0.99, abs=0.011)
    stats.save(tmp_path)
    loaded = FeatureStats.load(tmp_path)
    assert loaded.layers == ("a", "b") and loaded.threshold == stats.threshold
    np.testing.assert_allclose(loaded.distance(probe), stats.distance(probe), rtol=1e-5)
    assert FeatureStats.load(tmp_path / "absent") is None


def _scores(model, images: np.ndarray) -> np.ndarray:
    x = model.info.input.normalize(images[:, None].astype(np.float32))
    return model.feature_stats.scores(model.features(x, model.feature_stats.layers))


def test_held_out_phantoms_are_in_distribution(bundled):
    images = phantoms.make_dataset(2 * N, seed=1, split="test")[0]  # never used to fit or threshold
    assert np.mean(_scores(bundled, images) <= 1) >= 0.95


@pytest.mark.parametrize("kind", probes.KINDS)
def test_inputs_that_are_not_phantoms_are_out(bundled, kind):
    images = probes.make_probes(kind, phantoms.make_dataset(N, seed=1, split="test")[0], seed=5)
    assert images.shape == (N, 128, 128) and 0 <= images.min() and images.max() <= 1
    assert (_scores(bundled, images) > 1).all()
