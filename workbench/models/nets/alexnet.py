"""Compact AlexNet: the large-kernel stem and the plain five-convolution stack, at small width."""

from __future__ import annotations

import torch
from torch import nn


def _conv(c_in: int, c_out: int, kernel: int, stride: int = 1, pool: bool = False) -> nn.Sequential:
    """Convolution, batch norm (in place of AlexNet's local response normalisation), ReLU, and
    AlexNet's overlapping 3x3/2 max pool where the original has one."""
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False),
                               nn.BatchNorm2d(c_out), nn.ReLU()]
    if pool:
        layers.append(nn.MaxPool2d(3, 2, 1))
    return nn.Sequential(*layers)


class CompactAlexNet(nn.Module):
    """AlexNet's layout: 11x11 stem, 5x5, three 3x3 convolutions, no shortcuts, then a three-layer
    fully connected head with dropout. The stem strides 2 (not 4) because inputs are 128 px, not 224,
    so `conv5` keeps a 16x16 map for Grad-CAM."""

    def __init__(self, in_channels: int = 1, num_classes: int = 2,
                 widths: tuple[int, ...] = (24, 64, 96, 96, 64), hidden: int = 256,
                 pooled: int = 4, dropout: float = 0.5) -> None:
        super().__init__()
        self.stem = _conv(in_channels, widths[0], 11, 2, pool=True)
        self.conv2 = _conv(widths[0], widths[1], 5, pool=True)
        self.conv3 = _conv(widths[1], widths[2], 3)
        self.conv4 = _conv(widths[2], widths[3], 3)
        self.conv5 = _conv(widths[3], widths[4], 3)
        self.pool = nn.AdaptiveAvgPool2d(pooled)
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(widths[4] * pooled * pooled, hidden), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv5(self.conv4(self.conv3(self.conv2(self.stem(x)))))
        return self.classifier(torch.flatten(self.pool(x), 1))
