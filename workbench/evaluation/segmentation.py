"""How well a segmentation model does on generated cases with known masks."""

from __future__ import annotations

import numpy as np

from workbench import masks


def _mean_defined(values: np.ndarray) -> float:
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if len(defined) else float("nan")


def segmentation_report(truth: np.ndarray, pred: np.ndarray, foreground: tuple[int, ...],
                        labels: tuple[str, ...]) -> dict:
    """Dice, Boundary IoU, ASSD and HD95 of the union of the `foreground` classes, per image (mean over
    images where the measure is defined) and pooled over all pixels (Dice); Dice of each class.

    truth, pred: N x H x W class indices.
    """
    t_fg, p_fg = np.isin(truth, foreground), np.isin(pred, foreground)
    per_image = {name: np.array([fn(t, p) for t, p in zip(t_fg, p_fg)]) for name, fn in
                 (("dice", masks.dice), ("boundary_iou", masks.boundary_iou), ("assd", masks.assd),
                  ("hd95", masks.hd95))}
    with_objects = t_fg.reshape(len(t_fg), -1).any(1)
    report = {name: _mean_defined(values[with_objects]) for name, values in per_image.items()}
    report["undefined_distance_images"] = int(np.isnan(per_image["hd95"]).sum())
    report["pooled_dice"] = masks.dice(t_fg, p_fg)
    report["n_images"], report["n_with_objects"] = len(truth), int(with_objects.sum())
    report["empty_images_predicted_empty"] = float(np.mean(~p_fg[~with_objects].reshape(
        int((~with_objects).sum()), -1).any(1))) if (~with_objects).any() else None
    report["per_class_dice"] = {label: masks.dice(truth == k, pred == k) for k, label in enumerate(labels)}
    return report
