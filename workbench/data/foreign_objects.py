"""Chest X-ray phantoms with foreign objects, their pixel masks, and the image-quality score.

Objects a technologist should have removed before the exposure, drawn as radio-opaque (bright)
shapes on the phantom anatomy of `phantoms.py`, before acquisition (so they share its blur and
noise): buttons, coins, ECG electrodes with their leads, jewellery chains, clips, and a
pacemaker-like box with its lead. Objects draw from their own random stream, so a case's twin
(`twin=True`) is the same chest without them.

The quality score and its grades are the task's (`tasks/quality.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from workbench.data import phantoms
from workbench.data.phantoms import soft
from workbench.io.image import encode_png
from workbench.tasks import TASKS
from workbench.tasks.quality import quality_score

LABELS = TASKS["iqa_segmentation"].labels  # objects split by what lies beneath them
OBJECT_CLASSES = (LABELS.index("object_over_lungs"), LABELS.index("object_elsewhere"))
SIZE = phantoms.SIZE
OBJECT_KINDS = ("button", "coin", "ecg_lead", "chain", "clip", "pacemaker")


@dataclass(frozen=True)
class IqaCase:
    image: np.ndarray  # float32 H x W in [0, 1]
    objects: np.ndarray  # bool H x W: foreign-object pixels
    lungs: np.ndarray  # bool H x W: the lung fields (under the objects too)
    kinds: tuple[str, ...]  # the objects drawn, in order

    @property
    def label_map(self) -> np.ndarray:
        """Per-pixel class indices of LABELS."""
        out = np.zeros(self.image.shape, np.int64)
        out[self.lungs & ~self.objects] = LABELS.index("lung_field")
        out[self.objects & self.lungs] = LABELS.index("object_over_lungs")
        out[self.objects & ~self.lungs] = LABELS.index("object_elsewhere")
        return out


# --- object shapes: each returns a density in [0, 1] on the image grid ------------------------------

def _disc(yy, xx, cy, cx, r):
    return soft(r - np.hypot(yy - cy, xx - cx), 0.6)


def _curve(rng: np.random.Generator, start, end, bend: float, n: int = 200) -> np.ndarray:
    """Points of a smooth quadratic curve from start to end, bowed sideways by up to `bend` px."""
    start, end = np.asarray(start, float), np.asarray(end, float)
    normal = np.array([-(end - start)[1], (end - start)[0]]) / (np.linalg.norm(end - start) + 1e-6)
    mid = (start + end) / 2 + normal * rng.uniform(-bend, bend)
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) ** 2 * start + 2 * t * (1 - t) * mid + t ** 2 * end


def _stroke(shape, points: np.ndarray, width: float) -> np.ndarray:
    """A line of `width` px along `points` (y, x), through a distance transform of the rasterised points."""
    hit = np.ones(shape, bool)
    ij = np.round(points).astype(int)
    ok = (ij[:, 0] >= 0) & (ij[:, 0] < shape[0]) & (ij[:, 1] >= 0) & (ij[:, 1] < shape[1])
    hit[ij[ok, 0], ij[ok, 1]] = False
    if hit.all():
        return np.zeros(shape, np.float32)
    return soft(width / 2 - ndimage.distance_transform_edt(hit) + 0.5, 0.6)


def _button(rng, a: phantoms.Anatomy, at):
    r = rng.uniform(3.5, 5.0) * a.scale
    density = _disc(a.yy, a.xx, *at, r)
    for k in range(4):  # four thread holes
        angle = np.pi / 4 + k * np.pi / 2
        density *= 1 - _disc(a.yy, a.xx, at[0] + 0.4 * r * np.sin(angle), at[1] + 0.4 * r * np.cos(angle), 0.8)
    return density


def _coin(rng, a: phantoms.Anatomy, at):
    return _disc(a.yy, a.xx, *at, rng.uniform(4.5, 7.0) * a.scale)


def _ecg_lead(rng, a: phantoms.Anatomy, at):
    """An electrode (a ring with a snap) and its lead running off the image."""
    size = a.image.shape[0]
    r = rng.uniform(3.5, 4.5) * a.scale
    ring = _disc(a.yy, a.xx, *at, r) * (1 - 0.6 * _disc(a.yy, a.xx, *at, r - 1.3))
    snap = _disc(a.yy, a.xx, *at, 1.3)
    edge = rng.choice(4)
    far = [(-5, rng.uniform(0, size)), (size + 5, rng.uniform(0, size)),
           (rng.uniform(0, size), -5), (rng.uniform(0, size), size + 5)][edge]
    lead = _stroke(a.image.shape, _curve(rng, at, far, 25), rng.uniform(1.8, 2.6))
    return np.maximum(np.maximum(ring, snap), lead)


def _chain(rng, a: phantoms.Anatomy, at):
    """Beads along a necklace hanging from the neck, sometimes with a pendant at its lowest point."""
    size = a.image.shape[0]
    top = size * rng.uniform(0.08, 0.16)
    half = rng.uniform(14, 24) * a.scale
    drop = rng.uniform(18, 40) * a.scale
    cx = size / 2 + rng.normal(0, 3)
    t = np.linspace(-1, 1, 60)
    ys, xs = top + drop * (1 - t ** 2), cx + half * t
    bead_r = rng.uniform(1.3, 1.8)
    step = max(int(round(2.2 * bead_r / (np.hypot(np.diff(ys), np.diff(xs)).mean()))), 1)
    density = np.zeros_like(a.image)
    for y, x in zip(ys[::step], xs[::step]):
        density = np.maximum(density, _disc(a.yy, a.xx, y, x, bead_r))
    if rng.random() < 0.6:
        density = np.maximum(density, _disc(a.yy, a.xx, ys[30] + 4, xs[30], rng.uniform(2.5, 4.0)))
    return density


def _clip(rng, a: phantoms.Anatomy, at):
    """A paper-clip-like outline: a thin rotated rectangle with a hollow middle."""
    angle = rng.uniform(0, np.pi)
    c, s = np.cos(angle), np.sin(angle)
    du, dv = a.xx - at[1], a.yy - at[0]
    p, q = c * du + s * dv, -s * du + c * dv
    length, width = rng.uniform(6, 9) * a.scale, rng.uniform(2.5, 3.5) * a.scale
    outer = soft(np.minimum(length - np.abs(p), width - np.abs(q)), 0.6)
    inner = soft(np.minimum(length - 1.6 - np.abs(p), width - 1.6 - np.abs(q)), 0.6)
    return np.clip(outer - inner, 0, 1)


def _pacemaker(rng, a: phantoms.Anatomy, at):
    """A rounded box below a clavicle with its lead curving down to the heart."""
    side = rng.choice((-1, 1))
    cy = a.image.shape[0] * rng.uniform(0.22, 0.3)
    cx = a.image.shape[1] / 2 + side * rng.uniform(22, 32) * a.scale
    hy, hx = rng.uniform(4.5, 6.0) * a.scale, rng.uniform(6.0, 8.0) * a.scale
    box = soft(2.5 - np.hypot(np.maximum(np.abs(a.yy - cy) - hy + 2.5, 0),
                              np.maximum(np.abs(a.xx - cx) - hx + 2.5, 0)), 0.6)
    heart = (a.image.shape[0] * rng.uniform(0.55, 0.62), a.image.shape[1] / 2 + rng.uniform(4, 12))
    lead = _stroke(a.image.shape, _curve(rng, (cy, cx), heart, 15), rng.uniform(1.8, 2.4))
    return np.maximum(box, lead)


_SHAPES: dict[str, Callable] = {"button": _button, "coin": _coin, "ecg_lead": _ecg_lead, "chain": _chain,
                                "clip": _clip, "pacemaker": _pacemaker}


def make_case(seed: int, split: str, index: int, n_objects: int | None = None, size: int = SIZE,
              twin: bool = False) -> IqaCase:
    """One chest with 0-4 foreign objects (drawn when `n_objects` is None: a fifth have none).

    `twin=True`: the same chest, contrast, blur and noise without the objects (the mask stays).
    """
    rng, object_rng, acquisition = phantoms.streams(seed, split, index)
    anatomy = phantoms.make_anatomy(rng, size)
    if n_objects is None:
        n_objects = 0 if object_rng.random() < 0.2 else int(object_rng.integers(1, 5))
    thorax = np.argwhere(np.hypot(anatomy.u / 50, (anatomy.v - 4) / 58) < 1)
    density = np.zeros_like(anatomy.image)
    kinds = []
    for _ in range(n_objects):
        kind = OBJECT_KINDS[int(object_rng.integers(len(OBJECT_KINDS)))]
        at = thorax[object_rng.integers(len(thorax))].astype(float)
        density = np.maximum(density, _SHAPES[kind](object_rng, anatomy, at))
        kinds.append(kind)
    brightness = object_rng.uniform(0.55, 0.9)
    image = anatomy.image if twin else anatomy.image + (brightness * density).astype(np.float32)
    return IqaCase(phantoms.acquire(image, acquisition), density > 0.5, anatomy.lungs, tuple(kinds))


def make_dataset(n: int, seed: int = 0, split: str = "train", size: int = SIZE):
    """Arrays: images N x H x W float32, label maps N x H x W int64 (LABELS), quality scores N."""
    cases = [make_case(seed, split, i, size=size) for i in range(n)]
    return (np.stack([c.image for c in cases]), np.stack([c.label_map for c in cases]),
            np.array([quality_score(c.lungs, c.objects) for c in cases], np.float32))


def write_samples(out_dir, n: int = 6, seed: int = 0) -> list[str]:
    """`chest_NN.png` with `chest_NN_mask.png` (the foreign-object mask; none for a clean chest),
    from clean to poor."""
    from pathlib import Path

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for i in range(n):
        case = make_case(seed, "sample", i, n_objects=i % 4 + (i >= 4))
        stem = f"chest_{i + 1:02d}"
        (out / f"{stem}.png").write_bytes(encode_png(case.image))
        written.append(f"{stem}.png")
        if case.objects.any():
            (out / f"{stem}_mask.png").write_bytes(encode_png(case.objects))
            written.append(f"{stem}_mask.png")
    return written
