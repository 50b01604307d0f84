"""How well a classifier does: accuracy, per-class precision, recall, F1 and specificity, and the confusion matrix."""

from __future__ import annotations

import numpy as np


def classification_report(truth: np.ndarray, pred: np.ndarray, labels: tuple[str, ...]) -> dict:
    """Accuracy, balanced accuracy (the mean of the per-class recalls), per-class precision/recall/F1,
    specificity (the share of the other classes' cases not called this class) and support (hand-computed,
    one-vs-rest; 0 where undefined), and the confusion matrix (rows: truth)."""
    k = len(labels)
    confusion = np.bincount(truth * k + pred, minlength=k * k).reshape(k, k)
    total = confusion.sum()
    per_class = {}
    for i, label in enumerate(labels):
        tp, called, actual = confusion[i, i], confusion[:, i].sum(), confusion[i].sum()
        precision = tp / called if called else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        negatives = total - actual  # true negatives + false positives
        specificity = (negatives - (called - tp)) / negatives if negatives else 0.0
        per_class[label] = {"precision": float(precision), "recall": float(recall), "f1": float(f1),
                            "specificity": float(specificity), "support": int(actual)}
    recalls = [m["recall"] for label, m in per_class.items() if confusion[labels.index(label)].sum()]
    return {"accuracy": float(np.trace(confusion) / total),
            "balanced_accuracy": float(np.mean(recalls)), "per_class": per_class,
            "confusion": confusion.tolist()}
