"""Typed predictions: what a model says about one input, and whether the input is like its data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.models.adapter import ModelAdapter
from workbench.models.ood import pooled

OOD_MESSAGE = ("This input is unlike the data the model was trained on; its prediction and "
               "explanations mean little.")


@dataclass(frozen=True)
class ClassPrediction:
    probabilities: dict[str, float]
    in_distribution: bool | None  # None: the model ships no training statistics
    ood_score: float | None
    class_index: int  # decided by the model's rule (`ModelInfo.decide`: its operating point, else argmax)

    @property
    def label(self) -> str:
        return list(self.probabilities)[self.class_index]

    def to_json(self) -> dict:
        return {"label": self.label, "probabilities": self.probabilities,
                "in_distribution": self.in_distribution, "ood_score": self.ood_score}


@dataclass(frozen=True)
class SegmentationPrediction:
    """Per-pixel classes (class 0 is the background) and each class's share of the pixels."""

    mask: np.ndarray  # H x W class indices
    class_share: dict[str, float]
    in_distribution: bool | None
    ood_score: float | None

    @property
    def class_index(self) -> int:
        """The first foreground class, in the config's label order (models list their classes in order
        of interest), that is predicted anywhere; the background when nothing else is predicted."""
        shares = list(self.class_share.values())
        return next((k for k in range(1, len(shares)) if shares[k] > 0), 0)

    @property
    def label(self) -> str:
        return list(self.class_share)[self.class_index]

    def to_json(self) -> dict:
        return {"label": self.label, "class_share": self.class_share,
                "in_distribution": self.in_distribution, "ood_score": self.ood_score}


Prediction = ClassPrediction | SegmentationPrediction


def predict(model: ModelAdapter, x: np.ndarray) -> Prediction:
    """The model's prediction for a 1 x C x H x W input, with its out-of-distribution check."""
    stats = model.feature_stats
    in_dist, score = None, None
    if stats is None:
        probs = model.predict(x)[0]
    else:  # one forward pass gives the prediction and the features the OOD check measures
        outputs, activations = model.outputs_and_activations(x, stats.layers)
        probs = model.probabilities(outputs)[0]
        score = float(stats.scores(pooled(activations))[0])
        in_dist = score <= 1.0
    labels = model.info.labels
    if model.info.output_kind == "segmentation":
        mask = probs.argmax(axis=0)
        share = {lab: float((mask == k).mean()) for k, lab in enumerate(labels)}
        return SegmentationPrediction(mask, share, in_dist, score)
    return ClassPrediction({lab: float(p) for lab, p in zip(labels, probs)}, in_dist, score,
                           int(model.info.decide(probs[None])[0]))
