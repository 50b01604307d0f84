"""What to explain, and the one score operator every adapter and every method goes through.

Classification: the class logit. Segmentation: the class logits summed inside a region (by
default the region where the model predicts that class; never the whole image). The operator is
written once over a tiny tensor-ops interface, so the PyTorch and Keras adapters share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from workbench.arrays import content_hash

EPS = 1e-7


@dataclass(frozen=True, eq=False)
class Target:
    """A class, or a class inside a region (bool mask on the model's output grid).

    The region takes part in equality, hashing and cache keys through a hash of its pixels.
    """

    class_index: int
    region: np.ndarray | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "class_index", int(self.class_index))
        if self.region is not None:
            region = np.array(self.region, dtype=bool)
            region.setflags(write=False)
            object.__setattr__(self, "region", region)

    @property
    def region_hash(self) -> str | None:
        return None if self.region is None else content_hash(self.region)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Target) and (self.class_index, self.region_hash) == (
            other.class_index, other.region_hash)

    def __hash__(self) -> int:
        return hash((self.class_index, self.region_hash))

    @property
    def key(self) -> str:
        """For cache keys: the class, and the region's hash when there is one."""
        return str(self.class_index) if self.region is None else f"{self.class_index}@{self.region_hash}"

    def record(self, label: str) -> dict:
        """JSON-serialisable description (with the class's label), for explanations and reports."""
        return {"class_index": self.class_index, "label": label,
                "region": self.region_hash,
                "region_pixels": None if self.region is None else int(self.region.sum())}


class TensorOps(Protocol):
    """The few tensor operations the score operator needs, one implementation per framework."""

    def log(self, t: Any) -> Any: ...
    def clip(self, t: Any, low: float, high: float) -> Any: ...
    def sum(self, t: Any, axes: tuple[int, ...]) -> Any: ...
    def constant(self, array: np.ndarray, like: Any) -> Any: ...


def as_logits(output: Any, kind: str, ops: TensorOps) -> Any:
    """Head output to logits: softmax -> log-probabilities (logits up to a per-item constant, which
    no gradient sees); sigmoid -> log(p / (1 - p)), the exact logit."""
    if kind == "logits":
        return output
    p = ops.clip(output, EPS, 1 - EPS)
    return ops.log(p) if kind == "softmax" else ops.log(p) - ops.log(1 - p)


def target_score(output: Any, target: Target, ops: TensorOps, kind: str = "logits") -> Any:
    """The explained score for each item of a batch (shape N)."""
    logits = as_logits(output, kind, ops)[:, target.class_index]
    if len(logits.shape) == 1:
        if target.region is not None:
            raise ValueError("a region applies to segmentation outputs only")
        return logits
    if target.region is None:
        raise ValueError("a segmentation target needs a region; resolve it with the model first")
    region = ops.constant(target.region.astype(np.float32), like=logits)
    return ops.sum(logits * region, axes=(1, 2))
