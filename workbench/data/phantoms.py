"""Synthetic chest X-ray phantoms with known lesion masks.

Every image is a pure function of (seed, split, index), so the training set, the held-out set,
the sample files and the benchmark cases can be rebuilt anywhere bit for bit, and the lesion mask
is the ground truth a faithful explanation has to find.

Anatomy (all in a rotated, scaled, shifted patient frame): thorax outline, two lung fields cut by
the diaphragm domes, ribs, clavicles, heart, spine. `affected` images add 1-3 lesions (small
nodules or larger patchy opacities) whose contrast is comparable to the ribs and the noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from workbench.io.image import encode_png
from workbench.tasks import TASKS

LABELS = TASKS["lung_xray"].labels  # ("normal", "affected")
SIZE = 128
SPLITS = {"train": 0, "val": 1, "test": 2, "sample": 3, "bench": 4}


@dataclass(frozen=True)
class Phantom:
    """One generated case: image in [0, 1], lesion mask (all False for `normal`) and label index."""

    image: np.ndarray  # float32, SIZE x SIZE, values in [0, 1]
    mask: np.ndarray  # bool, SIZE x SIZE
    label: int


def streams(seed: int, split: str, index: int) -> tuple[np.random.Generator, ...]:
    """Independent random streams for anatomy, lesions and acquisition: leaving the lesions out
    changes nothing else, which is what makes a case's counterfactual twin."""
    root = np.random.SeedSequence([seed, SPLITS[split], index])
    return tuple(np.random.default_rng(child) for child in root.spawn(3))


def soft(inside: np.ndarray, edge: float = 1.5) -> np.ndarray:
    """Turn a signed 'inside' field (>0 inside) into a soft 0..1 region with an edge of `edge` px."""
    return np.clip(0.5 + inside / (2 * edge), 0.0, 1.0)


def ellipse(u, v, cu, cv, ru, rv, angle=0.0):
    """Signed inside-distance (approx., in px) of an ellipse in (u, v) coordinates."""
    c, s = np.cos(angle), np.sin(angle)
    du, dv = u - cu, v - cv
    a = (c * du + s * dv) / ru
    b = (-s * du + c * dv) / rv
    return (1.0 - np.sqrt(a * a + b * b)) * min(ru, rv)


@dataclass(frozen=True)
class Anatomy:
    """A chest before acquisition: the image, the patient frame and each lung field's signed
    inside-distance (>0 inside), for generators that add lesions or objects on top."""

    image: np.ndarray
    yy: np.ndarray
    xx: np.ndarray
    scale: float
    u: np.ndarray  # patient frame, left-right
    v: np.ndarray  # patient frame, head-feet (down positive)
    lung_fields: tuple[np.ndarray, np.ndarray]

    @property
    def lungs(self) -> np.ndarray:
        """Both lung fields as one mask."""
        return np.maximum(*self.lung_fields) > 0


