"""Surrogate methods: switch superpixels on and off, score each copy, fit what each feature adds.

LIME fits with the `lime` package and Kernel SHAP with `shap`; we give both our superpixels
(methods/superpixels.py) and one batched, counted scoring function. The libraries never see an image: each
perturbation is a row of M on/off values, and we compose the copies of the input a batch at a time and score
them through the adapter. What they fit is unchanged: lime's kernel and ridge regression (`LimeBase`, on the
rows lime_image would draw, on antithetic pairs of them, or on orthogonal blocks of rows from the same
distribution), and shap's coalition sampling, which already pairs each sampled coalition with its complement, and
its constrained regression.
"""

from __future__ import annotations

import contextlib
import functools
import math
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


def library_seed(rng: np.random.Generator) -> int:
    """The integer seed a library's own random state is started from, drawn from the explanation's rng."""
    return int(rng.integers(2**31 - 1))


def feature_scores(model, x: np.ndarray, baseline: np.ndarray, segments: np.ndarray, target, on: np.ndarray):
    """The target score of every on/off row, the copies composed a few model batches at a time, just before they
    are scored: not all at once (a thousand 128 x 128 copies are 64 MB, written, then copied again into batches),
    nor one batch a call (each call prepares the model again: its lock, eval mode, frozen weights)."""
    step = max(1, min(chunk_size(model, x), 8 * model.batch_size))
    return np.concatenate([model.target_scores(compose(x, baseline, segments, on[i:i + step]), target)
                           for i in range(0, len(on), step)]).astype(np.float64)


SAMPLINGS = ("library", "paired", "orthogonal")  # LIME's designs, each row drawn from lime_image's distribution


def lime_rows(seed: int, samples: int, n: int, sampling: str) -> np.ndarray:
    """LIME's perturbations, `samples` rows of n on/off superpixels, the input itself (all on) first as in lime_image.
    Every other row has each superpixel on with probability 1/2: for `library` independently, drawn exactly as
    lime_image's `data_labels` draws them from its seed; for `paired`, in antithetic pairs (a row, then its
    complement; the last pair cut short when the count is even), so each superpixel is on in exactly half of the
    pairs' rows, each row still from lime's distribution; for `orthogonal`, in the foldover blocks of an
    orthogonal design (`orthogonal_block`), the last block cut short."""
    state = np.random.RandomState(seed)
    if sampling == "library":
        rows = state.randint(0, 2, samples * n).reshape(samples, n)
        rows[0] = 1
        return rows
    if sampling == "orthogonal":
        from scipy.linalg import hadamard

        design = hadamard(hadamard_order(n))
        blocks = [orthogonal_block(state, design, n) for _ in range(math.ceil((samples - 1) / (2 * len(design))))]
        return np.concatenate([np.ones((1, n), int), *blocks])[:samples]
    drawn = state.randint(0, 2, (samples // 2, n))
    return np.concatenate([np.ones((1, n), int), np.stack([drawn, 1 - drawn], axis=1).reshape(-1, n)])[:samples]


def hadamard_order(n: int) -> int:
    """The smallest power of two with n columns besides its constant one: a Sylvester Hadamard matrix's order."""
    return 1 << int(np.ceil(np.log2(n + 1)))


def orthogonal_block(state: np.random.RandomState, design: np.ndarray, n: int) -> np.ndarray:
    """2m rows of n superpixels on or off: n of the m - 1 balanced columns of `design` (a Sylvester Hadamard matrix
    of order m = `hadamard_order(n)`, made once per run), drawn at random, each with a random sign, its rows
    shuffled, each row followed by its complement (a foldover). A random sign makes every single row uniform over
    all 2^n on/off patterns, lime's own distribution; together the block switches each superpixel on in exactly
    half of its rows and every pair of superpixels together in exactly a quarter (an orthogonal design), so the
    ridge fit's weights do not trade against each other as they do on independent rows, and the foldover keeps any
    two superpixels' interaction out of each one's weight (a resolution IV design)."""
    m = len(design)
    columns = state.choice(np.arange(1, m), size=n, replace=False)
    signs = state.choice((-1, 1), size=n)
    half = design[state.permutation(m)][:, columns] * signs
    return (np.stack([half, -half], axis=1).reshape(2 * m, n) > 0).astype(int)


def lime_fit(rows: np.ndarray, scores: np.ndarray, kernel_width: float, seed: int):
    """lime's own fit (`LimeBase`, as lime_image calls it): the exponential kernel on each row's cosine distance to
    the input, and a weighted ridge regression over every feature. Returns (weights, intercept, R^2)."""
    from lime.lime_base import LimeBase
    from sklearn.metrics import pairwise_distances

    distances = pairwise_distances(rows, rows[:1], metric="cosine").ravel()
    base = LimeBase(functools.partial(lime_kernel, width=kernel_width), random_state=np.random.RandomState(seed))
    intercept, local_exp, score, _ = base.explain_instance_with_data(
        rows, scores[:, None], distances, 0, num_features=100000)  # lime_image's default: every feature
    weights = np.zeros(rows.shape[1])
    for feature, weight in local_exp:
        weights[feature] = weight
    return weights, float(intercept), float(score)


def lime_kernel(d: np.ndarray, width: float) -> np.ndarray:
    """lime_image's kernel on a distance."""
    return np.sqrt(np.exp(-(d**2) / width**2))


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
                      "to the input: smaller = only copies close to the input count.", 0.01, 10.0),
                Param("sampling", "choice", "library", "How the perturbed copies are drawn: as lime_image draws them "
                      "(each superpixel on or off at random), the same in antithetic pairs (each copy then its "
                      "complement), or in orthogonal blocks (each superpixel on in half the copies and every two "
                      "together in a quarter): steadier maps at fewer samples.", choices=SAMPLINGS)]

    def cost(self, model, x, params) -> Cost:
        return Cost(forward=params["samples"], backward=0)

    def _compute(self, model, x, target, params, rng):
        segments = self.segments(model, x, params)
        n = int(segments.max()) + 1
        seed = library_seed(rng)
        rows = lime_rows(seed, params["samples"], n, params["sampling"])
        scores = feature_scores(model, x, baseline_for(model, x, params["baseline"]), segments, target, rows > 0)
        weights, intercept, fit = lime_fit(rows, scores, params["kernel_width"], seed)
        return weights[segments], {"superpixels": n, "fit_r2": round(fit, 4), "intercept": intercept,
                                   "library_seed": seed}


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
