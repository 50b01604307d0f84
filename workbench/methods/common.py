"""Pieces several method families share: reference inputs and the parameters that pick them."""

from __future__ import annotations

import numpy as np

from workbench.errors import InputError
from workbench.methods.base import Param
from workbench.models import ModelAdapter

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
