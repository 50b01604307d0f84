"""Lung phantoms with a laterality-style text tag whose corner gives the label away.

Real films carry burned-in tags (an "R" or "L" in lead, "PORTABLE"), and models have learned to
read those instead of the lungs. Here every phantom carries a bright "R" tag: in a corner that
depends on the label (top-right for `affected`, top-left for `normal`) in the training data, so a
classroom model can learn the shortcut; `moved=True` puts the tag in the other corner, which a
model that reads the lungs does not notice and a model that reads the tag gets wrong.
"""

from __future__ import annotations

import numpy as np

from workbench.data import phantoms

# A 5x7 bitmap of the letter R, drawn at twice that size.
_GLYPH = np.array([[1, 1, 1, 1, 0], [1, 0, 0, 0, 1], [1, 0, 0, 0, 1], [1, 1, 1, 1, 0],
                   [1, 0, 1, 0, 0], [1, 0, 0, 1, 0], [1, 0, 0, 0, 1]], bool).repeat(2, 0).repeat(2, 1)
CORNERS = ("top-left", "top-right")  # indexed by label: normal, affected
TAG_STREAM = 7  # a random stream of its own: the tag changes nothing else in the phantom


def tag_corner(label: int, moved: bool = False) -> str:
    return CORNERS[label ^ int(moved)]


def add_tag(image: np.ndarray, corner: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The image with the tag (bright letter on a dark box, a few pixels from the edge), and the
    tag's box as a mask."""
    size = image.shape[0]
    h, w = _GLYPH.shape[0] + 4, _GLYPH.shape[1] + 4
    top = int(rng.integers(3, 9))
    offset = int(rng.integers(3, 9))
    left = offset if corner == "top-left" else size - w - offset
    out = image.copy()
    box = out[top:top + h, left:left + w]
    box[:] = 0.05
    box[2:-2, 2:-2][_GLYPH] = rng.uniform(0.85, 1.0)
    mask = np.zeros(image.shape, bool)
    mask[top:top + h, left:left + w] = True
    return out, mask


def make_tagged(seed: int, split: str, index: int, label: int, moved: bool = False
                ) -> tuple[phantoms.Phantom, np.ndarray]:
    """A phantom with its tag, and the tag's mask (the lesion mask stays in the phantom)."""
    case = phantoms.make_phantom(seed, split, index, label=label)
    rng = np.random.default_rng([seed, phantoms.SPLITS[split], index, TAG_STREAM])
    image, tag = add_tag(case.image, tag_corner(label, moved), rng)
    return phantoms.Phantom(image, case.mask, case.label), tag


def make_dataset(n: int, seed: int = 0, split: str = "train", moved: bool = False):
    """Balanced arrays like `phantoms.make_dataset`, every case tagged (in the other corner if `moved`)."""
    cases = [make_tagged(seed, split, i, i % 2, moved)[0] for i in range(n)]
    return (np.stack([c.image for c in cases]), np.stack([c.mask for c in cases]),
            np.array([c.label for c in cases], np.int64))


def make_moved_dataset(n: int, seed: int = 0, split: str = "test"):
    return make_dataset(n, seed=seed, split=split, moved=True)


def write_samples(out_dir, seed: int = 0) -> list[str]:
    """`<label>_tagged_01.png` (the tag where training put it) and `<label>_tag_moved_01.png` (in the
    other corner) for both labels, with the lesion mask of the affected ones. Same chest per label."""
    from pathlib import Path

    from workbench.io.image import encode_png

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for label in (0, 1):
        for moved, word in ((False, "tagged"), (True, "tag_moved")):
            case, _ = make_tagged(seed, "sample", 100 + label, label, moved)
            stem = f"{phantoms.LABELS[label]}_{word}_01"
            (out / f"{stem}.png").write_bytes(encode_png(case.image))
            written.append(f"{stem}.png")
            if label == 1:
                (out / f"{stem}_mask.png").write_bytes(encode_png(case.mask))
                written.append(f"{stem}_mask.png")
    return written
