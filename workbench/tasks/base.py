"""The Task contract: what an input is, how a file becomes a model input, what truth comes with it.

A task knows nothing about methods. It decodes a file to a raw array, turns the raw array into a
model input for a given input spec (from the model's config), gives the picture a map is drawn
over (with what its axes measure), and finds its sample files and their ground truth.
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workbench.arrays import resize
from workbench.errors import InputError
from workbench.paths import SAMPLES_DIR
from workbench.specs import InputSpec

MODALITIES = ("image", "audio")
OUTPUT_KINDS = ("classification", "segmentation")


@dataclass(frozen=True)
class Axes:
    """What the rows and columns of an input picture (and of every map over it) measure.

    Row 0 of a map is the top of an image but the lowest band of a spectrogram (`origin` "lower").
    """

    x_label: str
    x_unit: str
    x_range: tuple[float, float]
    y_label: str
    y_unit: str
    y_range: tuple[float, float]
    origin: str = "upper"
    y_scale: str = "linear"

    @classmethod
    def pixels(cls, height: int, width: int) -> Axes:
        return cls("x", "px", (0.0, float(width)), "y", "px", (0.0, float(height)))


@dataclass(frozen=True)
class Picture:
    """The input as it is explained (model input size, float RGB in [0, 1]) and its axes."""

    rgb: np.ndarray
    axes: Axes


@dataclass(frozen=True)
class GroundTruth:
    """Where the evidence is: a mask in input pixels (images) or a time span in seconds (audio)."""

    mask: np.ndarray | None = None
    span: tuple[float, float] | None = None

    def as_mask(self, shape: tuple[int, int], axes: Axes) -> np.ndarray:
        """The truth on a map's grid: a resized mask, or the map's columns inside the span."""
        if self.mask is not None:
            return resize(self.mask.astype(np.float32), shape, mode="bilinear") >= 0.5
        lo, hi = axes.x_range
        centres = lo + (np.arange(shape[1]) + 0.5) * (hi - lo) / shape[1]
        inside = (centres >= self.span[0]) & (centres <= self.span[1])
        return np.broadcast_to(inside, shape).copy()


@dataclass(frozen=True)
class Sample:
    """A bundled input file with its label (the file name's first word) and ground truth if known."""

    name: str
    path: Path
    label: str | None = None
    truth_path: Path | None = field(default=None)


@dataclass(frozen=True)
class Case:
    """An input generated on request, with its label and ground truth: a sample that may not be
    saved (the audio task's partial spoofs are cut from recordings the repository must not hold).
    `make` returns the input as the task decodes a file (audio: mono at the task's rate)."""

    name: str
    label: str
    make: Callable[[], tuple[np.ndarray, GroundTruth | None]]


class Task(ABC):
    """An input kind the workbench explains; concrete tasks decode and preprocess one modality."""

    modality: str

    def __init__(self, id: str, name: str, output_kind: str, labels: tuple[str, ...], description: str,
                 file_types: tuple[str, ...], default_model: str = "") -> None:
        if output_kind not in OUTPUT_KINDS:
            raise ValueError(f"output kind must be one of {OUTPUT_KINDS}")
        self.id, self.name, self.output_kind = id, name, output_kind
        self.labels, self.description, self.file_types = tuple(labels), description, tuple(file_types)
        # The bundled model a newcomer meets first (docs/models.md says why); empty: the first in name order.
        self.default_model = default_model

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.id!r})"

    @property
    def sample_dir(self) -> Path:
        return SAMPLES_DIR / self.id

    def samples(self) -> list[Sample]:
        """Files of the task's types in its sample folder. Ground truth sits beside a file as
        `<name>_mask.png` (a mask) or `<name>.json` (`{"span": [start_s, end_s]}`)."""
        if not self.sample_dir.is_dir():
            return []
        out = []
        for path in sorted(self.sample_dir.iterdir()):
            if path.suffix.lower().lstrip(".") not in self.file_types or path.stem.endswith("_mask"):
                continue
            truth = next((p for p in (path.with_name(f"{path.stem}_mask.png"), path.with_suffix(".json"))
                          if p.exists()), None)
            label = path.stem.split("_")[0]
            out.append(Sample(path.stem, path, label if label in self.labels else None, truth))
        return out

    def ground_truth(self, sample: Sample) -> GroundTruth | None:
        return None if sample.truth_path is None else self.read_truth(sample.truth_path.read_bytes(),
                                                                      sample.truth_path.name)

    def read_truth(self, data: bytes, name: str) -> GroundTruth:
        """A truth file's bytes: a mask image (image tasks) or a .json file `{"span": [start_s, end_s]}` (audio).
        Every truth is read here (samples, folders, the CLI's `--truth`, the app's upload), so a malformed one
        gets the same message on every path."""
        is_json = name.lower().endswith(".json")
        if self.modality != "audio":
            if is_json:
                raise InputError("a time span is ground truth for audio; an image task takes a mask image.")
            from workbench.io.image import decode_image

            mask = decode_image(data, name)
            return GroundTruth(mask=(mask if mask.ndim == 2 else mask.mean(-1)) > 0.5)
        if not is_json:
            raise InputError(f"cannot use {name} as ground truth: an audio task takes a .json file "
                             '{"span": [start_s, end_s]} (seconds from the clip\'s start).')
        try:
            span = json.loads(data)["span"]
            if len(span) != 2:
                raise ValueError(f"the span has {len(span)} values")
            start, end = float(span[0]), float(span[1])
        except (ValueError, KeyError, TypeError, IndexError) as err:  # JSON and decoding errors are ValueErrors
            raise InputError(f"cannot read the ground truth in {name}: a .json file "
                             f'{{"span": [start_s, end_s]}} is expected ({err}).') from None
        if not (math.isfinite(start) and math.isfinite(end) and 0 <= start < end):
            raise InputError(f"the span in {name} must run forward from 0 s or later (start < end, both finite); "
                             f"it is [{start}, {end}].")
        return GroundTruth(span=(start, end))

    def check_truth(self, truth: GroundTruth, raw: np.ndarray) -> None:
        """A user's truth must cover the input it scores: a mask is the image's size (a resized mask of another
        picture would score against the wrong pixels)."""
        if truth.mask is not None and truth.mask.shape != raw.shape[:2]:
            (mh, mw), (h, w) = truth.mask.shape, raw.shape[:2]
            raise InputError(f"the mask is {mw}x{mh} pixels but the image is {w}x{h}: a mask must be the size of "
                             "the image it marks.")

    def assess(self, label_map: np.ndarray) -> dict[str, float | str]:
        """Task read-outs of a segmentation's label map (e.g. a quality score); none by default."""
        return {}

    def read(self, data: bytes, name: str = "the file") -> tuple[np.ndarray, list[str]]:
        """Decode, with a note for anything changed to make the file usable (none by default)."""
        return self.decode(data, name), []

    @abstractmethod
    def decode(self, data: bytes, name: str = "the file") -> np.ndarray:
        """File bytes to a raw array (image H x W [x 3] in [0, 1]; audio samples)."""

    @abstractmethod
    def preprocess(self, raw: np.ndarray, spec: InputSpec) -> np.ndarray:
        """Raw array to a model input batch of one, 1 x C x H x W float32 in the model's scale."""

    @abstractmethod
    def picture(self, raw: np.ndarray, spec: InputSpec) -> Picture:
        """The picture maps of this input are drawn over, at the model's input size."""
