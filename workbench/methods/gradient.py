"""Gradient methods: attributions from gradients of the target score with respect to the input."""

from __future__ import annotations

import numpy as np

from workbench.methods.base import Cost, Method, Param
from workbench.methods.common import baseline_for, baseline_param, chunk_size, chunks


def magnitude(grads: np.ndarray) -> np.ndarray:
    """|gradient|, the largest over the channels (Simonyan et al. 2014): one unsigned map per item."""
    return np.abs(grads).max(axis=1)


class Saliency(Method):
    id = "saliency"
    name = "Saliency"
    what_it_shows = ("How strongly a tiny change of each pixel would change the class score: the magnitude "
                     "of the score's gradient (Simonyan et al. 2014).")
    watch_out = ("Noisy and unsigned: it says where the score is sensitive, not whether a pixel raises or "
                 "lowers it, and sensitivity is not evidence.")
    family = "gradient"
    signed = False

    def cost(self, model, x, params) -> Cost:
        return Cost(forward=1, backward=1)

    def _compute(self, model, x, target, params, rng):
        return magnitude(model.input_gradients(x, target))[0], {}


class SmoothGrad(Method):
    id = "smoothgrad"
    stochastic = True
    name = "SmoothGrad"
    what_it_shows = ("The gradient averaged over noisy copies of the input, shown as its magnitude "
                     "(Smilkov et al. 2017): the saliency map with the speckle averaged out.")
    watch_out = ("Still a gradient: it smooths sensitivity, it does not make it evidence; at few samples "
                 "it changes with the seed.")
    family = "gradient"
    signed = False

    def params(self, model):
        return [Param("samples", "int", 25, "Noisy copies averaged; more = smoother and slower.", 1, 500),
                Param("noise", "float", 0.15, "Noise standard deviation as a fraction of the input's range "
                      "(max - min); Smilkov et al. found 0.1-0.2 best.", 0.0, 1.0)]

    def quick_params(self, model):
        return {"samples": 3}

    def cost(self, model, x, params) -> Cost:
        return Cost(forward=params["samples"], backward=params["samples"])

    def _compute(self, model, x, target, params, rng):
        sigma = params["noise"] * float(x.max() - x.min())
        total = np.zeros((1, *x.shape[1:]), np.float64)
        for n in chunks(params["samples"], chunk_size(model, x)):  # the noise drawn a chunk at a time: the same draws
            noise = rng.normal(0.0, sigma, (n, *x.shape[1:])).astype(np.float32)
            total += model.input_gradients(x + noise, target).sum(axis=0, keepdims=True, dtype=np.float64)
        return magnitude((total / params["samples"]).astype(np.float32))[0], {"sigma": sigma}


class IntegratedGradients(Method):
    id = "integrated_gradients"
    name = "Integrated Gradients"
    what_it_shows = ("How much each pixel, compared with a baseline input, adds to the class score; "
                     "the map sums to the score difference (completeness).")
    watch_out = ("Depends on the baseline: what the baseline already shares with the input gets no credit "
                 "(a black region in a black baseline scores zero).")
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
        # The path in float32, as Captum builds it: on a piecewise-linear model (ReLU, max-pooling) a
        # float64 path rounds differently, flips a unit at a kink now and then, and that step's gradient jumps.
        avg_grad, start = np.zeros((1, *x.shape[1:]), np.float64), 0
        for n in chunks(params["steps"], chunk_size(model, x)):  # a chunk of the path at a time: memory stays bounded
            step = slice(start, start + n)
            path = baseline + alphas[step].astype(np.float32)[:, None, None, None] * (x - baseline)
            grads = model.input_gradients(path, target)
            avg_grad += (weights[step, None, None, None] * grads).sum(axis=0, keepdims=True)
            start += n
        attribution = ((x - baseline) * avg_grad)[0]
        delta = float(attribution.sum()) - float(np.diff(model.target_scores(
            np.concatenate([baseline, x]), target))[0])
        return attribution.sum(axis=0), {"completeness_error": abs(delta)}


class InputXGradient(Method):
    id = "input_x_gradient"
    name = "Input × Gradient"
    what_it_shows = ("Each pixel's value times the class score's gradient there (Shrikumar et al. 2016): a "
                     "first-order estimate of what the pixel adds to the score against an input of zeros.")
    watch_out = ("Zero in the model's scale is its reference: a pixel at the training data's mean level scores "
                 "nothing however much it matters; as noisy as the gradient.")
    family = "gradient"

    def cost(self, model, x, params) -> Cost:
        return Cost(forward=1, backward=1)

    def _compute(self, model, x, target, params, rng):
        return (x * model.input_gradients(x, target))[0].sum(axis=0), {}


class GradientShap(Method):
    id = "gradient_shap"
    stochastic = True
    name = "GradientSHAP"
    what_it_shows = ("Expected gradients (Lundberg and Lee 2017): (input - baseline) times the gradient at a "
                     "random point between them, averaged over noisy copies of the baseline; an estimate of "
                     "SHAP values that add up to score(input) - mean score(baselines).")
    watch_out = ("A Monte-Carlo estimate: at few samples it changes with the seed, and like IG it answers "
                 "'compared with the baseline'.")
    family = "gradient"

    def params(self, model):
        return [Param("samples", "int", 20, "Random (baseline, point on the path) pairs averaged; more = a "
                      "steadier estimate.", 1, 500),
                Param("noise", "float", 0.1, "Standard deviation of the noise added to each baseline copy, as a "
                      "fraction of the input's range (max - min).", 0.0, 1.0),
                baseline_param("black", "Reference input the noisy baselines are drawn around.")]

    def quick_params(self, model):
        return {"samples": 3}

    def cost(self, model, x, params) -> Cost:
        return Cost(forward=params["samples"], backward=params["samples"])

    def _compute(self, model, x, target, params, rng):
        reference = baseline_for(model, x, params["baseline"])
        sigma = params["noise"] * float(x.max() - x.min())
        # every point on the path first, then the baselines' noise a chunk at a time: the same draws whatever the chunk
        alphas = rng.uniform(0.0, 1.0, params["samples"]).astype(np.float32)[:, None, None, None]
        total, start = np.zeros((1, *x.shape[1:]), np.float64), 0
        for n in chunks(params["samples"], chunk_size(model, x)):
            baselines = reference + rng.normal(0.0, sigma, (n, *x.shape[1:])).astype(np.float32)
            grads = model.input_gradients(baselines + alphas[start:start + n] * (x - baselines), target)
            total += ((x - baselines) * grads).sum(axis=0, keepdims=True, dtype=np.float64)
            start += n
        return (total / params["samples"])[0].sum(axis=0), {"sigma": sigma}
