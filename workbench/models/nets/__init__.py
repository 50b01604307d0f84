"""Network architectures bundled models use, built by name from a model's config.json.

Only registered architectures can be built: a config names one and gives its keyword arguments,
and the weights come from safetensors, so loading never runs pickled code.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from workbench.models.nets.alexnet import CompactAlexNet
from workbench.models.nets.resnet import CompactResNet
from workbench.models.nets.segmentation import deeplabv3plus
from workbench.models.nets.torchvision_nets import CompactDenseNet, CompactEfficientNet
from workbench.registry import Registry

ARCHITECTURES: Registry[Callable[..., nn.Module]] = Registry("architecture")
ARCHITECTURES.register(CompactResNet, key="compact_resnet")
ARCHITECTURES.register(CompactAlexNet, key="compact_alexnet")
ARCHITECTURES.register(CompactDenseNet, key="compact_densenet")
ARCHITECTURES.register(CompactEfficientNet, key="compact_efficientnet")
ARCHITECTURES.register(deeplabv3plus, key="deeplabv3plus")


def build(architecture: str, **kwargs) -> nn.Module:
    """Build a registered architecture; lists in the config (nested too) become tuples for the constructors."""
    if architecture not in ARCHITECTURES:
        raise KeyError(f"unknown architecture '{architecture}'; known: {ARCHITECTURES.ids()}")

    def frozen(v):
        return tuple(frozen(x) for x in v) if isinstance(v, list) else v

    args = {k: frozen(v) for k, v in kwargs.items()}
    return ARCHITECTURES[architecture](**args)
