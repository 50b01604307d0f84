"""Pieces several method families share: reference inputs and the parameters that pick them."""

from __future__ import annotations

import numpy as np

from workbench.device import chunk_bytes
from workbench.errors import InputError
from workbench.methods.base import Param
from workbench.models import ModelAdapter

# Copies of the input a method builds and scores at once (perturbed copies, noisy copies, points on a path) take at
# most `workbench.device.chunk_bytes` of the model's device (64 MB on the CPU), so memory stays bounded whatever the
# samples, steps or positions asked for.
BASELINES = ("black", "mean", "blur")


def baseline_for(model: ModelAdapter, x: np.ndarray, kind: str) -> np.ndarray:
    """Reference input: 'black' (zero in [0, 1] units), 'mean' (the input's mean level) or 'blur'."""
    spec = model.info.input
    if kind == "black":
        return np.broadcast_to(spec.normalize(np.zeros((spec.channels, 1, 1), np.float32)), x.shape).copy()
    if kind == "mean":
        return np.broadcast_to(x.mean(axis=(-2, -1), keepdims=True), x.shape).copy()
    if kind == "blur":
        from scipy import ndimage

        return ndimage.gaussian_filter(x, sigma=(0, 0, 8, 8)).astype(np.float32)
    raise InputError(f"unknown baseline '{kind}'; one of {BASELINES}.")


def baseline_param(default: str, help_text: str) -> Param:
    return Param("baseline", "choice", default, help_text, choices=BASELINES)


def layer_param(model: ModelAdapter) -> Param:
    layers = model.layers()
    return Param("layer", "layer", layers[0], "Layer whose feature maps are weighted "
                 "(deeper = more semantic, coarser).", choices=tuple(layers))


def chunk_size(model: ModelAdapter, x: np.ndarray) -> int:
    """How many copies of `x` fit in the memory budget of the model's device (at least one)."""
    return max(1, chunk_bytes(model.device) // max(x.nbytes, 1))


def chunks(total: int, step: int) -> list[int]:
    """`total` items split into runs of at most `step`: the size of each, in order."""
    return [min(step, total - start) for start in range(0, total, step)]
