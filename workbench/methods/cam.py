"""Class activation maps: feature maps of a layer weighted by what the target's gradient says."""

from __future__ import annotations

import numpy as np

from workbench.arrays import resize
from workbench.methods.base import Cost, Method
from workbench.methods.common import layer_param


class GradCAM(Method):
    id = "gradcam"
    name = "Grad-CAM"
    what_it_shows = ("Which regions of a layer's feature maps raise the class score: each map is "
                     "weighted by its mean gradient, then upsampled.")
    family = "cam"
    signed = False

    def params(self, model):
        return [layer_param(model)]

    def cost(self, model, x, params) -> Cost:
        return Cost(forward=1, backward=1)

    def _compute(self, model, x, target, params, rng):
        acts, grads = model.activations_and_gradients(x, target, params["layer"])
        weights = grads.mean(axis=(2, 3), keepdims=True)
        cam = np.maximum((weights * acts).sum(axis=1), 0)[0]
        return resize(cam, x.shape[-2:], mode="bilinear"), {"feature_map": list(cam.shape)}
