"""Models: config readers, Hub resolve, the target and score operator, adapters, networks.

Loading: `load_model(id)` turns a bundled id, a folder or a Hub repo id into a local folder (hub.py), tells its
kind from its files (repo_files.py), and builds the adapter: the one registered for its framework for the
workbench's own format, a loader in foreign.py for transformers, timm and Keras repos.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from workbench.errors import ModelError
from workbench.models.adapter import ModelAdapter, PassCount
from workbench.models.config import OUTPUTS, ModelInfo, StepScores
from workbench.models.hub import ModelSource, Progress, parse_model_ref, resolve_model
from workbench.models.ood import FeatureStats
from workbench.models.prediction import (
    OOD_MESSAGE,
    ClassPrediction,
    Prediction,
    SegmentationPrediction,
    predict,
)
from workbench.models.repo_files import read_config, repo_kind
from workbench.models.target import Target, target_score
from workbench.models.torch_adapter import TorchAdapter
from workbench.paths import MODELS_DIR
from workbench.registry import Registry

log = logging.getLogger(__name__)
ADAPTERS: Registry[Callable[[ModelInfo], ModelAdapter]] = Registry("framework")
ADAPTERS.register(TorchAdapter.from_folder, key="pytorch")


def _load_keras(info: ModelInfo) -> ModelAdapter:
    """Imports TensorFlow only now, when a Keras model is asked for."""
    from workbench.models.keras_adapter import KerasAdapter

    return KerasAdapter.from_folder(info)


ADAPTERS.register(_load_keras, key="keras")


def load_model(model_id: str, revision: str | None = None, trust_pickle: bool = False,
               progress: Progress | None = None, local: bool = True, device: str = "cpu") -> ModelAdapter:
    """Load a bundled, local (with `local`) or Hub model (`org/name` or `hub:org/name@revision`) into its adapter,
    on `device` (a resolved name: `workbench.device.resolve_device`). Pickled weights are refused unless
    `trust_pickle`; a repo's own code is never run. `progress` hears a download's bytes."""
    return _load(model_id, revision, trust_pickle, progress, local).on(device)


def _load(model_id: str, revision: str | None, trust_pickle: bool, progress: Progress | None,
          local: bool) -> ModelAdapter:
    src = resolve_model(model_id, revision, trust_pickle, progress, local)
    model_id, _ = parse_model_ref(model_id)
    config = read_config(src.folder, model_id)
    kind = repo_kind(config, src.weights, model_id)
    if kind != "workbench":
        from workbench.models.foreign import LOADERS

        return LOADERS[kind](model_id, src, config)
    info = ModelInfo.from_folder(model_id, src.folder, src.revision, src.source, src.weights)
    if info.framework not in ADAPTERS:
        raise ModelError(f"model '{model_id}': framework '{info.framework}' is not supported; "
                         f"supported: {', '.join(ADAPTERS)}.")
    return ADAPTERS[info.framework](info)


def list_models(task: str | None = None) -> list[ModelInfo]:
    """The bundled models (optionally for one task); Hub models are loaded by id on demand."""
    out = []
    for cfg in sorted(MODELS_DIR.glob("*/config.json")):
        try:
            src = resolve_model(cfg.parent.name)
            info = ModelInfo.from_folder(cfg.parent.name, src.folder, src.revision, src.source, src.weights)
        except ModelError as err:
            log.warning("bundled model %s skipped: %s", cfg.parent.name, err)
            continue
        if task is None or info.task == task:
            out.append(info)
    return out


__all__ = ["ADAPTERS", "OOD_MESSAGE", "OUTPUTS", "ClassPrediction", "FeatureStats", "ModelAdapter", "ModelInfo",
           "ModelSource", "PassCount", "Prediction", "SegmentationPrediction", "StepScores", "Target", "TorchAdapter",
           "list_models", "load_model", "parse_model_ref", "predict", "resolve_model", "target_score"]
