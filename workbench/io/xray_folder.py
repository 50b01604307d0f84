"""A folder of labelled chest radiographs in the layout of Kermany et al. (2018): which files, whose, which split.

Layout: `train/NORMAL/` and `train/PNEUMONIA/` under the folder, or `NORMAL/` and `PNEUMONIA/` in it.
The file name carries the patient (rule checked on the 5,216 films of the shared copy):

  personN_bacteria_M.jpeg, personN_virus_M[_K].jpeg   patient `personN`: the person number, whatever the
                                                      germ (808 numbers carry both; the names do not say
                                                      whether they are one child, so they stay together)
  IM-NNNN-SSSS[-KKKK].jpeg                            patient `IM-NNNN`
  NORMAL2-IM-NNNN-SSSS[-KKKK].jpeg                    patient `NORMAL2-IM-NNNN`: a second batch numbered
                                                      on its own (its IM-0427 is another child than IM-0427)

Grouping more than needed can only make a split coarser, never leak a patient across it. Exact
duplicates (same bytes) are removed before the split, the first copy in name order kept. The split
depends on nothing but the patient id, so every image of a patient lands in the same split, on every
machine, whatever else the folder holds:

  batch             the lowest-numbered patients of each series (`BATCH_BELOW`), held out together to imitate
                    another acquisition batch. The folder's normal films start at IM-0115 and NORMAL2-IM-0383:
                    the numbers below belong to films this copy does not hold (another batch), so the patients
                    numbered nearest to them stand in for a new batch (docs/real_xray.md).
  train, val, test  every other patient, by a hash of its id (80/10/10).

Nothing here decodes a pixel.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import InputError
from workbench.io.image import IMAGE_FILE_TYPES

CLASSES = ("NORMAL", "PNEUMONIA")  # folder names, in the order of the lung task's labels (normal, affected)
HASHED = {"train": 80, "val": 10, "test": 10}  # percent of the patients outside the batch split
SPLITS = (*HASHED, "batch")
# Patients numbered below these go to the batch split: in each series the lowest 14 to 17% of its films
# (the docstring says why the lowest): 834 films of 399 patients, 210 normal and 624 pneumonia.
BATCH_BELOW = {"person": 300, "IM": 250, "NORMAL2-IM": 550}
PATIENT = re.compile(r"(?P<patient>person\d+)_(?:bacteria|virus)(?:_\d+)+|(?P<film>(?:NORMAL\d+-)?IM-\d+)(?:-\d+)+")
LAYOUT = "train/NORMAL/ and train/PNEUMONIA/ (or NORMAL/ and PNEUMONIA/) holding the radiographs"


@dataclass(frozen=True)
class Radiograph:
    path: Path
    label: int  # index into CLASSES
    patient: str
    split: str  # split_of(patient)


@dataclass(frozen=True)
class XrayFolder:
    """The folder's films after deduplication, and the duplicate groups removed (each: kept copy first)."""

    root: Path
    films: tuple[Radiograph, ...]
    duplicates: tuple[tuple[Path, ...], ...]

    def split(self, name: str) -> list[Radiograph]:
        if name not in SPLITS:
            raise InputError(f"split must be one of {', '.join(SPLITS)}, not '{name}'.")
        return [f for f in self.films if f.split == name]


def patient_of(file_name: str) -> str:
    """The patient id a film's name carries; a name that carries none is refused (a split by image would leak)."""
    found = PATIENT.fullmatch(Path(file_name).stem)
    if found is None:
        raise InputError(f"cannot tell the patient of '{file_name}': names like person12_bacteria_45.jpeg, "
                         "IM-0115-0001.jpeg or NORMAL2-IM-0383-0001.jpeg are expected.")
    return found["patient"] or found["film"]


def split_of(patient: str) -> str:
    """batch for the lowest-numbered patients (`BATCH_BELOW`); else train, val or test, from the patient id's
    sha256 (80/10/10 of the other patients)."""
    series, _, number = patient.rpartition("-") if "IM-" in patient else ("person", "", patient[len("person"):])
    if int(number) < BATCH_BELOW[series]:
        return "batch"
    bucket = int.from_bytes(hashlib.sha256(patient.encode()).digest()[:8], "big") % 100
    for name, share in HASHED.items():
        if bucket < share:
            return name
        bucket -= share
    raise AssertionError("HASHED must add up to 100")


def is_layout(root: str | Path) -> bool:
    """Whether `root` looks like a chest X-ray folder (a NORMAL or PNEUMONIA folder in it or in its train/);
    `class_dirs` then says what is missing, if anything."""
    root = Path(root)
    return any((base / c).is_dir() for base in (root / "train", root) for c in CLASSES)


def class_dirs(root: str | Path) -> list[Path]:
    """The NORMAL and PNEUMONIA folders under `root` (or under `root/train`), in CLASSES order."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"chest X-ray folder not found: {root} (expected {LAYOUT}; set WORKBENCH_XRAY_DIR to "
                         "use another copy).")
    for base in (root / "train", root):
        dirs = [base / c for c in CLASSES]
        if any(d.is_dir() for d in dirs):
            missing = [d.name for d in dirs if not d.is_dir()]
            if missing:
                raise InputError(f"{base} has no {' or '.join(missing)} folder (expected {LAYOUT}).")
            return dirs
    found = sorted(p.name for p in root.iterdir() if p.is_dir())
    raise InputError(f"{root} is not a chest X-ray folder: expected {LAYOUT}; it holds "
                     f"{', '.join(found) or 'no folders'}.")


def read_folder(root: str | Path) -> XrayFolder:
    """Every film under `root`, each with its class and patient, exact duplicates removed. Read once per
    process while the class folders' modification times stay the same (adding, removing or renaming a
    film changes them), so that listing the app's samples on every rerun costs nothing."""
    dirs = class_dirs(root)
    return _read(Path(root), tuple(dirs), tuple(d.stat().st_mtime_ns for d in dirs))


@functools.lru_cache(maxsize=8)
def _read(root: Path, dirs: tuple[Path, ...], stamps: tuple[int, ...]) -> XrayFolder:
    films, seen, groups = [], set(), {}
    for label, folder in enumerate(dirs):
        with os.scandir(folder) as entries:
            names = sorted(e.name for e in entries if e.is_file() and not e.name.startswith(".")
                           and e.name.rpartition(".")[2].lower() in IMAGE_FILE_TYPES)
        if not names:
            raise InputError(f"{folder} holds no images ({', '.join(IMAGE_FILE_TYPES)}).")
        for name in names:
            path = folder / name
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            groups.setdefault(digest, []).append(path)
            if digest not in seen:
                seen.add(digest)
                patient = patient_of(name)
                films.append(Radiograph(path, label, patient, split_of(patient)))
    duplicates = tuple(tuple(g) for g in groups.values() if len(g) > 1)
    return XrayFolder(root, tuple(films), duplicates)


def held_out_films(root: str | Path, per_class: int = 2) -> list[Radiograph]:
    """A few test-split films, one per patient, the first patients of each class in name order."""
    chosen: list[Radiograph] = []
    test = read_folder(root).split("test")
    for label in range(len(CLASSES)):
        patients: set[str] = set()
        for film in test:
            if film.label == label and film.patient not in patients and len(patients) < per_class:
                patients.add(film.patient)
                chosen.append(film)
    return chosen
