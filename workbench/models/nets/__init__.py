"""Network architectures bundled models use, built by name from a model's config.json.

Only registered architectures can be built: a config names one and gives its keyword arguments,
and the weights come from safetensors, so loading never runs pickled code.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from workbench.models.nets.alexnet import CompactAlexNet
from workbench.models.nets.resnet import CompactResNet
from workbench.registry import Registry

ARCHITECTURES: Registry[Callable[..., nn.Module]] = Registry("architecture")
ARCHITECTURES.register(CompactResNet, key="compact_resnet")
ARCHITECTURES.register(CompactAlexNet, key="compact_alexnet")


# torchvision (and smp) are imported when such a network is built: torchvision imports torch._dynamo,
# some 1.5 s that a compact ResNet or AlexNet never needs.
def _densenet(**kwargs) -> nn.Module:
    from workbench.models.nets.torchvision_nets import CompactDenseNet

    return CompactDenseNet(**kwargs)


def _efficientnet(**kwargs) -> nn.Module:
    from workbench.models.nets.torchvision_nets import CompactEfficientNet

    return CompactEfficientNet(**kwargs)


def _deeplabv3plus(**kwargs) -> nn.Module:
    from workbench.models.nets.segmentation import deeplabv3plus

    return deeplabv3plus(**kwargs)


ARCHITECTURES.register(_densenet, key="compact_densenet")
ARCHITECTURES.register(_efficientnet, key="compact_efficientnet")
ARCHITECTURES.register(_deeplabv3plus, key="deeplabv3plus")


def build(architecture: str, **kwargs) -> nn.Module:
    """Build a registered architecture; lists in the config (nested too) become tuples for the constructors."""
    if architecture not in ARCHITECTURES:
        raise KeyError(f"unknown architecture '{architecture}'; known: {ARCHITECTURES.ids()}")

    def frozen(v):
        return tuple(frozen(x) for x in v) if isinstance(v, list) else v

    args = {k: frozen(v) for k, v in kwargs.items()}
    return ARCHITECTURES[architecture](**args)
