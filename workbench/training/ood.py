"""Training-input statistics for the out-of-distribution check, computed by the training code.

Features of training inputs (and their left-right flips, when training flips) fix
the mean and covariance; features of other, held-out inputs from the same generator fix the
threshold (their 99th-percentile distance), so a fresh training-like input is in 99% of the time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workbench.data import probes
from workbench.models import FeatureStats, ModelAdapter, load_model
from workbench.training.recipes import Recipe

N_FIT, N_HELD_OUT = 2000, 500  # training inputs the statistics are fitted on, validation ones for the threshold


def fit_feature_stats(model: ModelAdapter, fit_x: np.ndarray, held_out_x: np.ndarray,
                      layers: tuple[str, ...], flips: bool = True) -> FeatureStats:
    """Statistics of `layers` over model inputs (N x C x H x W, model scale), left-right flips included
    when training used them (a spectrogram is never flipped: time does not run backwards)."""
    def with_flips(x: np.ndarray) -> np.ndarray:
        return np.concatenate([x, x[..., ::-1]]) if flips else x

    return FeatureStats.fit(layers, model.features(with_flips(fit_x), layers),
                            model.features(with_flips(held_out_x), layers))


def write_feature_stats(folder: str | Path, recipe: Recipe, seed: int = 0, n_fit: int = N_FIT,
                        n_held_out: int = N_HELD_OUT) -> FeatureStats:
    """Fit on training data, threshold on validation data, save `ood.safetensors`."""
    model = load_model(str(folder))
    fit = recipe.make_dataset(n_fit, seed=seed, split="train")[0]
    held_out = recipe.make_dataset(n_held_out, seed=seed, split="val")[0]
    stats = fit_feature_stats(model, recipe.model_input(fit, model.info.input),
                              recipe.model_input(held_out, model.info.input), recipe.feature_layers,
                              flips=recipe.flips)
    stats.save(folder)
    return stats


def evaluate_feature_stats(model_id: str, recipe: Recipe, n: int = 300, seed: int = 1) -> dict:
    """Share of held-out generated inputs called in, and of each kind of probe called out."""
    model = load_model(model_id)
    stats = model.feature_stats

    def scores(images: np.ndarray) -> np.ndarray:
        return stats.scores(model.features(recipe.model_input(images, model.info.input), stats.layers))

    held_out_images = recipe.make_dataset(n, seed=seed, split="test")[0]
    held_out = scores(held_out_images)
    result = {"model": model_id, "n": n, "seed": seed, "held_out_in": float(np.mean(held_out <= 1)),
              "held_out_score_p99": float(np.quantile(held_out, 0.99))}
    for kind in probes.KINDS:
        s = scores(probes.make_probes(kind, held_out_images, seed))
        result[kind] = {"out": float(np.mean(s > 1)), "min_score": float(s.min())}
    return result
