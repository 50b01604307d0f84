"""Image tasks: decode an image file, convert it to the model's channels and size, normalise."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workbench.arrays import resize
from workbench.errors import InputError
from workbench.io import xray_folder
from workbench.io.image import decode_image
from workbench.paths import photo_files
from workbench.specs import InputSpec
from workbench.tasks.base import Axes, Picture, Sample, Task

LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601


class ImageTask(Task):
    modality = "image"

    def __init__(self, *args, real_samples: Path | None = None, photos: tuple[str, ...] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # a chest X-ray folder outside the repo (io/xray_folder.py's layout, its classes in label order), if present
        self.real_samples = real_samples
        self.photos = photos  # scikit-image's photographs, as samples for a generic classifier (paths.photo_files)

    def samples(self) -> list[Sample]:
        """The task's own sample files, then a few films of the real folder's held-out patients when it is on
        this machine (none when it is absent or not in that layout: the training loader says what is wrong),
        read where they are, never copied, named so that they show as real."""
        out = super().samples() + [Sample(f"photo: {p.stem}", p) for p in photo_files(self.photos)]
        if self.real_samples is None or not self.real_samples.is_dir():
            return out
        try:
            films = xray_folder.held_out_films(self.real_samples)
        except InputError:
            return out
        return out + [Sample(f"real: {xray_folder.CLASSES[f.label]} {f.path.stem}", f.path, self.labels[f.label])
                      for f in films]

    def decode(self, data: bytes, name: str = "the file") -> np.ndarray:
        return decode_image(data, name)

    def chw01(self, raw: np.ndarray, spec: InputSpec) -> np.ndarray:
        """[0, 1] image at the model's size and channel count (colour to gray by luma): what `preprocess`
        normalises, and what training on real files stores (no train/serve skew)."""
        img = raw @ LUMA if raw.ndim == 3 and spec.channels == 1 else raw
        img = img[None] if img.ndim == 2 else np.moveaxis(img, -1, 0)
        if img.shape[0] != spec.channels:
            img = np.repeat(img[:1], spec.channels, axis=0)
        return resize(img, spec.size)

    def preprocess(self, raw: np.ndarray, spec: InputSpec) -> np.ndarray:
        return spec.normalize(self.chw01(raw, spec))[None]

    def picture(self, raw: np.ndarray, spec: InputSpec) -> Picture:
        chw = self.chw01(raw, spec)
        rgb = np.repeat(chw[:1], 3, axis=0) if chw.shape[0] != 3 else chw
        return Picture(np.clip(np.moveaxis(rgb, 0, -1), 0, 1), Axes.pixels(*spec.size))
