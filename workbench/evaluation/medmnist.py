"""Evaluate a model on a real MedMNIST split, through the task's own preprocessing (one resize)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workbench.data import medmnist
from workbench.errors import InputError
from workbench.evaluation.classification import classification_report
from workbench.io.files import read_file
from workbench.models import ModelAdapter
from workbench.tasks import TASKS


def evaluate_npz(model: ModelAdapter, path: str, split: str = "test", dataset: str | None = None,
                 limit: int | None = None) -> dict:
    """Accuracy and per-class precision/recall/F1 of `model` on a MedMNIST file's split."""
    name = Path(path).name
    dataset = dataset or medmnist.dataset_name(name)
    if dataset not in medmnist.DATASETS:
        raise InputError(f"unknown MedMNIST data set '{dataset}'; known: {', '.join(medmnist.DATASETS)}.")
    task = TASKS[medmnist.DATASETS[dataset].task]
    if model.info.task != task.id:
        raise InputError(f"{dataset} is for task '{task.id}'; model '{model.info.id}' is for '{model.info.task}'.")
    images, labels = medmnist.read_split(read_file(path), name, split)
    images, labels = images[:limit], labels[:limit]
    truth = medmnist.task_classes(dataset, labels, len(model.info.labels))
    x = np.concatenate([task.preprocess(image.astype(np.float32) / 255, model.info.input) for image in images])
    pred = model.info.decide(model.predict(x))  # at the operating point in its config, as the app labels
    return {"model": model.info.id, "file": name, "dataset": dataset, "split": split, "n": len(images),
            **classification_report(truth, pred, model.info.labels)}
