"""Out-of-distribution check: is an input like the data the model was trained on?

Statistics of training inputs in the model's feature space (pooled activations of its
`feature_layer`): their mean and a Ledoit-Wolf shrunk covariance. An input's Mahalanobis distance
from that mean, divided by the 99th percentile of the distances of held-out training-like inputs,
is its OOD score: at most 1 is in distribution. The training code computes the statistics and
stores them beside the weights as `ood.safetensors` (no pickle).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FILE = "ood.safetensors"


@dataclass(frozen=True)
class FeatureStats:
    mean: np.ndarray  # D
    precision: np.ndarray  # D x D, inverse of the shrunk covariance
    threshold: float  # distance at `quantile` of the held-out inputs
    layer: str
    quantile: float = 0.99
    n_fit: int = 0
    n_held_out: int = 0

    @staticmethod
    def pool(activations: np.ndarray) -> np.ndarray:
        """N x C x h x w activations to N x C (global average); N x D passes through."""
        a = np.asarray(activations, np.float64)
        return a.reshape(len(a), a.shape[1], -1).mean(axis=2) if a.ndim > 2 else a

    @classmethod
    def fit(cls, features: np.ndarray, held_out: np.ndarray, layer: str, quantile: float = 0.99) -> FeatureStats:
        """Fit mean and shrunk covariance on `features`; set the threshold on `held_out` (other inputs)."""
        from sklearn.covariance import LedoitWolf

        lw = LedoitWolf().fit(np.asarray(features, np.float64))
        stats = cls(lw.location_, np.linalg.inv(lw.covariance_), 1.0, layer, quantile,
                    len(features), len(held_out))
        threshold = float(np.quantile(stats.distance(held_out), quantile))
        return cls(stats.mean, stats.precision, threshold, layer, quantile, len(features), len(held_out))

    def distance(self, features: np.ndarray) -> np.ndarray:
        d = np.asarray(features, np.float64) - self.mean
        return np.sqrt(np.maximum(np.einsum("nd,de,ne->n", d, self.precision, d), 0))

    def scores(self, features: np.ndarray) -> np.ndarray:
        """Distance over threshold: <= 1 means in distribution."""
        return self.distance(features) / self.threshold

    def save(self, folder: str | Path) -> Path:
        from safetensors.numpy import save_file

        meta = {"threshold": self.threshold, "layer": self.layer, "quantile": self.quantile,
                "n_fit": self.n_fit, "n_held_out": self.n_held_out}
        path = Path(folder) / FILE
        save_file({"mean": self.mean, "precision": self.precision}, str(path),
                  metadata={"stats": json.dumps(meta)})
        return path

    @classmethod
    def load(cls, folder: str | Path) -> FeatureStats | None:
        from safetensors import safe_open

        path = Path(folder) / FILE
        if not path.exists():
            return None
        with safe_open(str(path), "numpy") as f:
            meta = json.loads(f.metadata()["stats"])
            return cls(f.get_tensor("mean"), f.get_tensor("precision"), **meta)
