"""Reader for real MedMNIST `.npz` files, so a user who has one can evaluate a bundled model on it.

The layout (medmnist.com): `train_images`, `train_labels`, `val_*`, `test_*`; images uint8,
N x H x W (gray) or N x H x W x 3, at 28, 64, 128 or 224 pixels; labels N x 1 (a class) or N x K
(multi-label, chestmnist). Arrays are read without pickle.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import numpy as np

from workbench.errors import InputError

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class MedMNISTDataset:
    """What a workbench task needs from one MedMNIST data set: its task and how labels map."""

    task: str
    classes: str  # "same" (labels are the task's class indices) or "any_finding" (multi-label -> 0/1)


DATASETS = {
    "pathmnist": MedMNISTDataset("histopathology", "same"),  # the 9 tissue classes, same order
    "pneumoniamnist": MedMNISTDataset("lung_xray", "same"),  # 0 normal, 1 pneumonia -> affected
    "chestmnist": MedMNISTDataset("lung_xray", "any_finding"),  # 14 findings -> any = affected
}


def dataset_name(file_name: str) -> str:
    """`pathmnist_64.npz` -> `pathmnist`; unknown names are refused with the known ones."""
    stem = file_name.rsplit("/", 1)[-1].split(".")[0].split("_")[0].lower()
    if stem not in DATASETS:
        raise InputError(f"{file_name}: not a MedMNIST file this workbench reads ({', '.join(DATASETS)}); "
                         "its name must start with the data set's (e.g. pneumoniamnist_64.npz).")
    return stem


def read_split(data: bytes, name: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """One split's images (uint8) and labels (N x 1 or N x K)."""
    if split not in SPLITS:
        raise InputError(f"split must be one of {SPLITS}, not '{split}'.")
    if not data:
        raise InputError(f"{name} is empty.")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            keys = set(archive.files)
            if f"{split}_images" not in keys or f"{split}_labels" not in keys:
                raise InputError(f"{name} has no '{split}_images' and '{split}_labels' arrays (it has "
                                 f"{', '.join(sorted(keys)) or 'none'}).")
            images, labels = archive[f"{split}_images"], archive[f"{split}_labels"]
    except InputError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as err:
        raise InputError(f"{name} is not a readable .npz file ({str(err).splitlines()[0]}).") from None
    if images.dtype != np.uint8 or images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] != 3):
        raise InputError(f"{name}: {split}_images must be uint8, N x H x W or N x H x W x 3; it is "
                         f"{images.dtype} {images.shape}.")
    labels = labels.reshape(len(labels), -1) if labels.ndim == 1 else labels
    if labels.ndim != 2 or len(labels) != len(images) or not np.issubdtype(labels.dtype, np.integer):
        raise InputError(f"{name}: {split}_labels must be integers, one row per image; it is "
                         f"{labels.dtype} {labels.shape} for {len(images)} images.")
    return images, labels


def task_classes(dataset: str, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """MedMNIST labels as class indices of the data set's workbench task."""
    if DATASETS[dataset].classes == "any_finding":
        return labels.any(axis=1).astype(np.int64)
    classes = labels[:, 0].astype(np.int64)
    if classes.min() < 0 or classes.max() >= n_classes:
        raise InputError(f"{dataset} labels run from {classes.min()} to {classes.max()}; the model has "
                         f"{n_classes} classes.")
    return classes
