"""Inputs that are not what a model was trained on, for checking that the OOD test says so.

Each probe is drawn from a seeded generator at the size and channel count of the training images:
what a photograph, a blank film with grain, or an inverted image looks like to a model that has
only seen its generator's data.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

KINDS = ("natural_texture", "gradient_with_grain", "inverted")


def natural_texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """1/f noise with a few hard-edged discs: the statistics of a photograph, not of our data."""
    f = np.fft.fftfreq(size)
    amplitude = 1 / np.maximum(np.hypot(*np.meshgrid(f, f)), 1 / size)
    field = np.real(np.fft.ifft2(amplitude * np.exp(2j * np.pi * rng.random((size, size)))))
    img = (field - field.min()) / np.ptp(field)
    yy, xx = np.mgrid[:size, :size]
    for _ in range(4):
        cy, cx = rng.integers(0, size, 2)
        r = rng.integers(size // 16, size // 4)
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.random()
    return img.astype(np.float32)


def gradient_with_grain(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth ramp in a random direction and range, with film grain."""
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[:size, :size] / size
    ramp = np.cos(angle) * xx + np.sin(angle) * yy
    lo, hi = np.sort(rng.uniform(0, 1, 2))
    img = lo + (hi - lo) * (ramp - ramp.min()) / np.ptp(ramp)
    grain = ndimage.gaussian_filter(rng.normal(0, rng.uniform(0.02, 0.05), (size, size)), 0.7)
    return np.clip(img + grain, 0, 1).astype(np.float32)


def make_probes(kind: str, like: np.ndarray, seed: int = 0) -> np.ndarray:
    """As many probes of a kind as `like` has images (N x H x W [x 3]), at their size; colour
    probes are tinted at random. 'inverted' is `like` inverted."""
    if kind == "inverted":
        return 1 - like
    rng = np.random.default_rng(seed)
    maker = {"natural_texture": natural_texture, "gradient_with_grain": gradient_with_grain}[kind]
    gray = np.stack([maker(rng, like.shape[1]) for _ in range(len(like))])
    if like.ndim == 3:
        return gray
    tint = rng.uniform(0.5, 1.0, (len(like), 1, 1, like.shape[-1]))
    return (gray[..., None] * tint).astype(np.float32)
