"""Intrinsic explanations: what a model reports about its own decision, read from its layers.

Unlike the post-hoc families these are part of the model: they are only as faithful as its training
made them, which is why they are scored against the ground truth like every other map.
"""

from __future__ import annotations

import numpy as np

from workbench.methods.base import Cost, Method


def step_columns(steps: int, width: int) -> np.ndarray:
    """The step each of `width` input columns belongs to: step t of T covers the t-th T-th of the
    input's time, the rule by which the steps were trained (`GroundTruth.as_mask` on a 1 x T grid)."""
    return np.minimum(((np.arange(width) + 0.5) * steps / width).astype(int), steps - 1)


class StepScores(Method):
    id = "step_scores"
    name = "Step scores (the model's own)"
    what_it_shows = ("The model's own score for each time step, from its head: the log-odds that the step "
                     "belongs to the class its config names (for the audio detectors, that the step is "
                     "spoofed), signed toward the explained class. The verdict is computed from these "
                     "scores' mean and maximum, and training fitted them to the spoofed span, so they "
                     "say when; they cannot say which frequencies. Offered for models whose config names "
                     "their step-score layer (the bundled audio detectors).")
    watch_out = "Only as faithful as the training of its head; it cannot say which frequencies matter."
    family = "intrinsic"
    modalities = ("audio",)
    output_kinds = ("classification",)

    def incompatibility(self, task, model) -> str | None:
        if model.info.step_scores is None:
            return "the model has no per-step head: its config names no step-score layer."
        return super().incompatibility(task, model)

    def cost(self, model, x, params) -> Cost:
        return Cost(forward=1, backward=0)

    def _compute(self, model, x, target, params, rng):
        config = model.info.step_scores
        _, (scores,) = model.outputs_and_activations(x, [config.layer])
        logits = np.asarray(scores, np.float64).reshape(-1)
        toward = 1.0 if model.info.labels[target.class_index] == config.positive else -1.0
        h, w = x.shape[-2:]
        heatmap = np.broadcast_to(toward * logits[step_columns(len(logits), w)], (h, w))
        probability = 1 / (1 + np.exp(-logits))
        return heatmap, {"steps": len(logits), "step_positive": config.positive,
                         "step_probabilities": [round(float(p), 4) for p in probability]}
