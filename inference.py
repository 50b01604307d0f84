"""Public face for tasks, models and prediction, and the prediction CLI.

  python inference.py --list [--json]
  python inference.py --task lung_xray --model MODEL --input FILE [--revision REV] [--json]
  python inference.py --task audio_deepfake --model MODEL --input CLIP.wav [--window K] [--json]

The library is the `workbench` package; this file only re-exports its contracts and runs the CLI.
"""

import sys

from workbench.cli import predict_main as main
from workbench.errors import InputError, ModelError
from workbench.models import (
    OOD_MESSAGE,
    ClassPrediction,
    ModelAdapter,
    ModelInfo,
    Prediction,
    SegmentationPrediction,
    Target,
    TorchAdapter,
    list_models,
    load_model,
    predict,
)
from workbench.service import check_model_task, load_input, prepare_input
from workbench.specs import InputSpec, SignalSpec
from workbench.tasks import TASKS, GroundTruth, Sample, Task, get_task

__all__ = ["OOD_MESSAGE", "TASKS", "ClassPrediction", "GroundTruth", "InputError", "InputSpec", "ModelAdapter",
           "ModelError", "ModelInfo", "Prediction", "Sample", "SegmentationPrediction", "SignalSpec", "Target",
           "Task", "TorchAdapter", "check_model_task", "get_task", "list_models", "load_input", "load_model",
           "main", "predict", "prepare_input"]

if __name__ == "__main__":
    sys.exit(main())
