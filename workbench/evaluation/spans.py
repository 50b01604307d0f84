"""Do explanations of an audio deepfake detector find the spoofed span of a partial spoof?

Held-out partial spoofs (held-out recordings, test-split vocoder settings) have a known span. On
those the model calls spoof, each method explains the spoof class and is scored against the span
with the localisation metrics. Chance is scored too: a map that ignores the span wins the pointing
game about as often as the (dilated) span covers the window, and its rank accuracy is the span's
share of the window.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from workbench.data import speech
from workbench.methods import METHODS
from workbench.metrics import METRICS
from workbench.models import ModelAdapter, Target
from workbench.tasks import TASKS, GroundTruth
from workbench.tasks.spectrogram import spectrogram_axes


def span_localisation(model: ModelAdapter, methods: tuple[str, ...] = ("step_scores", "gradcam"), n: int = 100,
                      seed: int = 0, split: str = "test") -> dict:
    """On `n` held-out partial spoofs: how many the model detects, and for each method the mean of
    every localisation metric over the detected ones, beside what a span-blind map would score."""
    task = TASKS["audio_deepfake"]
    spoof = task.labels.index(speech.LABELS[1])
    spec = model.info.input
    metrics = [m for m in METRICS.values() if m.category == "localisation"]
    axes = spectrogram_axes(spec.signal)
    tolerance = METRICS["pointing_game"].tolerance
    scores: dict[str, dict[str, list[float]]] = {m: {metric.id: [] for metric in metrics} for m in methods}
    chance: dict[str, list[float]] = {"pointing_game": [], "rank_accuracy": []}
    detected = 0
    for i in range(n):
        made = speech.make_window(seed, split, 2 * i + 1, "partial")
        window, span = made.window, made.span
        x = task.preprocess(window, spec)
        if model.info.decide(model.predict(x))[0] != spoof:
            continue
        detected += 1
        truth = GroundTruth(span=span).as_mask(spec.size, axes)
        # A span-blind map's peak lands anywhere: a hit as often as the dilated span covers the window.
        chance["pointing_game"].append(float(ndimage.binary_dilation(truth, iterations=tolerance).mean()))
        chance["rank_accuracy"].append(float(truth.mean()))
        for method_id in methods:
            e = METHODS[method_id].explain(model, x, Target(spoof), seed=seed)
            for metric in metrics:
                scores[method_id][metric.id].append(metric.score(e, truth=truth, model=model, x=x))
    return {"model": model.info.id, "n": n, "split": split, "seed": seed, "detected": detected / n,
            "methods": {m: {k: round(float(np.mean(v)), 3) if v else None for k, v in s.items()}
                        for m, s in scores.items()},
            "span_blind_map": {k: round(float(np.mean(v)), 3) if v else None for k, v in chance.items()}}
