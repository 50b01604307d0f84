"""Perturbation methods: change part of the input, watch the target score.

Perturbed copies are built and scored in chunks of at most `device.chunk_bytes` (64 MB on the CPU), so memory
stays bounded whatever the number of positions (a 224x224 RGB input at window 8, stride 4 has 3,025).
"""

from __future__ import annotations

import numpy as np

from workbench.methods.base import Cost, Method, Param
from workbench.methods.common import baseline_for, baseline_param, chunk_size
from workbench.methods.superpixels import segment, superpixel_params
from workbench.methods.surrogate import feature_scores


def positions(size: int, window: int, stride: int) -> range:
    """Start offsets of a window sliding over one axis. As in Captum, when the stride does not
    divide the span, one more window is placed and clipped at the edge, so no border is left out."""
    return range(0, -(-max(size - window, 0) // stride) * stride + 1, stride)


class Occlusion(Method):
    id = "occlusion"
    name = "Occlusion"
    what_it_shows = ("How much the class score drops when a patch is covered with the baseline, "
                     "averaged over the patches covering each pixel.")
    watch_out = ("Sees nothing smaller than its window, and a covered patch can be a shape the model never saw; "
                 "cost grows with the number of positions.")
    family = "perturbation"

    def params(self, model):
        h, w = model.info.input.size
        return [Param("window_height", "int", min(8, h), "Patch height, in input rows (pixels, or mel "
                      "bands for a spectrogram).", 1, h),
                Param("window_width", "int", min(8, w), "Patch width, in input columns (pixels, or "
                      "frames for a spectrogram).", 1, w),
                Param("stride_height", "int", min(4, h), "Step between patch positions, in rows.", 1, h),
                Param("stride_width", "int", min(4, w), "Step between patch positions, in columns.", 1, w),
                baseline_param("black", "What covers the patch: 'black' (a zero image, as in Zeiler & "
                               "Fergus); 'mean' or 'blur' stay in range but can add opacity-like brightness.")]

    def quick_params(self, model):
        h, w = model.info.input.size
        return {"window_height": h // 2, "window_width": w // 2, "stride_height": h // 2, "stride_width": w // 2}

    @staticmethod
    def _boxes(x: np.ndarray, params: dict) -> tuple[list[tuple[int, int]], int, int]:
        h, w = x.shape[-2:]
        wh, ww = min(params["window_height"], h), min(params["window_width"], w)
        boxes = [(i, j) for i in positions(h, wh, params["stride_height"])
                 for j in positions(w, ww, params["stride_width"])]
        return boxes, wh, ww

    def cost(self, model, x, params) -> Cost:
        return Cost(forward=len(self._boxes(x, params)[0]) + 1, backward=0)

    def _compute(self, model, x, target, params, rng):
        h, w = x.shape[-2:]
        boxes, wh, ww = self._boxes(x, params)
        baseline = baseline_for(model, x, params["baseline"])
        reference = float(model.target_scores(x, target)[0])
        total = np.zeros((h, w), np.float64)
        count = np.zeros((h, w), np.float64)
        step = chunk_size(model, x)
        for start in range(0, len(boxes), step):
            chunk = boxes[start:start + step]
            occluded = np.repeat(x, len(chunk), axis=0)
            for k, (i, j) in enumerate(chunk):
                occluded[k, :, i:i + wh, j:j + ww] = baseline[0, :, i:i + wh, j:j + ww]
            for (i, j), score in zip(chunk, model.target_scores(occluded, target)):
                total[i:i + wh, j:j + ww] += reference - score
                count[i:i + wh, j:j + ww] += 1
        heatmap = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
        return heatmap, {"patches": len(boxes), "chunk": step}


class FeatureAblation(Method):
    id = "feature_ablation"
    name = "Feature Ablation"
    what_it_shows = ("How much the class score drops when one superpixel (or spectrogram tile) at a time shows "
                     "the baseline: one forward pass per feature, over the features LIME and Kernel SHAP use.")
    watch_out = ("One feature at a time: two features that can stand in for each other both score near zero; "
                 "its detail is that of the superpixels.")
    family = "perturbation"

    def params(self, model):
        return [*superpixel_params(model),
                baseline_param("black", "What the ablated superpixel shows instead of the input.")]

    def quick_params(self, model):
        return {"superpixels": "grid", "superpixel_size": 16}

    def cost(self, model, x, params) -> Cost:
        return Cost(forward=int(segment(model, x, params["superpixels"], params["superpixel_size"]).max()) + 2,
                    backward=0)  # every feature, and the input

    def _compute(self, model, x, target, params, rng):
        segments = segment(model, x, params["superpixels"], params["superpixel_size"])
        n = int(segments.max()) + 1
        reference = float(model.target_scores(x, target)[0])
        scores = feature_scores(model, x, baseline_for(model, x, params["baseline"]), segments, target,
                                ~np.eye(n, dtype=bool))  # row k: every feature kept but k
        return (reference - scores)[segments], {"superpixels": n}
