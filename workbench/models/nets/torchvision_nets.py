"""Compact DenseNet and EfficientNet built from torchvision's own classes with a smaller config.

torchvision's classes carry the defining structures (dense blocks with concatenation and
transitions; MBConv with squeeze-excitation); only the stem's input channels, widths, depths and
strides change, so the reduction is a config, written into the model's config.json.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import DenseNet, EfficientNet
from torchvision.models.efficientnet import MBConvConfig

from workbench.models.nets.standardize import first_layer


def no_inplace(module: nn.Module) -> None:
    """Switch off torchvision's in-place activations: hooks capture a layer's output, and an
    in-place activation afterwards would change what they captured."""
    for m in module.modules():
        if hasattr(m, "inplace"):
            m.inplace = False


class CompactDenseNet(DenseNet):
    """torchvision's DenseNet-BC with a 1-channel stem; `pool0` and the last transition's pooling
    can be dropped so that a 128 px input keeps a CAM map of useful size; `standardize` makes the first layer
    per-image standardisation (nets/standardize.py)."""

    def __init__(self, in_channels: int = 1, num_classes: int = 2, growth_rate: int = 12,
                 block_config: tuple[int, ...] = (6, 12, 24, 16), num_init_features: int = 24,
                 bn_size: int = 4, stem_pool: bool = True, unpooled_transitions: tuple[int, ...] = (),
                 standardize: bool = False) -> None:
        super().__init__(growth_rate=growth_rate, block_config=block_config,
                         num_init_features=num_init_features, bn_size=bn_size, num_classes=num_classes)
        self.standardize = first_layer(standardize)
        self.features.conv0 = nn.Conv2d(in_channels, num_init_features, 7, 2, 3, bias=False)
        if not stem_pool:
            self.features.pool0 = nn.Identity()
        for i in unpooled_transitions:
            getattr(self.features, f"transition{i}").pool = nn.Identity()
        no_inplace(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = nn.functional.relu(self.features(self.standardize(x)))
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(out, 1), 1))


class CompactEfficientNet(EfficientNet):
    """torchvision's EfficientNet with B0's seven MBConv stages (expansion, kernel, stride, width,
    depth per stage given in `stages`) and a 1-channel stem."""

    def __init__(self, in_channels: int = 1, num_classes: int = 2,
                 stages: tuple[tuple[int, ...], ...] = ((1, 3, 1, 8, 8, 1),),
                 last_channel: int = 256, dropout: float = 0.2, stochastic_depth: float = 0.1) -> None:
        setting = [MBConvConfig(expand, kernel, stride, c_in, c_out, n, 1.0, 1.0)
                   for expand, kernel, stride, c_in, c_out, n in stages]
        super().__init__(setting, dropout=dropout, stochastic_depth_prob=stochastic_depth,
                         num_classes=num_classes, last_channel=last_channel)
        stem = self.features[0][0]
        self.features[0][0] = nn.Conv2d(in_channels, stem.out_channels, 3, 2, 1, bias=False)
        no_inplace(self)
