"""Tiny real Hub repos, made by each library's own save function, and a hand-made Hugging Face cache holding them.

Each builder writes a repo folder as its library would publish it: transformers' `save_pretrained` (safetensors)
with an image processor, timm's `save_for_hf`, Keras' `model.save`, and a repo holding only `pytorch_model.bin`.
`cache_repo` lays a folder out as huggingface_hub's cache does: `models--org--name/snapshots/<commit>/` and `refs/main`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch

COMMIT = "0123456789abcdef0123456789abcdef01234567"
CARD = "---\nlicense: mit\n---\n# A tiny test model\n\nMade by the test suite. <script>alert('x')</script>\n"
PIXEL_MEAN, PIXEL_STD = [0.5, 0.4, 0.3], [0.2, 0.25, 0.3]


def transformers_resnet(folder: Path, labels=("cat", "dog")) -> Path:
    from transformers import ResNetConfig, ResNetForImageClassification, ViTImageProcessor

    torch.manual_seed(0)
    config = ResNetConfig(num_channels=3, embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], num_labels=len(labels),
                          id2label=dict(enumerate(labels)), label2id={v: k for k, v in enumerate(labels)})
    ResNetForImageClassification(config).eval().save_pretrained(folder, safe_serialization=True)
    processor = ViTImageProcessor(size={"height": 32, "width": 32}, image_mean=PIXEL_MEAN, image_std=PIXEL_STD)
    processor.save_pretrained(folder)
    (folder / "README.md").write_text(CARD)
    return folder


def transformers_vit(folder: Path) -> Path:
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(0)
    labels = ("plane", "car", "bird")
    config = ViTConfig(image_size=32, patch_size=8, num_channels=3, hidden_size=16, num_hidden_layers=2,
                       num_attention_heads=2, intermediate_size=32, num_labels=3, id2label=dict(enumerate(labels)),
                       label2id={v: k for k, v in enumerate(labels)})
    ViTForImageClassification(config).eval().save_pretrained(folder, safe_serialization=True)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


def timm_model(folder: Path) -> Path:
    import timm
    from timm.models import save_for_hf

    torch.manual_seed(0)
    model = timm.create_model("test_resnet", pretrained=False, num_classes=4).eval()
    model.pretrained_cfg = {**model.pretrained_cfg, "input_size": (3, 32, 32)}
    save_for_hf(model, str(folder), model_config={"label_names": ["a", "b", "c", "d"]}, safe_serialization=True)
    return folder


def keras_model(folder: Path) -> Path:
    from workbench.models.keras_adapter import keras_module

    keras = keras_module()
    keras.utils.set_random_seed(0)
    inputs = keras.Input((24, 24, 3))
    h = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    h = keras.layers.GlobalAveragePooling2D()(h)
    outputs = keras.layers.Dense(2, activation="softmax", name="head")(h)
    folder.mkdir(parents=True, exist_ok=True)
    keras.Model(inputs, outputs).save(folder / "classifier.keras")
    (folder / "config.json").write_text(json.dumps({"labels": ["left", "right"]}))
    return folder


def pickle_only(folder: Path) -> Path:
    """A transformers repo whose weights are only a pickle (`pytorch_model.bin`)."""
    transformers_resnet(folder)
    from safetensors.torch import load_file

    torch.save(load_file(str(folder / "model.safetensors")), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    return folder


def cache_repo(cache: Path, repo_id: str, source: Path, commit: str = COMMIT) -> Path:
    """Copy a repo folder into a Hugging Face cache at `commit`, with refs/main pointing there."""
    storage = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = storage / "snapshots" / commit
    shutil.copytree(source, snapshot)
    (storage / "refs").mkdir(parents=True, exist_ok=True)
    (storage / "refs" / "main").write_text(commit)
    return snapshot


def image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """An RGB uint8 picture (H x W x 3)."""
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
