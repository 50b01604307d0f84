"""Per-image standardisation as the network's first layer: every film to zero mean and unit standard deviation.

A film from another machine differs in exposure and contrast, an affine change of its grey levels that this
undoes. Inside the network, not in preprocessing, so every caller (app, CLI, evaluation, explanations) gets it
from the weights file's architecture alone, and gradients flow through it like any other layer.
"""

from __future__ import annotations

import torch
from torch import nn


class Standardize(nn.Module):
    """(x - mean) / sqrt(var + eps) over each item's channels and pixels; no parameters. `eps` (in the input's
    normalised units) keeps a flat image (a black baseline) finite: it maps to zeros."""

    def __init__(self, eps: float = 1e-4) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        var = x.var(dim=(1, 2, 3), keepdim=True, unbiased=False)
        return (x - mean) / torch.sqrt(var + self.eps)


def first_layer(standardize: bool) -> nn.Module:
    """The input layer an architecture's `standardize` flag asks for (configs without it get the identity)."""
    return Standardize() if standardize else nn.Identity()
