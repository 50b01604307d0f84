"""Gradient methods: attributions from gradients of the target score with respect to the input."""

from __future__ import annotations

import numpy as np

from workbench.methods.base import Cost, Method, Param
from workbench.methods.common import baseline_for, baseline_param


class IntegratedGradients(Method):
    id = "integrated_gradients"
    name = "Integrated Gradients"
    what_it_shows = ("How much each pixel, compared with a baseline input, adds to the class score; "
                     "the map sums to the score difference (completeness).")
    family = "gradient"

    def params(self, model):
        return [Param("steps", "int", 50, "Points on the path from baseline to input "
                      "(Gauss-Legendre); more = closer to exact.", 2, 512),
                baseline_param("black", "Reference input the path starts from.")]

    def quick_params(self, model):
        return {"steps": 4}

    def cost(self, model, x, params) -> Cost:
        return Cost(forward=params["steps"] + 2, backward=params["steps"])

    def _compute(self, model, x, target, params, rng):
        baseline = baseline_for(model, x, params["baseline"])
        nodes, weights = np.polynomial.legendre.leggauss(params["steps"])
        alphas, weights = (nodes + 1) / 2, weights / 2  # Gauss-Legendre on [0, 1]
        path = baseline + alphas[:, None, None, None] * (x - baseline)
        grads = model.input_gradients(path.astype(np.float32), target)
        avg_grad = (weights[:, None, None, None] * grads).sum(axis=0, keepdims=True)
        attribution = ((x - baseline) * avg_grad)[0]
        delta = float(attribution.sum()) - float(np.diff(model.target_scores(
            np.concatenate([baseline, x]), target))[0])
        return attribution.sum(axis=0), {"completeness_error": abs(delta)}
