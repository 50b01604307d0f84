"""Models: config readers, Hub resolve, the target and score operator, adapters, networks.

Loading: `load_model(id)` turns a bundled id, a folder or a Hub repo id into a local folder, reads
its config, and builds the adapter registered for its framework.
"""

from __future__ import annotations

from collections.abc import Callable

from workbench.errors import ModelError
from workbench.models.adapter import ModelAdapter, PassCount
from workbench.models.config import OUTPUTS, ModelInfo, StepScores
from workbench.models.hub import resolve_model_dir
from workbench.models.ood import FeatureStats
from workbench.models.prediction import (
    OOD_MESSAGE,
    ClassPrediction,
    Prediction,
    SegmentationPrediction,
    predict,
)
from workbench.models.target import Target, target_score
from workbench.models.torch_adapter import TorchAdapter
from workbench.paths import MODELS_DIR
from workbench.registry import Registry

ADAPTERS: Registry[Callable[[ModelInfo], ModelAdapter]] = Registry("framework")
ADAPTERS.register(TorchAdapter.from_folder, key="pytorch")


def _load_keras(info: ModelInfo) -> ModelAdapter:
    """Imports TensorFlow only now, when a Keras model is asked for."""
    from workbench.models.keras_adapter import KerasAdapter

    return KerasAdapter.from_folder(info)


ADAPTERS.register(_load_keras, key="keras")


def load_model(model_id: str, revision: str | None = None) -> ModelAdapter:
    """Load a bundled, local or Hub model into its framework's adapter. Never unpickles anything."""
    folder, rev, source = resolve_model_dir(model_id, revision)
    info = ModelInfo.from_folder(model_id, folder, rev, source)
    if info.framework not in ADAPTERS:
        raise ModelError(f"model '{model_id}': framework '{info.framework}' is not supported; "
                         f"supported: {', '.join(ADAPTERS)}.")
    return ADAPTERS[info.framework](info)


def list_models(task: str | None = None) -> list[ModelInfo]:
    """The bundled models (optionally for one task); Hub models are loaded by id on demand."""
    out = []
    for cfg in sorted(MODELS_DIR.glob("*/config.json")):
        try:
            folder, rev, source = resolve_model_dir(cfg.parent.name)
            info = ModelInfo.from_folder(cfg.parent.name, folder, rev, source)
        except ModelError:
            continue
        if task is None or info.task == task:
            out.append(info)
    return out


__all__ = ["ADAPTERS", "OOD_MESSAGE", "OUTPUTS", "ClassPrediction", "FeatureStats", "ModelAdapter", "ModelInfo",
           "PassCount", "Prediction", "SegmentationPrediction", "StepScores", "Target", "TorchAdapter", "list_models",
           "load_model", "predict", "resolve_model_dir", "target_score"]
