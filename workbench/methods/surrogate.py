"""Surrogate methods: switch superpixels on and off, score each copy, fit what each feature adds.

LIME goes through the `lime` package and Kernel SHAP through `shap`; we give both our superpixels
(methods/superpixels.py) and one batched, counted scoring function. The libraries never see an image:
each perturbation is a row of M on/off values (for lime, an image of M pixels with one segment per
pixel, so its own per-sample loop stays cheap), and we compose the copies of the input in chunks and
score them through the adapter. What they fit is unchanged: lime's sampling, kernel and ridge
regression, and shap's coalition sampling and constrained regression.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator

import numpy as np

from workbench.methods.base import Cost, Method, Param
from workbench.methods.common import baseline_for, baseline_param, chunk_size
from workbench.methods.superpixels import compose, segment, superpixel_params


class _ThreadRandom:
    """numpy as shap's kernel module sees it: its `np.random` is the running thread's own RandomState during a
    Kernel SHAP run here, numpy's global one otherwise. shap draws coalitions from `np.random.choice` and
    `np.random.permutation`; a RandomState seeded with s draws what the global state seeded with s would, so the
    maps are those of `np.random.seed(s)`, while no process-wide state is reseeded and no lock is held."""

    def __init__(self, numpy) -> None:
        self._numpy = numpy
        self._local = threading.local()

    def __getattr__(self, name: str):
        if name == "random":
            state = getattr(self._local, "state", None)
            return self._numpy.random if state is None else state
        return getattr(self._numpy, name)

    @contextlib.contextmanager
    def seeded(self, seed: int) -> Iterator[None]:
        self._local.state = np.random.RandomState(seed)
        try:
            yield
        finally:
            self._local.state = None


@functools.cache
def _shap_random() -> _ThreadRandom:
    """Installed once in shap's kernel module (the first Kernel SHAP run)."""
    from shap.explainers import _kernel

    _kernel.np = _ThreadRandom(np)
    return _kernel.np


@functools.cache
def _lime_image():
    """lime's image module with its per-sample progress bar (tqdm, on stderr) off, patched once."""
    from lime import lime_image

    lime_image.tqdm = functools.partial(lime_image.tqdm, disable=True)
    return lime_image


def library_seed(rng: np.random.Generator) -> int:
    """The integer seed a library's own random state is started from, drawn from the explanation's rng."""
    return int(rng.integers(2**31 - 1))


def feature_scores(model, x: np.ndarray, baseline: np.ndarray, segments: np.ndarray, target, on: np.ndarray):
    """The target score of every on/off row, the copies composed and scored a memory-bounded chunk at a time."""
    step = chunk_size(model, x)
    return np.concatenate([model.target_scores(compose(x, baseline, segments, on[i:i + step]), target)
                           for i in range(0, len(on), step)]).astype(np.float64)


class SuperpixelMethod(Method):
    family = "perturbation"
    stochastic = True  # the superpixel coalitions are drawn from the seed
    samples_help: str

    def params(self, model):
        return [Param("samples", "int", 1000, self.samples_help, 2, 20000), *superpixel_params(model),
                baseline_param("black", "What a switched-off superpixel shows instead of the input.")]

    def quick_params(self, model):
        return {"samples": 12, "superpixels": "grid", "superpixel_size": 16}

    def segments(self, model, x, params) -> np.ndarray:
        return segment(model, x, params["superpixels"], params["superpixel_size"])


class Lime(SuperpixelMethod):
    id = "lime"
    name = "LIME"
    what_it_shows = ("What each superpixel adds to the class score in a weighted linear model fitted to "
                     "copies of the input with random superpixels switched off (Ribeiro et al. 2016).")
    watch_out = ("A local linear fit on random samples: at few samples the map changes with the seed; its "
                 "detail is that of the superpixels.")
    samples_help = "Perturbed copies scored (lime's num_samples); more = a steadier fit."

    def params(self, model):
        return [*super().params(model),
                Param("kernel_width", "float", 0.25, "Width of lime's exponential kernel on the cosine distance "
                      "to the input: smaller = only copies close to the input count.", 0.01, 10.0)]

    def cost(self, model, x, params) -> Cost:
        return Cost(forward=params["samples"], backward=0)

    def _compute(self, model, x, target, params, rng):
        lime_image = _lime_image()
        segments = self.segments(model, x, params)
        n = int(segments.max()) + 1
        baseline = baseline_for(model, x, params["baseline"])

        def classifier(images: np.ndarray) -> np.ndarray:  # N x 1 x n x 3 images of on (1) / off (0) pixels
            return feature_scores(model, x, baseline, segments, target, images[:, 0, :, 0] > 0.5)[:, None]

        seed = library_seed(rng)
        explainer = lime_image.LimeImageExplainer(kernel_width=params["kernel_width"], random_state=seed)
        result = explainer.explain_instance(
            np.ones((1, n, 3)), classifier, labels=(0,), hide_color=0, top_labels=None,
            num_samples=params["samples"], batch_size=params["samples"],
            segmentation_fn=lambda _image: np.arange(n)[None, :], random_seed=seed)
        weights = np.zeros(n)
        for feature, weight in result.local_exp[0]:
            weights[feature] = weight
        return weights[segments], {"superpixels": n, "fit_r2": round(float(result.score), 4),
                                   "intercept": float(result.intercept[0]), "library_seed": seed}


class KernelShap(SuperpixelMethod):
    id = "kernel_shap"
    name = "Kernel SHAP"
    what_it_shows = ("Each superpixel's Shapley value: its average contribution to the class score over "
                     "coalitions of superpixels, the rest showing the baseline (Lundberg and Lee 2017). The "
                     "values add up to score(input) - score(baseline).")
    watch_out = ("The values answer 'compared with the baseline': another baseline gives other values; with "
                 "fewer samples than coalitions they are estimates.")
    samples_help = ("Coalitions scored (shap's nsamples); all 2^M - 2 when that is fewer, and then the values "
                    "are exact.")

    def cost(self, model, x, params) -> Cost:
        n = int(self.segments(model, x, params).max()) + 1
        sampled = min(params["samples"], 2**n - 2) if n > 1 else 0
        return Cost(forward=sampled + 2, backward=0)  # + the input and the baseline

    def _compute(self, model, x, target, params, rng):
        import shap

        segments = self.segments(model, x, params)
        n = int(segments.max()) + 1
        baseline = baseline_for(model, x, params["baseline"])

        def f(rows: np.ndarray) -> np.ndarray:
            return feature_scores(model, x, baseline, segments, target, rows > 0.5)

        seed = library_seed(rng)
        with _shap_random().seeded(seed):
            explainer = shap.KernelExplainer(f, np.zeros((1, n)))
            values = explainer.shap_values(np.ones((1, n)), nsamples=params["samples"], l1_reg=False, silent=True)
        values = np.asarray(values, np.float64).reshape(n)
        base = float(np.ravel(explainer.expected_value)[0])
        return values[segments], {"superpixels": n, "expected_value": base,
                                  "score_gap": float(values.sum()), "library_seed": seed}
