"""Methods run through Captum on PyTorch models: DeepLIFT, Guided Backpropagation, Guided Grad-CAM and LRP.

Each changes how the backward pass goes through the model's modules (Captum's hooks on its ReLUs, rules on
its layers), which only Captum's PyTorch code does, so they are hidden on Keras models. Captum attributes the
adapter's `scored_module`: the same score operator as every other method, every pass it runs counted and
stoppable, and the model left as it was.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import torch

from workbench.methods.base import Cost, Method
from workbench.methods.common import baseline_for, baseline_param, layer_param


def channel_sum(attribution: torch.Tensor) -> np.ndarray:
    """The first item's attribution summed over the input channels (a signed H x W map, as IG's)."""
    return attribution[0].sum(dim=0).detach().cpu().numpy()


class CaptumMethod(Method):
    frameworks = ("pytorch",)

    def incompatibility(self, task, model) -> str | None:
        if model.info.framework != "pytorch":
            return f"runs through Captum, which explains PyTorch models only; this is a {model.info.framework} model."
        return super().incompatibility(task, model)

    @staticmethod
    def attribute(model, x: np.ndarray, target, attribution: Callable[[torch.nn.Module], object], **kwargs):
        """Captum's `attribution(scored module).attribute(x, target=0, **kwargs)`, its passes through the adapter."""
        with model.scored_module(target) as scored, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Captum's notes that it sets hooks on the activations and removes them
            return attribution(scored).attribute(torch.from_numpy(x).to(model.device), target=0, **kwargs)


class DeepLift(CaptumMethod):
    id = "deeplift"
    name = "DeepLIFT"
    what_it_shows = ("What each pixel adds to the class score compared with a baseline input, each ReLU passing "
                     "on its output change over its input change (Shrikumar et al. 2017, rescale rule); the map "
                     "sums to score(input) - score(baseline).")
    watch_out = ("Like IG it depends on the baseline; its rule applies to ReLU modules only, so a model with "
                 "functional activations adds up less well (the record's convergence delta).")
    family = "propagation"

    def incompatibility(self, task, model) -> str | None:
        reason = super().incompatibility(task, model)
        if reason is None and model.flow().reused:
            return (f"Captum's DeepLIFT needs each activation module to run once; this model runs "
                    f"'{model.flow().reused[0]}' twice.")
        return reason

    def params(self, model):
        return [baseline_param("black", "Reference input the differences are taken from (as Integrated "
                               "Gradients').")]

    def cost(self, model, x, params) -> Cost:
        return Cost(forward=4, backward=2)  # input and baseline in one batch, then both again for the delta

    def _compute(self, model, x, target, params, rng):
        from captum.attr import DeepLift as CaptumDeepLift

        baseline = torch.from_numpy(baseline_for(model, x, params["baseline"])).to(model.device)
        attribution, delta = self.attribute(model, x, target, CaptumDeepLift, baselines=baseline,
                                            return_convergence_delta=True)
        return channel_sum(attribution), {"convergence_delta": float(delta.detach().abs().max())}


class GuidedBackprop(CaptumMethod):
    id = "guided_backprop"
    name = "Guided Backpropagation"
    what_it_shows = ("The class score's gradient with every ReLU letting only positive gradients back "
                     "(Springenberg et al. 2015): sharp edges of what the input shows.")
    watch_out = ("Barely depends on the class or the model's weights (Adebayo et al. 2018): it looks like an "
                 "edge detector even on a randomised model; only ReLU modules are guided.")
    family = "propagation"

    def cost(self, model, x, params) -> Cost:
        return Cost(forward=1, backward=1)

    def _compute(self, model, x, target, params, rng):
        from captum.attr import GuidedBackprop as CaptumGuidedBackprop

        return channel_sum(self.attribute(model, x, target, CaptumGuidedBackprop)), {}


class GuidedGradCAM(CaptumMethod):
    id = "guided_gradcam"
    name = "Guided Grad-CAM"
    what_it_shows = ("Guided Backpropagation times the Grad-CAM map at the model's CAM layer (Selvaraju et al. "
                     "2017): the guided map's edges, kept where Grad-CAM finds the class.")
    watch_out = "Inherits Guided Backpropagation's insensitivity to the model and Grad-CAM's coarseness."
    family = "cam"
    needs_layer = True

    def incompatibility(self, task, model) -> str | None:
        if getattr(model, "tokens", False):
            return "Captum's Grad-CAM step needs a convolutional feature map; a Hub model's layers may be tokens."
        return super().incompatibility(task, model)

    def params(self, model):
        return [layer_param(model)]

    def cost(self, model, x, params) -> Cost:
        return Cost(forward=2, backward=2)  # Grad-CAM's pass, then Guided Backpropagation's

    def _compute(self, model, x, target, params, rng):
        from captum.attr import GuidedGradCam as CaptumGuidedGradCam

        layer = dict(model.module.named_modules())[params["layer"]]
        attribution = self.attribute(model, x, target, lambda scored: CaptumGuidedGradCam(scored, layer),
                                     interpolate_mode="bilinear")  # upsampled as our Grad-CAM is
        return channel_sum(attribution), {}


class LRP(CaptumMethod):
    id = "lrp"
    name = "LRP (epsilon)"
    what_it_shows = ("Layer-wise Relevance Propagation (Bach et al. 2015) with Captum's default rules (epsilon on "
                     "every layer): the class logit passed back layer by layer, each layer sharing it among its "
                     "inputs by their contributions, so the map sums to the logit less what biases absorb.")
    watch_out = ("Captum's default rule (epsilon 1e-9 on every layer) makes it Input × Gradient on a ReLU network "
                 "(Ancona et al. 2018); offered only where its rules cover every layer (no residual adds, "
                 "concatenations or other activations).")
    family = "propagation"

    def incompatibility(self, task, model) -> str | None:
        reason = super().incompatibility(task, model)
        if reason is not None:
            return reason
        if model.info.output != "logits":
            return f"its relevance starts from a logit; this model's head gives {model.info.output} probabilities."
        from captum.attr._core.lrp import SUPPORTED_LAYERS_WITH_RULES, SUPPORTED_NON_LINEAR_LAYERS

        covered = (*SUPPORTED_LAYERS_WITH_RULES, *SUPPORTED_NON_LINEAR_LAYERS)
        uncovered = sorted({type(m).__name__ for _, m in model.module.named_modules()
                            if next(m.children(), None) is None and type(m) not in covered})
        flow, reasons = model.flow(), []
        if uncovered:
            reasons.append(f"Captum's LRP has no rule for this model's {', '.join(uncovered)} layers")
        if flow.first_break() is not None:
            reasons.append(f"its rules see only layers, and this model computes between them ({flow.first_break()}: "
                           "a residual add, a concatenation or a functional activation)")
        elif flow.reused:
            reasons.append(f"it keeps one record per layer, and this model runs '{flow.reused[0]}' twice")
        if not reasons:
            return None
        reason = "; ".join(reasons)
        return (reason if uncovered else f"Captum's LRP: {reason}") + "."

    def cost(self, model, x, params) -> Cost:
        return Cost(forward=2, backward=1)  # the logit with the rules' weights, then the relevance pass

    def _compute(self, model, x, target, params, rng):
        from captum.attr import LRP as CaptumLRP

        attribution, delta = self.attribute(model, x, target, CaptumLRP, return_convergence_delta=True)
        return channel_sum(attribution), {"convergence_delta": float(delta.detach().abs().max())}
