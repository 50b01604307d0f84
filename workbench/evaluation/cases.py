"""Where evaluation cases come from: generated cases whose truth is known by construction (with their
counterfactual twins), a folder of the task's files with masks, a real chest X-ray folder's held-out patients,
or a MedMNIST file. Each source has a name that is part of every row's key, so rows of two sources never mix.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.errors import InputError
from workbench.io import xray_folder
from workbench.io.files import read_file
from workbench.methods.common import BASELINES
from workbench.tasks import TASKS, GroundTruth

# What deletion and insertion can put in place of the removed points: the methods' references, or each case's
# counterfactual twin (the same case without the object), which only generated cases have. On the lung phantoms
# black, mean and blur leave most lesions readable where they were (docs/evaluation.md); the twin does not.
TWIN = "twin"
EVAL_BASELINES = (*BASELINES, TWIN)


@dataclass(frozen=True)
class EvalCase:
    """One case: the raw input (as task.preprocess reads it), the class to explain, and when known its
    counterfactual twin (the same input without the object) and its ground truth."""

    index: int
    raw: np.ndarray
    label: str | None  # None: the class the model predicts
    truth: GroundTruth | None
    twin: np.ndarray | None = None


def _mask(mask: np.ndarray) -> GroundTruth:
    return GroundTruth(mask=mask)


def lung_cases(n: int, seed: int, split: str) -> Iterator[EvalCase]:
    from workbench.data import phantoms

    for i in range(n):
        case = phantoms.make_phantom(seed, split, i, label=1)
        twin = phantoms.make_phantom(seed, split, i, label=1, twin=True)
        yield EvalCase(i, case.image, phantoms.LABELS[1], _mask(case.mask), twin.image)


def histology_cases(n: int, seed: int, split: str) -> Iterator[EvalCase]:
    """Patches of the classes with a defining structure (nuclei, glands, fat cells...), classes in turn."""
    from workbench.data import histology

    with_structure = [k for k in range(len(histology.LABELS))
                      if histology.make_patch(seed, split, 10_000 + k, label=k).mask.any()]
    for i in range(n):
        k = with_structure[i % len(with_structure)]
        patch = histology.make_patch(seed, split, i, label=k)
        twin = histology.make_patch(seed, split, i, label=k, twin=True)
        yield EvalCase(i, patch.image, histology.LABELS[k], _mask(patch.mask), twin.image)


def object_cases(n: int, seed: int, split: str) -> Iterator[EvalCase]:
    """Chests with one to four foreign objects; the class explained is the object class covering more pixels,
    its truth those pixels, its region (what a segmentation target sums over) the same pixels."""
    from workbench.data import foreign_objects

    objects = [foreign_objects.LABELS.index(k) for k in ("object_over_lungs", "object_elsewhere")]
    for i in range(n):
        case = foreign_objects.make_case(seed, split, i, n_objects=1 + i % 4)
        twin = foreign_objects.make_case(seed, split, i, n_objects=1 + i % 4, twin=True)
        labels = case.label_map
        k = max(objects, key=lambda c: int((labels == c).sum()))
        yield EvalCase(i, case.image, foreign_objects.LABELS[k], _mask(labels == k), twin.image)


def audio_cases(n: int, seed: int, split: str) -> Iterator[EvalCase]:
    """Partial spoofs (a span re-synthesised) and their real twins."""
    from workbench.data import speech

    for i in range(n):
        made = speech.make_window(seed, split, 2 * i + 1, "partial")
        yield EvalCase(i, made.window, speech.LABELS[1], GroundTruth(span=made.span), made.twin)


def task_files(task, folder: Path) -> list[Path]:
    """The task's input files in a folder (masks left out), in name order."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower().lstrip(".") in task.file_types
                   and not p.stem.endswith("_mask"))
    if not files:
        raise InputError(f"no {', '.join(task.file_types)} files in {folder}.")
    return files


def folder_cases(task, folder: Path, n: int) -> Iterator[EvalCase]:
    """The task's files in a folder, each with its truth when `<name>_mask.png` (or `<name>.json`, a span) is
    beside it; the class explained is the file name's first word when it is a label, else the predicted one.
    No twins: reliance is unknown, so no case is excluded."""
    for i, path in enumerate(task_files(task, folder)[:n]):
        truth_path = next((p for p in (path.with_name(f"{path.stem}_mask.png"), path.with_suffix(".json"))
                           if p.exists()), None)
        label = path.stem.split("_")[0]
        raw = task.read(path.read_bytes(), path.name)[0]
        truth = None if truth_path is None else task.read_truth(truth_path.read_bytes(), truth_path.name)
        if truth is not None:
            task.check_truth(truth, raw)
        yield EvalCase(i, raw, label if label in task.labels else None, truth)


