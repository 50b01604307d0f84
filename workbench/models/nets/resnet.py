"""Compact ResNet: the ResNet-18 layout, narrower and shallower, for small inputs."""

from __future__ import annotations

import torch
from torch import nn

from workbench.models.nets.standardize import first_layer


class BasicBlock(nn.Module):
    """ResNet basic block: two 3x3 convolutions with a (projected) identity shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU()
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                          nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class CompactResNet(nn.Module):
    """A narrow ResNet (ResNet-18 layout, fewer channels and blocks) for small grayscale inputs.

    Stages: stem (stride 2), layer1..layer4 with strides 1, 2, 2, 1, so a 128x128 input gives a
    16x16 map at `layer4`: fine enough for Grad-CAM to localise lesions of a few pixels. `standardize`
    makes the first layer per-image standardisation (nets/standardize.py).
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 2,
                 widths: tuple[int, ...] = (16, 32, 64, 128),
                 blocks: tuple[int, ...] = (1, 1, 1, 1),
                 strides: tuple[int, ...] = (1, 2, 2, 1), standardize: bool = False) -> None:
        super().__init__()
        self.standardize = first_layer(standardize)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 3, 2, 1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU())
        c_in = widths[0]
        for i, (width, n, stride) in enumerate(zip(widths, blocks, strides), start=1):
            layers = [BasicBlock(c_in, width, stride)] + [BasicBlock(width, width) for _ in range(n - 1)]
            setattr(self, f"layer{i}", nn.Sequential(*layers))
            c_in = width
        self.n_stages = len(widths)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(self.standardize(x))
        for i in range(1, self.n_stages + 1):
            x = getattr(self, f"layer{i}")(x)
        return self.fc(torch.flatten(self.pool(x), 1))
