"""A trained classifier's probabilities made honest, and its operating point, both fitted on validation data.

Temperature scaling (Guo et al. 2017) divides the logits by one number T that minimises the validation
negative log-likelihood: the ranking and so the ROC curve stay the same, only the confidence changes. The
operating point is the probability of the positive class above which it is predicted, chosen to maximise
balanced accuracy on the validation cases (the classes are imbalanced, and argmax favours the larger one).
Both go into config.json, where every caller's probabilities and labels come from (`ModelInfo`).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the labels under softmax(logits / temperature)."""
    logp = log_softmax(np.asarray(logits, np.float64) / temperature, axis=1)
    return float(-logp[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T in [0.05, 20] that minimises `nll` (a bounded 1-D search over log T; the NLL is convex in 1/T)."""
    found = minimize_scalar(lambda log_t: nll(logits, labels, float(np.exp(log_t))),
                            bounds=(np.log(0.05), np.log(20.0)), method="bounded", options={"xatol": 1e-6})
    return float(np.exp(found.x))


def balanced_accuracy_at(positive: np.ndarray, labels: np.ndarray, threshold: float) -> float:
    """Balanced accuracy of calling class 1 where its probability is at least `threshold` (two classes)."""
    called = positive >= threshold
    return float((called[labels == 1].mean() + (~called[labels == 0]).mean()) / 2)


def choose_threshold(positive: np.ndarray, labels: np.ndarray) -> float:
    """The probability of class 1 at and above which it is called that maximises balanced accuracy; each
    candidate is the midpoint between two neighbouring probabilities, so a case is never on the threshold.
    Among equal bests, the one nearest 0.5 (the least tuned)."""
    values = np.unique(np.asarray(positive, np.float64))
    candidates = np.r_[(values[:-1] + values[1:]) / 2, 0.5]
    scores = np.array([balanced_accuracy_at(positive, labels, t) for t in candidates])
    best = candidates[scores >= scores.max() - 1e-12]
    return float(best[np.argmin(np.abs(best - 0.5))])
