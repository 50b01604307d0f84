"""Label-preserving changes to training inputs, one regime per recipe (`Recipe.augment`), driven by a seeded generator.

Inputs are N x C x H x W in the model's normalised units; `spec` converts to [0, 1] where a change is defined on
grey levels (gamma, noise).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from workbench.specs import InputSpec

# What another machine or another technician changes (augment "acquisition"): a rotation (degrees), a zoom (a
# crop of 1/zoom of the side; below 1 the film shrinks, edges repeated), a shift (share of the side), exposure
# (a gain and an offset of the grey levels), gamma (the detector's response curve, log-uniform), blur (a
# Gaussian of sigma in px, on half the films) and noise (Gaussian, sigma in [0, 1] units).
ACQUISITION = {"rotation": 7.0, "zoom": (0.9, 1.15), "shift": 0.04, "gain": (0.75, 1.3), "offset": 0.08,
               "gamma": (0.7, 1.45), "blur": (0.3, 1.2), "blur_share": 0.5, "noise": (0.0, 0.03)}


def _uniform(n: int, lo: float, hi: float, gen: torch.Generator) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen)


def _affine(xb: torch.Tensor, rotation: float, zoom: tuple[float, float], shift: float,
            gen: torch.Generator) -> torch.Tensor:
    """Each input rotated, zoomed and shifted (edges repeated where the film runs out)."""
    n = len(xb)
    angle = torch.deg2rad(_uniform(n, -rotation, rotation, gen))
    scale = 1 / _uniform(n, *zoom, gen)
    shifts = [2 * _uniform(n, -shift, shift, gen) for _ in range(2)]  # the grid runs -1 to 1
    cos, sin = scale * torch.cos(angle), scale * torch.sin(angle)
    theta = torch.stack([torch.stack([cos, -sin, shifts[0]], 1), torch.stack([sin, cos, shifts[1]], 1)], 1)
    grid = F.affine_grid(theta, list(xb.shape), align_corners=False)
    return F.grid_sample(xb, grid, padding_mode="border", align_corners=False)


def _blur(x01: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Each image blurred by its own Gaussian (a separable kernel per image, as a grouped convolution)."""
    n, c, h, w = x01.shape
    radius = math.ceil(3 * float(sigma.max()))
    taps = torch.arange(-radius, radius + 1, dtype=x01.dtype)
    kernel = torch.exp(-taps[None] ** 2 / (2 * sigma[:, None] ** 2))
    kernel = (kernel / kernel.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (n c) x taps
    flat = F.pad(x01.reshape(1, n * c, h, w), (radius,) * 4, mode="replicate")
    flat = F.conv2d(flat, kernel[:, None, None, :], groups=n * c)
    flat = F.conv2d(flat, kernel[:, None, :, None], groups=n * c)
    return flat.reshape(n, c, h, w)


def acquisition(xb: torch.Tensor, spec: InputSpec, gen: torch.Generator) -> torch.Tensor:
    """Geometry, exposure, gamma, blur and noise (`ACQUISITION`), in [0, 1] grey levels, back to model units."""
    a, n = ACQUISITION, len(xb)
    mean, std = torch.tensor(spec.mean).view(1, -1, 1, 1), torch.tensor(spec.std).view(1, -1, 1, 1)
    x01 = _affine(xb, a["rotation"], a["zoom"], a["shift"], gen) * std + mean

    def each(values: torch.Tensor) -> torch.Tensor:
        return values.view(-1, 1, 1, 1)

    x01 = x01 * each(_uniform(n, *a["gain"], gen)) + each(_uniform(n, -a["offset"], a["offset"], gen))
    gamma = torch.exp(_uniform(n, math.log(a["gamma"][0]), math.log(a["gamma"][1]), gen))
    x01 = x01.clamp(0, 1) ** each(gamma)
    blurred = torch.rand(n, generator=gen) < a["blur_share"]
    if blurred.any():
        x01[blurred] = _blur(x01[blurred], _uniform(int(blurred.sum()), *a["blur"], gen))
    x01 = x01 + each(_uniform(n, *a["noise"], gen)) * torch.randn(x01.shape, generator=gen)
    return (x01.clamp(0, 1) - mean) / std


def augment(xb: torch.Tensor, kind: str, spec: InputSpec, gen: torch.Generator) -> torch.Tensor:
    """Left-right flips for phantom chests (`lr_flip`), all eight dihedral moves for tissue (`dihedral`), what
    another acquisition changes on a real film (`acquisition`; never a flip: a mirrored film puts the heart on
    the right and mirrors the side marker), or none."""
    if kind == "acquisition":
        return acquisition(xb, spec, gen)
    if kind == "none":
        return xb
    flip = torch.rand(len(xb), generator=gen) < 0.5
    xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
    if kind == "dihedral":
        flip = torch.rand(len(xb), generator=gen) < 0.5
        xb = torch.where(flip[:, None, None, None], xb.flip(-2), xb)
        if torch.rand(1, generator=gen) < 0.5:
            xb = xb.transpose(-1, -2)
    return xb
