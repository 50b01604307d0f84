"""Models in other people's formats: transformers image classifiers, timm models and Keras 3 files from the Hub.

Each becomes a ModelInfo for the generic `hub_image` task and an adapter like a bundled model's. Labels, input
size and normalisation come from the repo (the image processor, timm's `pretrained_cfg`, or for Keras the model's
input shape and an optional config.json). The CAM layer is found by the adapter (the last map over the input the
score depends on). Nothing here runs a repo's code: `trust_remote_code` is never set, and pickled weights reach
this point only when the user trusted the repo (repo_files.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from workbench.errors import ModelError, converted
from workbench.models.adapter import ModelAdapter
from workbench.models.config import ModelInfo
from workbench.models.hub import ModelSource
from workbench.specs import GENERIC_TASK, InputSpec

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
_FRONT_MATTER = re.compile(r"\A---\s*\n.*?\n---\s*\n", re.S)


def card_text(folder: Path) -> str:
    """The repo's README without its YAML header (the metadata block a Hub card starts with)."""
    path = folder / "README.md"
    return _FRONT_MATTER.sub("", path.read_text(errors="replace")) if path.is_file() else ""


def _info(model_id: str, src: ModelSource, framework: str, architecture: str, labels: list[str], spec: InputSpec,
          output: str = "logits", target_layer: str = "") -> ModelInfo:
    return ModelInfo(id=model_id, task=GENERIC_TASK, framework=framework, architecture=architecture, arch_params={},
                     labels=tuple(labels), input=spec, target_layer=target_layer, revision=src.revision,
                     path=src.folder, output=output, card=card_text(src.folder), source=src.source,
                     weights=src.weights, trusted=src.trusted)


def _size(size, fallback: int) -> tuple[int, int]:
    """An image processor's size (an int, or a mapping with height/width or shortest_edge) as (H, W)."""
    if size is None:
        return fallback, fallback
    if isinstance(size, int):
        return size, size
    size = dict(size.items()) if hasattr(size, "items") else vars(size)
    if size.get("height") and size.get("width"):
        return int(size["height"]), int(size["width"])
    edge = size.get("shortest_edge") or size.get("longest_edge")
    if edge:
        return int(edge), int(edge)
    raise ModelError(f"the image processor's size {size} names no height and width.")


def processor_spec(processor, channels: int, fallback: int = 224) -> InputSpec:
    """The InputSpec that reproduces an image processor on [0, 1] input: its (crop) size, and its rescale and
    normalisation folded into one mean and std. The whole image is resized to that size (a centre crop is not
    applied, so a map covers the whole picture)."""
    crop = getattr(processor, "do_center_crop", False)
    height, width = _size(getattr(processor, "crop_size" if crop else "size", None), fallback)
    scale = 255.0 * (float(getattr(processor, "rescale_factor", 1 / 255)) if getattr(processor, "do_rescale", True)
                     else 1.0)
    if getattr(processor, "do_normalize", True):
        mean, std = list(processor.image_mean), list(processor.image_std)
    else:
        mean, std = [0.0] * channels, [1.0] * channels
    mean, std = (mean * channels)[:channels], (std * channels)[:channels]
    return InputSpec(height, width, channels, tuple(m / scale for m in mean), tuple(s / scale for s in std))


def _labels(id2label: dict | None, n: int) -> list[str]:
    if id2label:
        return [str(id2label.get(i, id2label.get(str(i), f"class {i}"))) for i in range(n)]
    return [f"class {i}" for i in range(n)]


def load_transformers(model_id: str, src: ModelSource, config: dict) -> ModelAdapter:
    """An AutoModelForImageClassification with its AutoImageProcessor, read from the local folder only."""
    import torch
    from transformers import AutoImageProcessor, AutoModelForImageClassification
    from transformers.utils import logging

    from workbench.models.torch_adapter import LogitsOf, TorchAdapter

    logging.disable_progress_bar()  # a bar per local file read: noise on the CLI's stderr and the app's log

    try:
        model = AutoModelForImageClassification.from_pretrained(
            src.folder, trust_remote_code=False, local_files_only=True, use_safetensors=not src.trusted,
            dtype=torch.float32)
    except Exception as err:  # noqa: BLE001 - a library reading untrusted files fails in its own ways: one message

        raise converted(ModelError(f"'{model_id}' is not a transformers image classifier the workbench can load: "
                                   f"{str(err).splitlines()[0]}"), err) from None
    try:
        processor = AutoImageProcessor.from_pretrained(src.folder, trust_remote_code=False, local_files_only=True)
    except Exception as err:  # noqa: BLE001 - as above
        raise converted(ModelError(f"'{model_id}' has no image processor (preprocessor_config.json) saying how to "
                                   f"size and normalise its input: {str(err).splitlines()[0]}"), err) from None
    cfg = model.config
    spec = processor_spec(processor, int(getattr(cfg, "num_channels", 3) or 3), int(getattr(cfg, "image_size", 224)))
    output = "sigmoid" if getattr(cfg, "problem_type", None) == "multi_label_classification" else "logits"
    labels = _labels(cfg.id2label, cfg.num_labels)
    info = _info(model_id, src, "pytorch", f"transformers:{type(model).__name__}", labels, spec, output)
    return TorchAdapter.foreign(LogitsOf(model), info)


