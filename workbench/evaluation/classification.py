"""How well a classifier does: accuracy, per-class precision, recall and F1, and the confusion matrix."""

from __future__ import annotations

import numpy as np


def classification_report(truth: np.ndarray, pred: np.ndarray, labels: tuple[str, ...]) -> dict:
    """Accuracy, balanced accuracy (the mean of the per-class recalls), per-class precision/recall/F1
    (hand-computed) and the confusion matrix (rows: truth)."""
    k = len(labels)
    confusion = np.bincount(truth * k + pred, minlength=k * k).reshape(k, k)
    per_class = {}
    for i, label in enumerate(labels):
        tp = confusion[i, i]
        precision = tp / confusion[:, i].sum() if confusion[:, i].sum() else 0.0
        recall = tp / confusion[i].sum() if confusion[i].sum() else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": float(precision), "recall": float(recall), "f1": float(f1)}
    recalls = [m["recall"] for label, m in per_class.items() if confusion[labels.index(label)].sum()]
    return {"accuracy": float(np.trace(confusion) / confusion.sum()),
            "balanced_accuracy": float(np.mean(recalls)), "per_class": per_class,
            "confusion": confusion.tolist()}
