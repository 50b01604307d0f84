"""Image quality of a chest X-ray from a segmentation of its foreign objects.

Quality score: the percent of the lung fields that no foreign object covers (100: nothing over the
lungs). Grades: good >= 98, acceptable >= 90, poor below. The label map separates objects over the
lungs from objects elsewhere, so the score follows from a (predicted) label map exactly.
"""

from __future__ import annotations

import numpy as np

from workbench.tasks.image import ImageTask

GRADES = (("good", 98.0), ("acceptable", 90.0), ("poor", 0.0))  # (grade, lowest score)
COVERED, LUNG = "object_over_lungs", "lung_field"


def quality_score(lungs: np.ndarray, objects: np.ndarray) -> float:
    """Percent of the lung fields no object covers (100 when there are no lung pixels to cover)."""
    n = int(lungs.sum())
    return 100.0 if n == 0 else 100.0 * (1 - float((lungs & objects).sum()) / n)


def grade(score: float) -> str:
    return next(name for name, lowest in GRADES if score >= lowest)


class ImageQualityTask(ImageTask):
    """Segmentation of foreign objects with a quality score and grade for each image."""

    def assess(self, label_map: np.ndarray) -> dict[str, float | str]:
        covered = label_map == self.labels.index(COVERED)
        score = quality_score(covered | (label_map == self.labels.index(LUNG)), covered)
        return {"quality score": round(score, 1), "grade": grade(score)}