def load_timm(model_id: str, src: ModelSource, config: dict) -> ModelAdapter:
    """A timm model built by name (no download) with the repo's weights and `pretrained_cfg` preprocessing."""
    import timm
    import torch

    from workbench.models.torch_adapter import TorchAdapter

    pretrained = config.get("pretrained_cfg", {})
    channels, height, width = pretrained.get("input_size", (3, 224, 224))
    n = int(config.get("num_classes", pretrained.get("num_classes", 1000)))
    weights = src.folder / src.weights[0]
    try:
        args = {"num_classes": n, "in_chans": channels, **config.get("model_args", {})}
        model = timm.create_model(config["architecture"], pretrained=False, **args)
        if src.trusted:
            state = torch.load(weights, map_location="cpu", weights_only=True)
        else:
            from safetensors.torch import load_file

            state = load_file(str(weights))
        model.load_state_dict(state)
    except Exception as err:  # noqa: BLE001 - as for transformers
        raise converted(ModelError(f"'{model_id}': the timm model '{config.get('architecture')}' could not be built "
                                   f"from its config and weights: {str(err).splitlines()[0]}"), err) from None
    names = config.get("label_names") or pretrained.get("label_names")
    labels = [str(x) for x in names] if names and len(names) == n else _labels(None, n)
    spec = InputSpec(int(height), int(width), int(channels), tuple(pretrained.get("mean", IMAGENET_MEAN)),
                     tuple(pretrained.get("std", IMAGENET_STD)))
    return TorchAdapter.foreign(model, _info(model_id, src, "pytorch", f"timm:{config['architecture']}", labels, spec))


def _keras_labels(src: ModelSource, config: dict, n: int) -> list[str]:
    names = config.get("labels")
    if names is None and (src.folder / "labels.json").is_file():
        names = json.loads((src.folder / "labels.json").read_text())
    if isinstance(names, list) and len(names) == n:
        return [str(x) for x in names]
    return _labels({int(k): v for k, v in config.get("id2label", {}).items()}, n)


def load_keras(model_id: str, src: ModelSource, config: dict) -> ModelAdapter:
    """A Keras 3 `.keras` file read in safe mode (a legacy `.h5` only when trusted). Input in [0, 1] unless
    config.json gives `mean` and `std`; labels from config.json (`labels` or `id2label`) or labels.json."""
    from workbench.models.keras_adapter import KerasAdapter, feature_map_layers, keras_module

    keras = keras_module()
    file = src.folder / src.weights[0]
    try:
        model = keras.saving.load_model(str(file), compile=False, safe_mode=not src.trusted)
    except Exception as err:  # noqa: BLE001 - as for transformers (a cut .keras file is a BadZipFile)
        raise converted(ModelError(f"'{model_id}': {file.name} could not be loaded safely: "
                                   f"{str(err).splitlines()[0]}"), err) from None
    shape = tuple(model.input_shape[1:])
    if len(shape) != 3 or None in shape:
        raise ModelError(f"'{model_id}': the workbench explains image models with a fixed input size (H, W, C); "
                         f"this one takes {shape}.")
    height, width, channels = shape
    n = int(model.output_shape[-1])
    activation = getattr(getattr(model.layers[-1], "activation", None), "__name__", "linear")
    output = config.get("output") or {"softmax": "softmax", "sigmoid": "sigmoid"}.get(activation, "logits")
    spec = InputSpec(height, width, channels, tuple(config.get("mean", [0.0] * channels)),
                     tuple(config.get("std", [1.0] * channels)))
    maps = feature_map_layers(model)
    info = _info(model_id, src, "keras", f"keras:{file.name}", _keras_labels(src, config, n), spec, output,
                 maps[-1] if maps else "")
    return KerasAdapter(model, info)


LOADERS = {"transformers": load_transformers, "timm": load_timm, "keras": load_keras}
