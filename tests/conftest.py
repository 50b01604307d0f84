"""Shared fixtures: tiny models built here (a classifier and a segmenter), and the bundled model."""

from __future__ import annotations

import os
from pathlib import Path

# Under pytest-xdist (`make test` runs three workers on the two cores) every worker computes on one thread:
# workers with two-thread pools oversubscribe the cores, and spinning BLAS/OpenMP threads then made a
# tiny DenseNet training run 8 times slower here. Set before numpy, torch and TensorFlow start their pools,
# and inherited by the notebook kernels, command lines and servers the tests start.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                 "TF_NUM_INTEROP_THREADS"):
        os.environ.setdefault(_var, "1")

import numpy as np
import pytest
import torch
from torch import nn

from workbench.models import ModelInfo, TorchAdapter, load_model, nets
from workbench.paths import LIBRISPEECH_DIR, SPEECH_DIR
from workbench.specs import InputSpec
from workbench.tasks import TASKS, ImageTask

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)  # in case torch was loaded before this file

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = "lung_xray-resnet-compact"
TINY_ARCH = {"in_channels": 1, "num_classes": 2, "widths": [4, 8], "blocks": [1, 1], "strides": [2, 2]}
SEG_LABELS = ("background", "coin", "wire")


def tiny_info(**overrides) -> ModelInfo:
    fields = dict(id="tiny", task="lung_xray", framework="pytorch", architecture="compact_resnet",
                  arch_params=TINY_ARCH, labels=("normal", "affected"),
                  input=InputSpec(32, 32, 1, (0.5,), (0.25,)), target_layer="layer2", revision="test", path=ROOT)
    return ModelInfo(**(fields | overrides))


def tiny_adapter(seed: int = 0, **overrides) -> TorchAdapter:
    """A two-stage random CompactResNet on 32x32 inputs: every method runs on it in milliseconds."""
    torch.manual_seed(seed)
    return TorchAdapter(nets.build("compact_resnet", **TINY_ARCH), tiny_info(**overrides))


class TinySegmenter(nn.Module):
    """Two conv stages and a 1x1 head: N x 3 x H x W logits, resolution kept."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 6, 3, padding=1), nn.ReLU())
        self.head = nn.Conv2d(6, len(SEG_LABELS), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


SEG_TASK = ImageTask(id="tiny_segmentation", name="Foreign objects (test)", output_kind="segmentation",
                     labels=SEG_LABELS, description="built inside the tests", file_types=("png",))


def tiny_segmenter(seed: int = 0) -> TorchAdapter:
    torch.manual_seed(seed)
    module = TinySegmenter()
    with torch.no_grad():  # a background bias, so that some pixels are background and others not
        module.head.bias.copy_(torch.tensor([0.3, 0.0, -0.1]))
    return TorchAdapter(module, tiny_info(id="tiny-seg", task=SEG_TASK.id, labels=SEG_LABELS,
                                          output_kind="segmentation", target_layer="body"))


@pytest.fixture
def tiny() -> TorchAdapter:
    return tiny_adapter()


@pytest.fixture
def tiny_input() -> np.ndarray:
    return np.random.default_rng(0).normal(0, 1, (1, 1, 32, 32)).astype(np.float32)


@pytest.fixture
def segmenter() -> TorchAdapter:
    return tiny_segmenter()


@pytest.fixture(scope="session")
def bundled() -> TorchAdapter:
    return load_model(BUNDLED)


@pytest.fixture(scope="session")
def lung_task():
    return TASKS["lung_xray"]


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return ROOT / "sample_files" / "lung_xray"


TINY_KERAS = {"widths": [4, 6, 8, 8], "blocks": [1, 1, 1, 1], "strides": [1, 2, 2, 1]}


def write_tiny_keras(folder: Path, spec: InputSpec, arch: str = "keras_compact_resnet", params: dict | None = None,
                     target_layer: str = "layer4", seed: int = 0) -> Path:
    """A random tiny Keras audio model saved as the training code saves a bundled one."""
    import json

    from workbench.models.keras_adapter import keras_module
    from workbench.training.keras_nets import FRAME_LAYER, KERAS_ARCHITECTURES

    params = TINY_KERAS if params is None else params
    keras_module().utils.set_random_seed(seed)
    model = KERAS_ARCHITECTURES[arch]((spec.height, spec.width, spec.channels), 2, **params)
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "model.keras")
    (folder / "config.json").write_text(json.dumps({
        "framework": "keras", "architecture": arch, "arch_params": params, "task": "audio_deepfake",
        "labels": ["bonafide", "spoof"], "input": spec.to_dict(), "output": "logits", "target_layer": target_layer,
        "step_scores": {"layer": FRAME_LAYER, "positive": "spoof"}}))
    return folder


# Tests that read real speech skip with the reason when it is not beside the checkout (as the X-ray tests do).
needs_speech = pytest.mark.skipif(
    not (SPEECH_DIR.is_dir() and LIBRISPEECH_DIR.is_dir()),
    reason=f"real speech not found in {SPEECH_DIR} and {LIBRISPEECH_DIR} (../shared/data)")


@pytest.fixture(scope="session")
def audio_model_dir(tmp_path_factory) -> Path:
    """A random tiny Keras model for the audio task's real input (4 s, 128 mel bands x 251 frames)."""
    from workbench.training.recipes import AUDIO_SPEC

    return write_tiny_keras(tmp_path_factory.mktemp("audio") / "tiny-audio", AUDIO_SPEC)


def model_input(task, model, data: bytes) -> np.ndarray:
    """A file's bytes as the model's input, through the task's one decode/preprocess path."""
    return task.preprocess(task.decode(data), model.info.input)


@pytest.fixture
def server_env(monkeypatch):
    """Set the server's settings for one test (WORKBENCH_LOCAL_MODELS="1", ...): the app reads them once per
    process, so the cache is cleared after setting and again after the test."""
    from workbench.settings import server_settings

    def setting(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        server_settings.cache_clear()

    yield setting
    server_settings.cache_clear()


BURST = (5.0, 5.5)  # seconds from the clip's start: inside window 1 (4-8 s) of a 4 s-window model


def burst_clip() -> bytes:
    """A 12 s WAV (16 kHz) of faint noise with one loud burst at BURST: the input-intensity baseline's map peaks on
    the burst, so a span at BURST scores a hit only if it is moved into the explained window's time."""
    import io

    import soundfile

    rng = np.random.default_rng(0)
    clip = rng.normal(0, 0.01, 12 * 16000)
    clip[int(BURST[0] * 16000):int(BURST[1] * 16000)] = rng.normal(0, 0.5, int((BURST[1] - BURST[0]) * 16000))
    out = io.BytesIO()
    soundfile.write(out, clip.astype(np.float32), 16000, format="WAV")
    return out.getvalue()
