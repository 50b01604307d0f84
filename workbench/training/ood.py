"""Training-input statistics for the out-of-distribution check, computed by the training code.

Features of training inputs (and their left-right flips, which training used as augmentation)
fix the mean and covariance; features of other, held-out inputs from the same generator fix the
threshold (their 99th-percentile distance), so a fresh training-like input is in 99% of the time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workbench.data import phantoms, probes
from workbench.models import FeatureStats, ModelAdapter, load_model

STAGES = ("stem", "layer1", "layer2", "layer3", "layer4")  # the compact ResNet's stages


def fit_feature_stats(model: ModelAdapter, fit_x: np.ndarray, held_out_x: np.ndarray,
                      layers: tuple[str, ...]) -> FeatureStats:
    """Statistics of `layers` over model inputs (N x C x H x W, model scale), flips included."""
    def with_flips(x: np.ndarray) -> np.ndarray:
        return np.concatenate([x, x[..., ::-1]])

    return FeatureStats.fit(layers, model.features(with_flips(fit_x), layers),
                            model.features(with_flips(held_out_x), layers))


def write_feature_stats(folder: str | Path, seed: int = 0, n_fit: int = 2000, n_held_out: int = 500,
                        layers: tuple[str, ...] = STAGES) -> FeatureStats:
    """Fit on training phantoms, threshold on validation phantoms, save `ood.safetensors`."""
    model = load_model(str(folder))
    spec = model.info.input
    fit = phantoms.make_dataset(n_fit, seed=seed, split="train")[0]
    held_out = phantoms.make_dataset(n_held_out, seed=seed, split="val")[0]
    stats = fit_feature_stats(model, spec.normalize(fit[:, None]), spec.normalize(held_out[:, None]), layers)
    stats.save(folder)
    return stats


def evaluate_feature_stats(model_id: str, n: int = 300, seed: int = 1) -> dict:
    """Share of held-out phantoms called in, and of each kind of non-phantom probe called out."""
    model = load_model(model_id)
    stats, spec = model.feature_stats, model.info.input

    def scores(images: np.ndarray) -> np.ndarray:
        return stats.scores(model.features(spec.normalize(images[:, None]), stats.layers))

    held_out = scores(phantoms.make_dataset(n, seed=seed, split="test")[0])
    result = {"model": model_id, "n": n, "seed": seed, "held_out_in": float(np.mean(held_out <= 1)),
              "held_out_score_p99": float(np.quantile(held_out, 0.99))}
    for kind in probes.KINDS:
        s = scores(probes.make_probes(kind, n, seed))
        result[kind] = {"out": float(np.mean(s > 1)), "min_score": float(s.min())}
    return result