def radiograph_cases(task, films: Sequence[xray_folder.Radiograph]) -> Iterator[EvalCase]:
    """Real films, read as an upload is: no lesion mask and no twin, so faithfulness and complexity are
    scored and localisation is left out; the class explained is the predicted one."""
    for i, film in enumerate(films):
        yield EvalCase(i, task.read(read_file(str(film.path)), film.path.name)[0], None, None)


def npz_cases(task, data: bytes, name: str, n: int, split: str = "test") -> list[EvalCase]:
    """Images of a MedMNIST file's bytes with their labels; no masks, so only faithfulness and complexity are
    scored. Read at once: small images, at most n of them."""
    from workbench.data import medmnist

    dataset = medmnist.dataset_name(name)
    if medmnist.DATASETS[dataset].task != task.id:
        raise InputError(f"{name} is for task '{medmnist.DATASETS[dataset].task}', not '{task.id}'.")
    images, labels = medmnist.read_split(data, name, split)
    if not len(images):
        raise InputError(f"{name} has no images in its '{split}' split.")
    classes = medmnist.task_classes(dataset, labels[:n], len(task.labels))
    return [EvalCase(i, image.astype(np.float32) / 255, task.labels[int(k)], None)
            for i, (image, k) in enumerate(zip(images[:n], classes))]


CASE_SOURCES: dict[str, Callable[[int, int, str], Iterator[EvalCase]]] = {
    "lung_xray": lung_cases, "histopathology": histology_cases, "iqa_segmentation": object_cases,
    "audio_deepfake": audio_cases}


@dataclass(frozen=True)
class CaseSource:
    """Where cases come from: `name` (part of every row's key, so rows of two sources never mix), `cases`, and
    whether every case has a counterfactual twin."""

    name: str
    cases: Callable[[], Iterator[EvalCase]]
    n: int
    twins: bool = False


def generated(task_id: str, n: int, seed: int = 0, split: str = "test") -> CaseSource:
    if task_id not in CASE_SOURCES:
        raise InputError(f"no generated cases with known truth for '{task_id}'; they exist for "
                         f"{', '.join(CASE_SOURCES)}.")
    return CaseSource(f"generated:{task_id}:{split}:{seed}", lambda: CASE_SOURCES[task_id](n, seed, split), n,
                      twins=True)


def from_folder(task_id: str, folder: str, n: int, seed: int = 0) -> CaseSource:
    """A folder of the task's files; for the lung task, a chest X-ray folder (NORMAL/ and PNEUMONIA/) gives
    its held-out patients' films instead, the classes alternating (`real_xray.ordered`)."""
    path = Path(folder)
    if not path.is_dir():
        raise InputError(f"folder not found: {folder}")
    task = TASKS[task_id]
    if task_id == "lung_xray" and xray_folder.is_layout(path):
        from workbench.data.real_xray import ordered

        films = ordered(xray_folder.read_folder(path).split("test"), seed)[:n]
        return CaseSource(f"xray:{path.resolve()}:test:{seed}", lambda: radiograph_cases(task, films), len(films))
    count = len(task_files(task, path)[:n])
    return CaseSource(f"folder:{path.resolve()}", lambda: folder_cases(task, path, n), count)


def real_folder(task_id: str) -> Path | None:
    """The task's folder of real labelled films outside the repository (the lung task's chest X-rays), when
    it is on this machine: the app offers its held-out patients as cases."""
    folder = getattr(TASKS[task_id], "real_samples", None)
    return folder if isinstance(folder, Path) and xray_folder.is_layout(folder) else None


def from_npz(task_id: str, file: str, n: int) -> CaseSource:
    path = Path(file)
    if not path.is_file():
        raise InputError(f"file not found: {file}")
    return _npz_source(task_id, read_file(str(path)), path.name, n, f"npz:{path.resolve()}")


def from_npz_bytes(task_id: str, data: bytes, name: str, n: int) -> CaseSource:
    """A MedMNIST file held in memory (an upload: nothing is written); its rows are keyed by its content."""
    return _npz_source(task_id, data, name, n, f"npz:{name}:{hashlib.sha256(data).hexdigest()[:16]}")


def _npz_source(task_id: str, data: bytes, name: str, n: int, source: str) -> CaseSource:
    cases = npz_cases(TASKS[task_id], data, name, n)
    return CaseSource(source, lambda: iter(cases), len(cases))
