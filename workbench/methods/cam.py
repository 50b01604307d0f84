"""Layer methods: a layer's feature maps and the target score's gradient there, from one forward and
one backward pass. CAMs weight the feature maps by the gradient; NormGrad takes the norm of the weight
gradient of a virtual identity layer inserted at that point."""

from __future__ import annotations

import numpy as np

from workbench.arrays import resize
from workbench.methods.base import Cost, Method, Param
from workbench.methods.common import layer_param

EPS = 1e-6  # pytorch-grad-cam's guard in the Grad-CAM++ denominator


def weighted_cam(acts: np.ndarray, weights: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """ReLU of the channel-weighted sum of the first item's feature maps, upsampled bilinearly."""
    cam = np.maximum((weights[:, :, None, None] * acts).sum(axis=1), 0)[0]
    return resize(cam, size, mode="bilinear")


class GradCAM(Method):
    id = "gradcam"
    name = "Grad-CAM"
    what_it_shows = ("Which regions of a layer's feature maps raise the class score: each map is "
                     "weighted by its mean gradient, then upsampled.")
    watch_out = "As coarse as its layer: a deep layer's few cells are blown up to the input's size."
    family = "cam"
    signed = False
    needs_layer = True

    def params(self, model):
        return [layer_param(model)]

    def cost(self, model, x, params) -> Cost:
        return Cost(forward=1, backward=1)

    def _compute(self, model, x, target, params, rng):
        acts, grads = model.activations_and_gradients(x, target, params["layer"])
        return weighted_cam(acts, grads.mean(axis=(2, 3)), x.shape[-2:]), {"feature_map": list(acts.shape[-2:])}


class GradCAMPlusPlus(GradCAM):
    id = "gradcam_pp"
    name = "Grad-CAM++"
    what_it_shows = ("Grad-CAM with each feature map weighted by its positive gradients, each location "
                     "counted by a second-order weight (Chattopadhay et al. 2018): several instances of "
                     "a class all show, not only the strongest.")
    watch_out = "As coarse as its layer, like Grad-CAM; its weights assume the score is an exponential."

    def _compute(self, model, x, target, params, rng):
        acts, grads = model.activations_and_gradients(x, target, params["layer"])
        g2 = grads**2
        alpha = g2 / (2 * g2 + acts.sum(axis=(2, 3), keepdims=True) * g2 * grads + EPS)
        alpha = np.where(grads != 0, alpha, 0)
        weights = (alpha * np.maximum(grads, 0)).sum(axis=(2, 3))
        return weighted_cam(acts, weights, x.shape[-2:]), {"feature_map": list(acts.shape[-2:])}


def neighbourhood_norm(acts: np.ndarray) -> np.ndarray:
    """For each location, the norm of the activations in its 3 x 3 neighbourhood (zero padded):
    the norm of the input patch a 3 x 3 convolution would read there."""
    squares = np.pad((acts**2).sum(axis=1), ((0, 0), (1, 1), (1, 1)))
    h, w = acts.shape[-2:]
    return np.sqrt(sum(squares[:, i:i + h, j:j + w] for i in range(3) for j in range(3)))


class NormGrad(Method):
    """NormGrad (Rebuffi et al. 2020): at each location u, the Frobenius norm of the weight gradient of
    a virtual identity layer inserted after the chosen layer. That gradient is the outer product of
    the layer's output gradient g_u and the virtual layer's input at u, so its norm is
    ||g_u|| * ||input at u||: order 0 (a 1 x 1 virtual layer) reads the activation a_u, order 1 (a 3 x 3
    one) the 3 x 3 neighbourhood of activations. Nothing is copied: one forward and one backward pass
    capture every chosen layer. Several layers combine as the authors did: each map is upsampled,
    scaled to [0, 1], and the maps are multiplied."""

    family = "cam"
    signed = False
    needs_layer = True
    order: int

    def params(self, model):
        layers = model.layers()
        default = [s for s in model.info.stages if s in layers] or [layers[0]]
        return [Param("layers", "layers", default, "Layer(s) the virtual identity layer is inserted after; "
                      "several are multiplied together (each scaled to [0, 1]). Default: the layers its config "
                      "names as `stages` (measured to localise best), else its CAM layer.", choices=tuple(layers))]

    def cost(self, model, x, params) -> Cost:
        return Cost(forward=1, backward=1)

    def _compute(self, model, x, target, params, rng):
        size = x.shape[-2:]
        maps = []
        for acts, grads in model.layer_gradients(x, target, params["layers"]):
            inputs = np.sqrt((acts**2).sum(axis=1)) if self.order == 0 else neighbourhood_norm(acts)
            maps.append(resize((np.sqrt((grads**2).sum(axis=1)) * inputs)[0], size, mode="bilinear"))
        if len(maps) == 1:
            return maps[0], {}
        combined = np.ones(size, np.float64)
        for m in maps:
            span = float(m.max() - m.min())
            combined *= (m - m.min()) / span if span > 0 else np.zeros_like(m)
        return combined, {"combined_layers": len(maps)}


class NormGradOrder0(NormGrad):
    id = "normgrad_o0"
    name = "NormGrad (order 0)"
    order = 0
    what_it_shows = ("Where the layer's weights would change most to raise the class score: the gradient's "
                     "norm times the activation's norm at each location (Rebuffi et al. 2020).")
    watch_out = "As coarse as its layer, and unsigned: a location that lowers the score also lights up."


class NormGradOrder1(NormGrad):
    id = "normgrad_o1"
    name = "NormGrad (order 1)"
    order = 1
    what_it_shows = ("NormGrad with a 3 x 3 virtual layer: the gradient's norm times the norm of the "
                     "activations around each location, a smoother map than order 0.")
    watch_out = "As coarse as its layer and a little blurrier; unsigned, like order 0."
