"""Synthetic H&E histopathology patches of the nine PathMNIST tissue classes, with known structure.

64x64 RGB patches rendered through a stain model (Beer-Lambert with hematoxylin and eosin
optical densities, as colour deconvolution assumes), each class drawn with the structure that
defines it, and a mask of that structure where it has one:

  ADI adipose       large empty fat cells in thin eosin membranes   mask: fat-cell interiors
  BACK background   bare slide, faint grain                         no mask
  DEB debris        scattered nuclear fragments in necrotic pink    mask: fragments
  LYM lymphocytes   dense small round dark nuclei                   mask: nuclei
  MUC mucus         pale blue-grey pools with faint streaks         no mask
  MUS muscle        parallel eosin fibres, cigar-shaped nuclei      mask: nuclei
  NORM normal       glands: nuclei in a ring round a clear lumen    mask: gland lumens
  STR stroma        loose wavy fibres, sparse nuclei                mask: nuclei
  TUM tumour        crowded large irregular pale nuclei             mask: nuclei

Like the phantoms, each patch is a pure function of (seed, split, index), drawn from separate
random streams for the structure and for the tissue, stain and noise, so `twin=True` gives the
same patch with the defining structure left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from workbench.io.image import encode_png
from workbench.tasks import TASKS

LABELS = TASKS["histopathology"].labels  # PathMNIST order: ADI BACK DEB LYM MUC MUS NORM STR TUM
SIZE = 64
SPLITS = {"train": 0, "val": 1, "test": 2, "sample": 3, "bench": 4}
HEMATOXYLIN = np.array([0.65, 0.70, 0.29])  # optical density per RGB channel (Ruifrok & Johnston)
EOSIN = np.array([0.07, 0.99, 0.11])


@dataclass(frozen=True)
class Patch:
    image: np.ndarray  # float32, SIZE x SIZE x 3 in [0, 1]
    mask: np.ndarray  # bool, SIZE x SIZE: the class's defining structure (all False where it has none)
    label: int


def _streams(seed: int, split: str, index: int) -> tuple[np.random.Generator, np.random.Generator]:
    root = np.random.SeedSequence([seed, SPLITS[split], index, 7])
    return tuple(np.random.default_rng(child) for child in root.spawn(2))


def _smooth_noise(rng: np.random.Generator, sigma: float, size: int = SIZE) -> np.ndarray:
    field = ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), sigma, mode="wrap")
    return field / (field.std() + 1e-8)


def _blobs(rng: np.random.Generator, n: int, radius: tuple[float, float], elong: tuple[float, float] = (1, 1),
           angle: float | None = None, irregular: float = 0.0, size: int = SIZE,
           centres: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """n ellipses (nuclei): soft density in [0, 1] and their mask."""
    yy, xx = np.mgrid[:size, :size].astype(np.float64)
    density = np.zeros((size, size))
    if centres is None:
        centres = rng.uniform(0, size, (n, 2))  # peaks inside the patch: every nucleus is in the mask
    for cy, cx in centres:
        r = rng.uniform(*radius)
        e = rng.uniform(*elong)
        a = rng.uniform(0, np.pi) if angle is None else angle + rng.normal(0, 0.15)
        du, dv = (xx - cx) * np.cos(a) + (yy - cy) * np.sin(a), -(xx - cx) * np.sin(a) + (yy - cy) * np.cos(a)
        d = np.sqrt((du / (r * e)) ** 2 + (dv / r) ** 2)
        if irregular:
            theta = np.arctan2(dv, du)
            wobble = sum(rng.uniform(-irregular, irregular) * np.cos(k * theta + rng.uniform(0, 6.3)) for k in (2, 3))
            d = d / (1 + wobble)
        density = np.maximum(density, np.clip((1 - d) * r * 1.5, 0, 1))
    return density, density > 0.5


def _fibres(angle: float, frequency: float, warp: float, texture: np.ndarray) -> np.ndarray:
    """Parallel fibres at `angle`, bent by the tissue texture: a field in [-1, 1]."""
    yy, xx = np.mgrid[:SIZE, :SIZE]
    return np.sin((xx * np.sin(angle) - yy * np.cos(angle)) * frequency + warp * texture)


def _voronoi_edges(rng: np.random.Generator, n: int, size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Cell membranes of a jittered Voronoi tiling: (distance to the nearest edge, cell index)."""
    pts = rng.uniform(-8, size + 8, (n, 2))
    yy, xx = np.mgrid[:size, :size]
    d = np.sqrt((yy[..., None] - pts[:, 0]) ** 2 + (xx[..., None] - pts[:, 1]) ** 2)
    two = np.sort(d, axis=-1)[..., :2]
    return (two[..., 1] - two[..., 0]) / 2, d.argmin(axis=-1)


