"""Inputs that are not phantoms, for checking that the out-of-distribution test says so.

Each is a 128x128 grayscale image in [0, 1] drawn from a seeded generator: what a photograph or a
blank film with grain looks like to a model that has only seen phantoms.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from workbench.data import phantoms


def natural_texture(rng: np.random.Generator, size: int = phantoms.SIZE) -> np.ndarray:
    """1/f noise with a few hard-edged discs: the statistics of a photograph, not of a radiograph."""
    f = np.fft.fftfreq(size)
    amplitude = 1 / np.maximum(np.hypot(*np.meshgrid(f, f)), 1 / size)
    field = np.real(np.fft.ifft2(amplitude * np.exp(2j * np.pi * rng.random((size, size)))))
    img = (field - field.min()) / np.ptp(field)
    yy, xx = np.mgrid[:size, :size]
    for _ in range(4):
        cy, cx = rng.integers(0, size, 2)
        r = rng.integers(8, 30)
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.random()
    return img.astype(np.float32)


def gradient_with_grain(rng: np.random.Generator, size: int = phantoms.SIZE) -> np.ndarray:
    """A smooth ramp in a random direction and range, with film grain."""
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[:size, :size] / size
    ramp = np.cos(angle) * xx + np.sin(angle) * yy
    lo, hi = np.sort(rng.uniform(0, 1, 2))
    img = lo + (hi - lo) * (ramp - ramp.min()) / np.ptp(ramp)
    grain = ndimage.gaussian_filter(rng.normal(0, rng.uniform(0.02, 0.05), (size, size)), 0.7)
    return np.clip(img + grain, 0, 1).astype(np.float32)


def make_probes(kind: str, n: int, seed: int = 0) -> np.ndarray:
    """n probes of a kind: 'natural_texture', 'gradient_with_grain' or 'inverted_phantom'."""
    if kind == "inverted_phantom":
        return 1 - phantoms.make_dataset(n, seed=seed, split="test")[0]
    maker = {"natural_texture": natural_texture, "gradient_with_grain": gradient_with_grain}[kind]
    rng = np.random.default_rng(seed)
    return np.stack([maker(rng) for _ in range(n)])


KINDS = ("natural_texture", "gradient_with_grain", "inverted_phantom")