def make_anatomy(rng: np.random.Generator, size: int = SIZE) -> Anatomy:
    """Thorax, lungs cut by the diaphragm domes, heart, spine, ribs and clavicles."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    # Patient frame: unit ~ pixels of a 128 image, centred, rotated, scaled, shifted.
    scale = rng.uniform(0.88, 1.08) * size / 128.0
    angle = np.deg2rad(rng.uniform(-7, 7))
    cx, cy = size / 2 + rng.normal(0, 3) * scale, size / 2 + rng.normal(0, 3) * scale
    c, s = np.cos(angle), np.sin(angle)
    u = (c * (xx - cx) + s * (yy - cy)) / scale  # left-right
    v = (-s * (xx - cx) + c * (yy - cy)) / scale  # head-feet (down positive)

    img = np.full((size, size), 0.06, np.float32)
    thorax = soft(ellipse(u, v, 0, 4, rng.uniform(52, 58), rng.uniform(60, 66)), 3)
    img += 0.40 * thorax

    # Lung fields: ellipses, cut at the bottom by diaphragm domes.
    lung = np.zeros_like(img)
    lung_fields = []
    for side in (-1, 1):
        lu = side * rng.uniform(22, 26)
        field = ellipse(u, v, lu, -2 + rng.normal(0, 1.5), rng.uniform(17, 21), rng.uniform(38, 44),
                         side * np.deg2rad(rng.uniform(4, 10)))
        dome = (rng.uniform(26, 34) + 0.012 * (u - lu) ** 2) - v  # >0 above the diaphragm
        inside = np.minimum(field, dome)
        lung_fields.append(inside)
        lung = np.maximum(lung, soft(inside, 2))
    img -= 0.30 * lung

    # Heart: bright, overlapping the (image-right) lung's medial part.
    heart = soft(ellipse(u, v, rng.uniform(8, 13), rng.uniform(9, 14), rng.uniform(18, 23),
                           rng.uniform(15, 19), np.deg2rad(rng.uniform(-30, -15))), 2)
    img += 0.24 * heart * thorax
    # Spine: vertical band with faint vertebra texture.
    spine = soft(rng.uniform(5, 7) - np.abs(u), 1.5) * thorax
    img += (0.14 + 0.03 * np.cos(v / 3.2)) * spine

    # Ribs: curved bands across each hemithorax; clavicles: slanted bands at the top.
    rib_amp = rng.uniform(0.07, 0.11)
    spacing = rng.uniform(8.5, 10.5)
    ribs = np.zeros_like(img)
    for k in range(8):
        v0 = -40 + k * spacing
        centre = v0 + 0.010 * u ** 2 + 0.15 * np.abs(u)
        ribs = np.maximum(ribs, soft(1.8 - np.abs(v - centre), 1.0))
    img += rib_amp * ribs * thorax * (np.abs(u) > 5)
    for side in (-1, 1):
        clav_v = -44 + 0.18 * side * u + rng.normal(0, 1)
        clav = soft(2.2 - np.abs(v - clav_v), 1.0) * soft(34 - np.abs(u - side * 18), 2)
        img += 0.12 * clav
    return Anatomy(img, yy, xx, scale, u, v, (lung_fields[0], lung_fields[1]))


def acquire(img: np.ndarray, acquisition: np.random.Generator) -> np.ndarray:
    """Contrast (gamma and window), blur and noise, clipped to [0, 1]."""
    img = np.clip(img, 0, 1)
    img = img ** acquisition.uniform(0.8, 1.25)
    lo, hi = acquisition.uniform(0.0, 0.05), acquisition.uniform(0.75, 0.95)
    img = (img - lo) / (hi - lo)
    img = ndimage.gaussian_filter(img, acquisition.uniform(0.4, 1.1))
    img = img + acquisition.normal(0, acquisition.uniform(0.015, 0.035), img.shape)
    return np.clip(img, 0, 1).astype(np.float32)


def make_phantom(seed: int, split: str, index: int, label: int | None = None,
                 size: int = SIZE, twin: bool = False, lesion_gain: float = 1.0) -> Phantom:
    """Generate one phantom. `label` None draws it (balanced); 0 = normal, 1 = affected.

    `twin=True` gives the case's counterfactual twin: the same anatomy, contrast, blur and noise
    with the lesions left out (the mask still says where they were; the label stays the case's).
    `lesion_gain` scales the lesions' contrast: training starts on plainer lesions (a curriculum).
    """
    rng, lesion_rng, acquisition = streams(seed, split, index)
    if label is None:
        label = int(rng.integers(0, 2))
    anatomy = make_anatomy(rng, size)
    img, yy, xx, scale = anatomy.image, anatomy.yy, anatomy.xx, anatomy.scale

    mask = np.zeros((size, size), bool)
    if label == 1:
        lung_any = np.maximum(*anatomy.lung_fields)
        candidates = np.argwhere(lung_any > 3.0)
        for _ in range(int(lesion_rng.integers(1, 4))):
            cyx = candidates[lesion_rng.integers(len(candidates))]
            kind = lesion_rng.random()
            if kind < 0.5:  # nodule: small, round, fairly sharp
                r = lesion_rng.uniform(2.5, 5.0) * scale
                amp = lesion_rng.uniform(0.14, 0.22)
                d = np.hypot(yy - cyx[0], xx - cyx[1])
                blob = soft(r - d, 1.0)
            else:  # patchy opacity: larger, irregular, soft
                r = lesion_rng.uniform(6.0, 12.0) * scale
                amp = lesion_rng.uniform(0.12, 0.18)
                d = np.hypot((yy - cyx[0]) / lesion_rng.uniform(0.7, 1.3), xx - cyx[1])
                texture = ndimage.gaussian_filter(lesion_rng.normal(0, 1, (size, size)), 2.5)
                texture = 0.6 + 0.4 * texture / (np.abs(texture).max() + 1e-6)
                blob = np.exp(-0.5 * (d / (0.6 * r)) ** 2) * texture
                blob = np.where(blob >= 0.1 * blob.max(), blob, 0)  # a bounded footprint: twins differ only near it
            if not twin:
                img += lesion_gain * amp * blob
            mask |= blob > 0.35 * blob.max()
    return Phantom(acquire(img, acquisition), mask, label)


def make_dataset(n: int, seed: int = 0, split: str = "train", size: int = SIZE, lesion_gain: float = 1.0):
    """Balanced arrays (images N x H x W float32, masks N x H x W bool, labels N int64)."""
    cases = [make_phantom(seed, split, i, label=i % 2, size=size, lesion_gain=lesion_gain) for i in range(n)]
    return (np.stack([c.image for c in cases]), np.stack([c.mask for c in cases]),
            np.array([c.label for c in cases], np.int64))


def write_samples(out_dir, n_per_class: int = 3, seed: int = 0) -> list[str]:
    """Write `normal_NN.png`, `affected_NN.png` and `affected_NN_mask.png` sample files."""
    from pathlib import Path

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for i in range(2 * n_per_class):
        case = make_phantom(seed, "sample", i, label=i % 2)
        stem = f"{LABELS[case.label]}_{i // 2 + 1:02d}"
        (out / f"{stem}.png").write_bytes(encode_png(case.image))
        written.append(f"{stem}.png")
        if case.label == 1:
            (out / f"{stem}_mask.png").write_bytes(encode_png(case.mask))
            written.append(f"{stem}_mask.png")
    return written


if __name__ == "__main__":
    import sys

    print("\n".join(write_samples(sys.argv[1] if len(sys.argv) > 1 else "sample_files/lung_xray")))
