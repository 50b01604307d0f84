"""Network architectures bundled models use, built by name from a model's config.json.

Only registered architectures can be built: a config names one and gives its keyword arguments,
and the weights come from safetensors, so loading never runs pickled code.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from workbench.models.nets.resnet import CompactResNet
from workbench.registry import Registry

ARCHITECTURES: Registry[Callable[..., nn.Module]] = Registry("architecture")
ARCHITECTURES.register(CompactResNet, key="compact_resnet")


def build(architecture: str, **kwargs) -> nn.Module:
    """Build a registered architecture; lists in the config become tuples for the constructors."""
    if architecture not in ARCHITECTURES:
        raise KeyError(f"unknown architecture '{architecture}'; known: {ARCHITECTURES.ids()}")
    args = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    return ARCHITECTURES[architecture](**args)
