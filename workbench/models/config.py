"""A model's config.json and card: everything the workbench knows about a model before loading it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.errors import ModelError
from workbench.specs import ClipRule, InputSpec, Threshold

OUTPUTS = ("logits", "softmax", "sigmoid")


@dataclass(frozen=True)
class StepScores:
    """A classifier that scores every time step itself (config.json's `step_scores`): the layer with
    the N x T x 1 per-step logits and the label a positive logit stands for. The bundled audio models
    have one, trained to mark the spoofed span, and their verdict is built from those scores."""

    layer: str
    positive: str


@dataclass(frozen=True)
class ModelInfo:
    """config.json, the card, and where and at which revision the model was loaded.

    `output` says what the head emits for classifiers (logits, softmax or sigmoid; configs written
    before the field existed are logits). Segmentation models always emit N x K x H x W logits.
    `temperature` divides a classifier's logits before the softmax (fitted on validation data so that the
    probabilities are calibrated; 1 where none was fitted); `threshold` is its operating point (`decide`).
    """

    id: str
    task: str
    framework: str
    architecture: str
    arch_params: dict
    labels: tuple[str, ...]
    input: InputSpec
    target_layer: str
    revision: str
    path: Path
    output: str = "logits"
    output_kind: str = "classification"
    card: str = ""
    notice: str = ""  # a warning the app and CLI show beside every prediction (e.g. a shortcut demo)
    source: str = "bundled"  # "bundled", "local" or "hub"
    step_scores: StepScores | None = None
    # NormGrad's default layers, their product, as measured on held-out cases (README, known truth): the stage
    # outputs after the stem, fine to coarse, on four lung models; the stem alone on the AlexNet. Empty: the
    # target layer alone.
    stages: tuple[str, ...] = ()
    weights: tuple[str, ...] = ()  # the weight files loaded, main file first (their digests go in reports)
    trusted: bool = False  # pickled weights, loaded because the user trusted the repo (recorded in every export)
    temperature: float = 1.0
    threshold: Threshold | None = None
    # An audio clip's verdict from its windows (`AudioTask.verdict`), calibrated on real recordings.
    clip_rule: ClipRule | None = None

    @classmethod
    def from_folder(cls, model_id: str, folder: Path, revision: str, source: str,
                    weights: tuple[str, ...] = ()) -> ModelInfo:
        try:
            cfg = json.loads((folder / "config.json").read_text())
            card_path = folder / "README.md"
            info = cls(id=model_id, task=cfg["task"], framework=cfg["framework"],
                       architecture=cfg["architecture"], arch_params=dict(cfg.get("arch_params", {})),
                       labels=tuple(cfg["labels"]), input=InputSpec.from_dict(cfg["input"]),
                       target_layer=cfg["target_layer"], revision=revision, path=folder,
                       output=cfg.get("output", "logits"),
                       output_kind=cfg.get("output_kind", "classification"),
                       card=card_path.read_text() if card_path.exists() else "",
                       notice=cfg.get("notice", ""), source=source, stages=tuple(cfg.get("stages", ())),
                       weights=weights, temperature=float(cfg.get("temperature", 1.0)),
                       threshold=Threshold(**cfg["threshold"]) if cfg.get("threshold") else None,
                       clip_rule=ClipRule(**cfg["clip_rule"]) if cfg.get("clip_rule") else None,
                       step_scores=StepScores(**cfg["step_scores"]) if cfg.get("step_scores") else None)
        except FileNotFoundError:
            raise ModelError(f"model '{model_id}' has no config.json in {folder}.") from None
        except (KeyError, ValueError, TypeError) as err:
            raise ModelError(f"model '{model_id}': config.json is invalid ({err}).") from None
        if info.output not in OUTPUTS:
            raise ModelError(f"model '{model_id}': output must be one of {OUTPUTS}, not '{info.output}'.")
        if info.step_scores and info.step_scores.positive not in info.labels:
            raise ModelError(f"model '{model_id}': step_scores.positive must be one of {list(info.labels)}, "
                             f"not '{info.step_scores.positive}'.")
        if info.output_kind == "segmentation" and info.output != "logits":
            raise ModelError(f"model '{model_id}': segmentation models must output logits.")
        if not info.temperature > 0 or (info.temperature != 1 and info.output != "logits"):
            raise ModelError(f"model '{model_id}': temperature must be positive and applies to logits only.")
        for name, rule in (("threshold", info.threshold), ("clip_rule", info.clip_rule)):
            if rule and (rule.label not in info.labels or not 0 < rule.probability < 1):
                raise ModelError(f"model '{model_id}': {name} needs a label of {list(info.labels)} and a "
                                 "probability between 0 and 1.")
        if info.clip_rule and info.clip_rule.pooled is not None and not 0 < info.clip_rule.pooled < 1:
            raise ModelError(f"model '{model_id}': clip_rule.pooled must lie between 0 and 1.")
        return info

    def decide(self, probabilities: np.ndarray) -> np.ndarray:
        """The predicted class of each row of N x K probabilities: the one rule by which every caller (app,
        CLI, evaluation, the explained target) turns probabilities into a label. Argmax, unless the config
        records an operating point (`Threshold`)."""
        probabilities = np.asarray(probabilities)
        if self.threshold is None:
            return probabilities.argmax(axis=1)
        k = self.labels.index(self.threshold.label)
        others = probabilities.copy()
        others[:, k] = -np.inf
        return np.where(probabilities[:, k] >= self.threshold.probability, k, others.argmax(axis=1))
