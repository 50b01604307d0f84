"""Shared fixtures: a tiny random model for fast method tests, and the bundled model."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inference import TASKS, InputSpec, ModelInfo, TorchAdapter, load_model  # noqa: E402
from workbench import nets  # noqa: E402

BUNDLED = "lung_xray-resnet-compact"
TINY_ARCH = {"in_channels": 1, "num_classes": 2, "widths": [4, 8], "blocks": [1, 1], "strides": [2, 2]}


def tiny_adapter(seed: int = 0, size: int = 32) -> TorchAdapter:
    """A two-stage random CompactResNet on 32x32 inputs: every method runs on it in milliseconds."""
    torch.manual_seed(seed)
    module = nets.build("compact_resnet", **TINY_ARCH)
    info = ModelInfo(id="tiny", task="lung_xray", framework="pytorch", architecture="compact_resnet",
                     arch_params=TINY_ARCH, labels=("normal", "affected"),
                     input=InputSpec(size, size, 1, (0.5,), (0.25,)), target_layer="layer2",
                     revision="test", path=ROOT)
    return TorchAdapter(module, info)


@pytest.fixture
def tiny() -> TorchAdapter:
    return tiny_adapter()


@pytest.fixture
def tiny_input() -> np.ndarray:
    return np.random.default_rng(0).normal(0, 1, (1, 1, 32, 32)).astype(np.float32)


@pytest.fixture(scope="session")
def bundled() -> TorchAdapter:
    return load_model(BUNDLED)


@pytest.fixture(scope="session")
def lung_task():
    return TASKS["lung_xray"]


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return ROOT / "sample_files" / "lung_xray"
