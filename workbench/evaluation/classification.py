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


def roc_auc(truth: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve of `scores` for the positive class (truth 1): the probability that a random
    positive outscores a random negative, ties counting half (Mann-Whitney U over the two classes' sizes)."""
    truth, scores = np.asarray(truth, bool), np.asarray(scores, np.float64)
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_scores)) + 1]
    ends = np.r_[starts[1:], len(scores)]
    for start, end in zip(starts, ends):  # tied scores share their mean rank (1-based)
        ranks[order[start:end]] = (start + end + 1) / 2
    n_pos, n_neg = int(truth.sum()), int((~truth).sum())
    return float((ranks[truth].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def expected_calibration_error(probabilities: np.ndarray, truth: np.ndarray, bins: int = 15) -> float:
    """ECE (Guo et al. 2017): the cases binned by their top probability (`bins` equal widths over [0, 1]); the
    mean over bins, weighted by their share of the cases, of |accuracy - mean top probability|."""
    probabilities = np.asarray(probabilities, np.float64)
    confidence, correct = probabilities.max(axis=1), probabilities.argmax(axis=1) == np.asarray(truth)
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    return float(sum(abs(correct[which == b].mean() - confidence[which == b].mean()) * (which == b).mean()
                     for b in range(bins) if (which == b).any()))
