"""Sanity: does the map depend on what the model learned? Three model-randomisation tests, in one registry.

- **Cascading randomisation** (MPRT, Adebayo et al. 2018): from the output back to the input, more and more layers
  get random weights, and the method explains the same input and target again (same parameters, same seed) on each
  damaged copy. A map that explains the model must change as the model is destroyed; a map that stays the same shows
  the input (its edges, its brightness), not what the model learned.
- **Smooth MPRT** (sMPRT, Hedström et al. 2023, "Sanity Checks Revisited"): the same cascade, but every map is the
  average over N noisy copies of the input. Gradient maps are noisy, and noise alone makes two maps of one model
  dissimilar: averaging it away keeps a noisy method from passing on its noise rather than on the model.
- **Efficient MPRT** (eMPRT, the same paper): no similarity at all. The map's complexity (the discrete entropy of its
  histogram) on the fully randomised model against the original's: a map that explains a model that learned
  structure gets more chaotic once that structure is gone, so the check passes when the ratio rises above 1. One
  extra explanation instead of one per depth.

Copies are new adapters (`ModelAdapter.randomised`): the model the caller holds, which the app shares between
sessions, never sees a random weight. Each check returns a dict with its id (`check`), `passed`, a one-line
`summary` and its `steps` (one row per model explained), so the app, the CLI and the report read any of them alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from workbench.methods import METHODS, Explanation, Method
from workbench.models import ModelAdapter
from workbench.registry import Registry

STEPS = 4  # damaged copies per cascading check by default: the top layer, ..., every layer
PASS_BELOW = 0.5  # a method passes when, all layers random, its map's |Spearman| with the original is under this
SMOOTH_SAMPLES = 10  # sMPRT: maps averaged per model (the last on the input itself); Quantus's default is 50
SMOOTH_NOISE = 0.1  # sMPRT: the noise's standard deviation as a share of the input's range (Quantus's default)
ENTROPY_BINS = 100  # eMPRT: histogram bins of the discrete entropy (Quantus's default when n_bins is given)


@dataclass(frozen=True)
class RandomisationStep:
    layers_randomised: int
    down_to: str  # the deepest (closest to the input) layer randomised so far
    spearman: float
    ssim: float


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Rank correlation of two maps (0 when either is constant)."""
    from workbench.metrics.agreement import spearman_matrix

    return float(spearman_matrix(np.stack([a, b]))[0, 1])


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Structural similarity of the two maps, each divided by its largest magnitude (scale is not structure)."""
    from skimage.metrics import structural_similarity

    def unit(m: np.ndarray) -> np.ndarray:
        peak = float(np.abs(m).max())
        return (m / peak if peak > 0 else m).astype(np.float64)

    return float(structural_similarity(unit(a), unit(b), data_range=2.0))


def cascade_points(n_layers: int, steps: int) -> list[int]:
    """How many layers are random at each step: about evenly spaced, ending with all of them."""
    return sorted({int(round(k)) for k in np.linspace(1, n_layers, min(steps, n_layers))})


def _cascade(model: ModelAdapter, original: np.ndarray, steps: int, seed: int,
             explain: Callable[[ModelAdapter], np.ndarray]) -> tuple[list[str], list[RandomisationStep]]:
    """`explain` on each cascading copy, compared with `original`: the one loop the cascading and smooth checks
    share, so they randomise the same layers with the same weights."""
    layers = model.weighted_layers()
    trail = []
    for k in cascade_points(len(layers), steps):
        heatmap = explain(model.randomised(layers[:k], seed))
        trail.append(RandomisationStep(k, layers[k - 1], spearman(original, heatmap), ssim(original, heatmap)))
    return layers, trail


def _verdict(check: str, explanation: Explanation, layers: list[str], seed: int,
             trail: list[RandomisationStep]) -> dict:
    final = abs(trail[-1].spearman)
    return {"check": check, "method": explanation.method, "layers": len(layers), "seed": seed,
            "steps": [asdict(s) for s in trail], "final_abs_spearman": final, "passed": final < PASS_BELOW,
            "summary": f"|Spearman| {final:.2f} with every layer random"}


def model_randomisation(model: ModelAdapter, x: np.ndarray, explanation: Explanation, steps: int = STEPS,
                        seed: int = 0, method: Method | None = None) -> dict:
    """The original map against the map on each randomised copy: Spearman and SSIM per step, and the verdict.
    `method` defaults to the registered method that made the explanation."""
    method = method or METHODS[explanation.method]
    e = explanation
    layers, trail = _cascade(model, e.map, steps, seed,
                             lambda damaged: method.explain(damaged, x, e.target, e.params, e.seed).map)
    return _verdict("mprt", e, layers, seed, trail)


def noise_draws(shape: tuple[int, ...], samples: int, seed: int) -> list[np.ndarray]:
    """The standard normal draws of the smooth check's noisy copies (samples - 1 of them: the last sample is the
    input itself, as in Quantus, so one sample is the plain map). Every model gets the same draws: what changes
    between two smoothed maps is then the model, not the noise."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for _ in range(samples - 1)]


