"""Training-input statistics for the out-of-distribution check, computed by the training code.

Features of training inputs fix the mean and covariance; features of other, held-out inputs
from the same generator fix the threshold (their 99th-percentile distance), so a fresh
training-like input is in distribution 99% of the time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workbench.data import phantoms
from workbench.models import FeatureStats, ModelAdapter, load_model

FEATURE_LAYER = "pool"  # the compact ResNet's pooled penultimate activations


def fit_feature_stats(model: ModelAdapter, fit_x: np.ndarray, held_out_x: np.ndarray,
                      layer: str) -> FeatureStats:
    """Statistics of `layer`'s pooled activations over model inputs (N x C x H x W, model scale)."""
    return FeatureStats.fit(model.features(fit_x, layer), model.features(held_out_x, layer), layer)


def write_feature_stats(folder: str | Path, seed: int = 0, n_fit: int = 2000, n_held_out: int = 500,
                        layer: str = FEATURE_LAYER) -> FeatureStats:
    """Fit on training phantoms, threshold on validation phantoms, save `ood.safetensors`."""
    model = load_model(str(folder))
    spec = model.info.input
    fit = phantoms.make_dataset(n_fit, seed=seed, split="train")[0]
    held_out = phantoms.make_dataset(n_held_out, seed=seed, split="val")[0]
    stats = fit_feature_stats(model, spec.normalize(fit[:, None]), spec.normalize(held_out[:, None]), layer)
    stats.save(folder)
    return stats
