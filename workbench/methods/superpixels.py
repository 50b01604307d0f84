"""The features LIME and Kernel SHAP switch on and off: superpixels of an image, tiles of a spectrogram.

Both methods share this one segmentation, so their maps are comparable region for region. Images use
scikit-image's SLIC, Felzenszwalb or quickshift on the input in [0, 1]; a spectrogram (or an image, on
request) is cut into rectangular tiles, so a feature reads "this band at this time".
"""

from __future__ import annotations

import numpy as np

from workbench.errors import InputError
from workbench.methods.base import Param
from workbench.models import ModelAdapter

IMAGE_ALGORITHMS = ("slic", "felzenszwalb", "quickshift", "grid")
AUDIO_ALGORITHMS = ("grid",)


def is_spectrogram(model: ModelAdapter) -> bool:
    return model.info.input.signal is not None


def superpixel_params(model: ModelAdapter) -> list[Param]:
    """The segmentation parameters LIME and Kernel SHAP both take."""
    if is_spectrogram(model):
        return [Param("superpixels", "choice", "grid", "Features: rectangular time x frequency tiles.",
                      choices=AUDIO_ALGORITHMS),
                Param("superpixel_size", "int", 16, "Tile side, in frames and mel bands.", 2, 128)]
    h, w = model.info.input.size
    return [Param("superpixels", "choice", "slic", "How the image is cut into features: SLIC (compact regions "
                  "that follow edges), Felzenszwalb (graph-based, uneven sizes), quickshift (mode seeking), or a "
                  "plain grid of squares.", choices=IMAGE_ALGORITHMS),
            Param("superpixel_size", "int", max(4, min(h, w) // 8), "Typical superpixel side in pixels (for "
                  "Felzenszwalb and quickshift, roughly): smaller = more features, finer maps, more samples "
                  "needed.", 2, 128)]


def as_image01(model: ModelAdapter, x: np.ndarray) -> np.ndarray:
    """The first item of a model-scale batch as an H x W x C image in [0, 1] (what the user sees)."""
    spec = model.info.input
    chw = x[0] * np.reshape(spec.std, (-1, 1, 1)) + np.reshape(spec.mean, (-1, 1, 1))
    return np.clip(np.moveaxis(chw, 0, -1), 0.0, 1.0).astype(np.float64)


def grid(h: int, w: int, size: int) -> np.ndarray:
    rows, cols = np.arange(h) // size, np.arange(w) // size
    return rows[:, None] * (cols.max() + 1) + cols[None, :]


def segment(model: ModelAdapter, x: np.ndarray, algorithm: str, size: int) -> np.ndarray:
    """Feature labels 0..M-1 (H x W int), consecutive, as lime and shap expect."""
    h, w = x.shape[-2:]
    if algorithm == "grid":
        labels = grid(h, w, size)
    elif algorithm in IMAGE_ALGORITHMS and not is_spectrogram(model):
        from skimage import segmentation

        image = as_image01(model, x)
        gray = image.shape[-1] == 1
        if algorithm == "slic":
            labels = segmentation.slic(image[..., 0] if gray else image, n_segments=max(1, h * w // size**2),
                                       compactness=0.3 if gray else 10.0, start_label=0,
                                       channel_axis=None if gray else -1)
        elif algorithm == "felzenszwalb":
            labels = segmentation.felzenszwalb(image[..., 0] if gray else image, scale=size, sigma=0.5,
                                               min_size=size**2 // 2, channel_axis=None if gray else -1)
        else:
            rgb = np.repeat(image, 3, axis=-1) if gray else image
            labels = segmentation.quickshift(rgb, kernel_size=max(1, size / 8), max_dist=size, ratio=0.5,
                                             convert2lab=not gray, rng=0)
    else:
        raise InputError(f"superpixels must be one of {AUDIO_ALGORITHMS if is_spectrogram(model) else IMAGE_ALGORITHMS}"
                         f" for this model, not '{algorithm}'.")
    return np.unique(labels, return_inverse=True)[1].reshape(h, w)


def compose(x: np.ndarray, baseline: np.ndarray, segments: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Copies of `x` (1 x C x H x W), one per row of `on` (N x M, truthy = feature kept), where every
    switched-off feature shows the baseline instead."""
    keep = np.asarray(on, bool)[:, segments]  # N x H x W
    return np.where(keep[:, None], x, baseline).astype(np.float32)
