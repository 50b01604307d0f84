"""Image tasks: decode an image file, convert it to the model's channels and size, normalise."""

from __future__ import annotations

import numpy as np

from workbench.arrays import resize
from workbench.io.image import decode_image
from workbench.specs import InputSpec
from workbench.tasks.base import Axes, Picture, Task

LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601


class ImageTask(Task):
    modality = "image"

    def decode(self, data: bytes, name: str = "the file") -> np.ndarray:
        return decode_image(data, name)

    def _chw01(self, raw: np.ndarray, spec: InputSpec) -> np.ndarray:
        """[0, 1] image at the model's size and channel count (colour to gray by luma)."""
        img = raw @ LUMA if raw.ndim == 3 and spec.channels == 1 else raw
        img = img[None] if img.ndim == 2 else np.moveaxis(img, -1, 0)
        if img.shape[0] != spec.channels:
            img = np.repeat(img[:1], spec.channels, axis=0)
        return resize(img, spec.size)

    def preprocess(self, raw: np.ndarray, spec: InputSpec) -> np.ndarray:
        return spec.normalize(self._chw01(raw, spec))[None]

    def picture(self, raw: np.ndarray, spec: InputSpec) -> Picture:
        chw = self._chw01(raw, spec)
        rgb = np.repeat(chw[:1], 3, axis=0) if chw.shape[0] != 3 else chw
        return Picture(np.clip(np.moveaxis(rgb, 0, -1), 0, 1), Axes.pixels(*spec.size))
