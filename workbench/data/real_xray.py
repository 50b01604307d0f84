"""Real pediatric chest radiographs as a recipe's data: the films of one patient split, decoded as serving does.

The folder (`XRAY_DIR`, or any folder in the same layout) is read by `workbench/io/xray_folder.py`:
files, patients, exact duplicates removed, a split by patient. Each film goes through the lung task's
own `read` and `chw01`, the path every uploaded file takes before normalisation, so training sees
what serving sees. Decoded films are kept in memory at the model's input size (64 KB each at 128x128
one channel; the whole folder about 330 MB), never written to disk, so one training run (fit, OOD
statistics, held-out evaluation) decodes each file once.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import numpy as np

from workbench.io import read_file, xray_folder
from workbench.paths import XRAY_DIR
from workbench.specs import InputSpec
from workbench.tasks import TASKS

# n that asks for every film of a split (there are fewer): a recipe's "all of them".
EVERY = 1_000_000
CREDIT = ("Kermany, Zhang and Goldbaum, \"Labeled Optical Coherence Tomography (OCT) and Chest X-Ray Images "
          "for Classification\", Mendeley Data, v2, 2018 (doi:10.17632/rscbjbr9sj.2), licence CC BY 4.0; from "
          "Kermany et al., \"Identifying Medical Diagnoses and Treatable Diseases by Image-Based Deep "
          "Learning\", Cell 172(5), 2018. Its training split (5,216 films), as resized by a third party to "
          "224x224 and read here in one channel. The films are not in this repository.")
BATCH_TEXT = ("patients held out together to imitate a new acquisition batch: in each series the lowest-numbered "
              "ones (`person` below 300, `IM` below 250, `NORMAL2-IM` below 550; about a sixth of the films). The "
              "folder's normal films start at IM-0115 and NORMAL2-IM-0383, so the numbers below them belong to films "
              "this copy does not hold, another batch; the patients numbered nearest to them stand in for it. No "
              "patient of this split is in training, validation or the held-out split, and neither the temperature "
              "nor the operating point was fitted on it. The recipe itself (standardisation and acquisition "
              "augmentation) was picked by comparing recipes on such a split in an earlier attempt "
              "(`docs/real_xray.md`), so these numbers are somewhat optimistic.")


@functools.lru_cache(maxsize=16_384)
def _film(path: Path, spec: InputSpec) -> np.ndarray:
    """One film as the lung task reads it, in [0, 1] at the spec's size (H x W, or C x H x W in colour)."""
    task = TASKS["lung_xray"]
    raw, _notes = task.read(read_file(str(path)), path.name)
    chw = task.chw01(raw, spec)
    image = chw[0] if spec.channels == 1 else np.moveaxis(chw, 0, -1)
    image.setflags(write=False)  # shared by every caller
    return image


def ordered(films: list[xray_folder.Radiograph], seed: int) -> list[xray_folder.Radiograph]:
    """A fixed order in which the classes alternate while both last (a short prefix is balanced; the whole
    split keeps its natural imbalance); within a class, by a seeded hash of the file name, so the order
    does not depend on how a disk lists the files."""
    def key(film: xray_folder.Radiograph) -> str:
        return hashlib.sha256(f"{seed}:{film.path.name}".encode()).hexdigest()

    queues = [sorted((f for f in films if f.label == c), key=key) for c in range(len(xray_folder.CLASSES))]
    out = []
    for rank in range(max(map(len, queues), default=0)):
        out += [q[rank] for q in queues if rank < len(q)]
    return out


def make_dataset(n: int, seed: int = 0, split: str = "train", *, spec: InputSpec,
                 root: str | Path | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first `n` films of the split in `ordered` order (all of them when there are fewer): images N x H x W
    in [0, 1], masks N x H x W all False (no lesion masks: none is known), labels N (0 normal, 1 pneumonia)."""
    films = ordered(xray_folder.read_folder(XRAY_DIR if root is None else root).split(split), seed)[:n]
    images = np.stack([_film(f.path, spec) for f in films]) if films else np.zeros((0, *spec.size), np.float32)
    return images, np.zeros(images.shape[:3], bool), np.array([f.label for f in films], np.int64)