def smoothed_map(method: Method, model: ModelAdapter, x: np.ndarray, explanation: Explanation,
                 draws: list[np.ndarray], noise: float, plain: np.ndarray | None = None) -> np.ndarray:
    """The explanation's method on `x` plus each draw (scaled to `noise` x the input's range) and on `x` itself,
    averaged; `plain` is the map on `x` itself when known already. Summed a share at a time in Quantus's order
    (noisy copies first), so the same draws give the same float32 map."""
    e, samples = explanation, len(draws) + 1
    std = noise * float(x.max() - x.min())
    total = None
    for draw in draws:
        noisy = (x + draw * std).astype(np.float32)
        part = method.explain(model, noisy, e.target, e.params, e.seed).map / samples
        total = part if total is None else total + part
    last = (plain if plain is not None else method.explain(model, x, e.target, e.params, e.seed).map) / samples
    return last if total is None else total + last


def smooth_model_randomisation(model: ModelAdapter, x: np.ndarray, explanation: Explanation, steps: int = STEPS,
                               seed: int = 0, method: Method | None = None, samples: int = SMOOTH_SAMPLES,
                               noise: float = SMOOTH_NOISE) -> dict:
    """The cascading check on maps averaged over `samples` noisy copies of the input (sMPRT): the same layers and
    weights as `model_randomisation`, the same verdict rule. Costs `samples` times the cascading check."""
    if samples < 1:
        raise ValueError("the smooth check needs at least one sample")
    method = method or METHODS[explanation.method]
    draws = noise_draws(x.shape, samples, seed)
    original = smoothed_map(method, model, x, explanation, draws, noise, plain=explanation.map)
    layers, trail = _cascade(model, original, steps, seed,
                             lambda damaged: smoothed_map(method, damaged, x, explanation, draws, noise))
    return _verdict("smprt", explanation, layers, seed, trail) | {"samples": samples, "noise": noise}


def discrete_entropy(heatmap: np.ndarray, bins: int = ENTROPY_BINS) -> float:
    """Shannon entropy (nats) of the map's histogram in `bins` equal bins: how spread out its values are, the
    complexity eMPRT compares (Quantus's `discrete_entropy`)."""
    counts, _ = np.histogram(heatmap, bins=bins)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum()) + 0.0  # + 0.0: a constant map's -0.0 reads as 0


def efficient_model_randomisation(model: ModelAdapter, x: np.ndarray, explanation: Explanation, seed: int = 0,
                                  method: Method | None = None, bins: int = ENTROPY_BINS) -> dict:
    """eMPRT: the map's discrete entropy on the fully randomised model over the original's; passes above 1 (the
    randomised model's map is more chaotic). Quantus reports the relative rise, this ratio minus 1."""
    method = method or METHODS[explanation.method]
    e = explanation
    layers = model.weighted_layers()
    heatmap = method.explain(model.randomised(layers, seed), x, e.target, e.params, e.seed).map
    before, after = discrete_entropy(e.map, bins), discrete_entropy(heatmap, bins)
    ratio = after / before if before > 0 else (float("inf") if after > 0 else 1.0)
    return {"check": "emprt", "method": e.method, "layers": len(layers), "seed": seed, "bins": bins,
            "steps": [{"layers_randomised": 0, "down_to": "", "entropy": before},
                      {"layers_randomised": len(layers), "down_to": layers[-1], "entropy": after}],
            "entropy_before": before, "entropy_after": after, "complexity_ratio": ratio, "passed": ratio > 1.0,
            "summary": f"entropy x{ratio:.2f} with every layer random"}


@dataclass(frozen=True)
class SanityCheck:
    """One way to test that a map depends on the model: what it measures, how it decides, what it costs."""

    id: str
    name: str
    short: str  # for a table's narrow label
    what_it_measures: str
    passes_when: str
    cost: str  # in runs of the method, for the switch's help
    run: Callable[..., dict]  # (model, x, explanation, seed=, method=) -> the result dict (module docstring)


SANITY_CHECKS: Registry[SanityCheck] = Registry("sanity check")
SANITY_CHECKS.register(SanityCheck(
    "mprt", "Cascading randomisation (MPRT)", "MPRT",
    "How similar the map stays (Spearman, SSIM) as the model's layers are randomised from the output down.",
    f"the map's |Spearman| with the original is under {PASS_BELOW} once every layer is random",
    f"{STEPS} runs", model_randomisation))
SANITY_CHECKS.register(SanityCheck(
    "smprt", "Smooth MPRT (sMPRT)", "sMPRT",
    f"The cascading check on maps averaged over {SMOOTH_SAMPLES} noisy copies of the input (noise "
    f"{SMOOTH_NOISE:g} x its range): a noisy method cannot pass on its noise alone.",
    f"the smoothed map's |Spearman| with the smoothed original is under {PASS_BELOW} once every layer is random",
    f"{STEPS * SMOOTH_SAMPLES + SMOOTH_SAMPLES - 1} runs", smooth_model_randomisation))
SANITY_CHECKS.register(SanityCheck(
    "emprt", "Efficient MPRT (eMPRT)", "eMPRT",
    f"The map's complexity (entropy of its {ENTROPY_BINS}-bin histogram) on the fully randomised model over the "
    "original's.",
    "the ratio is above 1: the map grows more chaotic once nothing the model learned is left", "1 run",
    efficient_model_randomisation))
DEFAULT_CHECK = "mprt"
