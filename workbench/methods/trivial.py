"""Trivial maps as methods: what a score means only beside them.

Each reads the input (or nothing) and never the model: zero passes. Published benchmarks found saliency methods
that do no better than an edge detector or a random map, and the pointing game's authors report a centre-point
prior beside every method; a table that lists these rows says how much of a method's score its model earned
(the evaluation's lift column: a method's score minus the best of these).
"""

from __future__ import annotations

import numpy as np

from workbench.methods.base import Cost, Method, Param
from workbench.methods.superpixels import as_image01
from workbench.models import ModelAdapter


def brightness(model: ModelAdapter, x: np.ndarray) -> np.ndarray:
    """The input as the user sees it ([0, 1]), averaged over channels (H x W): for audio, the scaled log-mel's level."""
    return as_image01(model, x).mean(axis=-1)


class TrivialMap(Method):
    """A map that no model pass made: zero cost, unsigned, for every task and framework."""

    family = "baseline"
    signed = False

    def cost(self, model, x, params) -> Cost:
        return Cost(forward=0, backward=0)


class RandomMap(TrivialMap):
    id = "baseline_random"
    name = "Baseline: random map"
    what_it_shows = ("Uniform noise drawn from the seed, one value per point: chance. A method that scores no "
                     "better than this has found nothing about the model.")
    watch_out = "A chance level, not an explanation: its scores are what luck gets on these cases."
    stochastic = True

    def _compute(self, model, x, target, params, rng):
        return rng.random(x.shape[-2:]), {}


class CentreMap(TrivialMap):
    id = "baseline_centre"
    name = "Baseline: centre prior"
    what_it_shows = ("A Gaussian centred on the input, whatever the input: the centre-point prior the pointing "
                     "game's authors report beside every method. Where the evidence tends to lie near the centre, "
                     "it scores well without looking at anything.")
    watch_out = "Scores what the data's layout gives for free, not what the model learnt."

    def params(self, model) -> list[Param]:
        return [Param("sigma", "float", 0.25, "Spread as a share of the input's height and width.", 0.01, 2.0)]

    def _compute(self, model, x, target, params, rng):
        h, w = x.shape[-2:]
        rows = (np.arange(h) - (h - 1) / 2) / (params["sigma"] * h)
        cols = (np.arange(w) - (w - 1) / 2) / (params["sigma"] * w)
        return np.exp(-0.5 * (rows[:, None] ** 2 + cols[None, :] ** 2)), {}


class IntensityMap(TrivialMap):
    id = "baseline_intensity"
    name = "Baseline: input intensity"
    what_it_shows = ("The input itself as relevance: its brightness (for audio, the loudness of each time and "
                     "frequency). Where the evidence is brighter than its surroundings, as a nodule on a lung, "
                     "this already points at it.")
    watch_out = "Bright is not important: a method that only matches this has shown the input, not the model."

    def _compute(self, model, x, target, params, rng):
        return brightness(model, x), {}


class EdgeMap(TrivialMap):
    id = "baseline_edges"
    name = "Baseline: edges (Sobel)"
    what_it_shows = ("The Sobel gradient magnitude of the input's brightness: an edge detector. Gradient maps "
                     "often look like this whatever the model; the randomisation check was made to catch that.")
    watch_out = "Edges are where gradients are large in any network: a method close to this may not explain much."

    def _compute(self, model, x, target, params, rng):
        from scipy import ndimage

        level = brightness(model, x)
        return np.hypot(ndimage.sobel(level, axis=0), ndimage.sobel(level, axis=1)), {}