def make_patch(seed: int, split: str, index: int, label: int | None = None, twin: bool = False) -> Patch:
    """One patch; `label` None draws a class uniformly. `twin=True` leaves the defining structure out."""
    shape_rng, tissue_rng = _streams(seed, split, index)
    if label is None:
        label = int(tissue_rng.integers(len(LABELS)))
    name = LABELS[label]
    grain = _smooth_noise(tissue_rng, 1.0)
    texture = _smooth_noise(tissue_rng, 3.0)
    h = np.zeros((SIZE, SIZE))
    e = np.zeros((SIZE, SIZE))
    structure_h = np.zeros((SIZE, SIZE))  # hematoxylin of the defining structure (left out in a twin)
    structure_e = np.zeros((SIZE, SIZE))
    mask = np.zeros((SIZE, SIZE), bool)
    clear = np.zeros((SIZE, SIZE))  # where the tissue is empty (fat, lumens): no stain at all

    if name == "ADI":
        edge, _ = _voronoi_edges(shape_rng, int(shape_rng.integers(5, 9)))
        e += 0.35 * np.clip(1.6 - edge, 0, 1)  # membranes
        mask = edge > 1.2
        interior = ndimage.gaussian_filter(mask.astype(float), 0.7)  # fat-cell interiors, soft-edged
        if twin:  # the fat cells' place taken by ordinary tissue
            e += (0.30 + 0.05 * texture) * interior
        else:
            clear = interior
    elif name == "BACK":
        e += 0.03 + 0.01 * texture
    elif name == "DEB":
        e += 0.45 + 0.12 * texture
        h += 0.08 + 0.04 * texture
        dots, mask = _blobs(shape_rng, int(shape_rng.integers(12, 22)), (1.1, 1.9), irregular=0.2)
        structure_h += 0.9 * dots
    elif name == "LYM":
        e += 0.25 + 0.05 * texture
        dots, mask = _blobs(shape_rng, int(shape_rng.integers(80, 110)), (1.8, 2.3))
        structure_h += 1.3 * dots
    elif name == "MUC":
        h += 0.12 + 0.05 * texture
        e += 0.10 + 0.04 * _smooth_noise(tissue_rng, 1.5)
    elif name == "MUS":
        a = tissue_rng.uniform(0, np.pi)
        e += 0.55 + 0.15 * _fibres(a, 1.3, 2, texture)
        dots, mask = _blobs(shape_rng, int(shape_rng.integers(6, 11)), (1.3, 1.8), elong=(3.0, 4.5), angle=a)
        structure_h += 0.9 * dots
    elif name == "NORM":
        e += 0.35 + 0.06 * texture
        n_glands = int(shape_rng.integers(1, 3))
        yy, xx = np.mgrid[:SIZE, :SIZE]
        for _ in range(n_glands):
            cy, cx = shape_rng.uniform(12, SIZE - 12, 2)
            r = shape_rng.uniform(7, 11)
            dist = np.hypot(yy - cy, xx - cx)
            lumen = dist < r - 3.5
            k = int(2 * np.pi * r / 3.2)
            ring = np.array([(cy + r * np.sin(t), cx + r * np.cos(t)) for t in np.linspace(0, 2 * np.pi, k, False)])
            dots, _ = _blobs(shape_rng, k, (1.2, 1.5), elong=(1.6, 2.0), centres=ring)
            structure_h += 0.9 * dots
            structure_e += 0.25 * ((dist > r - 3.5) & (dist < r + 2.5))
            mask |= lumen
            clear = np.maximum(clear, lumen * (0 if twin else 1.0))
    elif name == "STR":
        a = tissue_rng.uniform(0, np.pi)
        e += 0.22 + 0.12 * _fibres(a, 0.7, 3, texture)
        dots, mask = _blobs(shape_rng, int(shape_rng.integers(3, 7)), (1.2, 1.6), elong=(2.0, 3.0), angle=a)
        structure_h += 0.9 * dots
    else:  # TUM
        e += 0.22 + 0.06 * texture
        dots, mask = _blobs(shape_rng, int(shape_rng.integers(22, 32)), (3.2, 4.6), irregular=0.25)
        chromatin = 0.55 + 0.15 * _smooth_noise(shape_rng, 0.8)
        structure_h += dots * chromatin

    if not twin:
        h += structure_h
        e += structure_e
    # Stain variation between slides, then Beer-Lambert, then scanner blur and noise.
    h_vec = HEMATOXYLIN * tissue_rng.uniform(0.85, 1.15, 3)
    e_vec = EOSIN * tissue_rng.uniform(0.85, 1.15, 3)
    density = (1 - clear)[..., None] * (np.clip(h, 0, None)[..., None] * h_vec + np.clip(e, 0, None)[..., None] * e_vec)
    rgb = np.exp(-density * 1.6) * tissue_rng.uniform(0.92, 1.0)
    rgb = ndimage.gaussian_filter(rgb, (0.6, 0.6, 0)) + 0.015 * grain[..., None]
    return Patch(np.clip(rgb, 0, 1).astype(np.float32), mask, label)


def make_dataset(n: int, seed: int = 0, split: str = "train") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Balanced arrays: images N x 64 x 64 x 3 float32, masks N x 64 x 64 bool, labels N int64."""
    patches = [make_patch(seed, split, i, label=i % len(LABELS)) for i in range(n)]
    return (np.stack([p.image for p in patches]), np.stack([p.mask for p in patches]),
            np.array([p.label for p in patches], np.int64))


def write_samples(out_dir, seed: int = 0) -> list[str]:
    """One sample patch per class, `<CLASS>_01.png`, with `<CLASS>_01_mask.png` where it has a mask."""
    from pathlib import Path

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for label, name in enumerate(LABELS):
        patch = make_patch(seed, "sample", label, label=label)
        (out / f"{name}_01.png").write_bytes(encode_png(patch.image))
        written.append(f"{name}_01.png")
        if patch.mask.any():
            (out / f"{name}_01_mask.png").write_bytes(encode_png(patch.mask))
            written.append(f"{name}_01_mask.png")
    return written


if __name__ == "__main__":
    import sys

    print("\n".join(write_samples(sys.argv[1] if len(sys.argv) > 1 else "sample_files/histopathology")))
