"""Method registry: adding a method is one class in its family's module and one line here."""

from __future__ import annotations

from workbench.methods.base import FAMILIES, PARAM_KINDS, Cost, Explanation, Method, Param
from workbench.methods.cam import GradCAM, GradCAMPlusPlus, NormGradOrder0, NormGradOrder1
from workbench.methods.gradient import GradientShap, InputXGradient, IntegratedGradients, Saliency, SmoothGrad
from workbench.methods.intrinsic import StepScores
from workbench.methods.perturbation import FeatureAblation, Occlusion
from workbench.methods.propagation import LRP, DeepLift, GuidedBackprop, GuidedGradCAM
from workbench.methods.surrogate import KernelShap, Lime
from workbench.methods.trivial import CentreMap, EdgeMap, IntensityMap, RandomMap
from workbench.models import ModelAdapter
from workbench.registry import Registry
from workbench.tasks import Task

METHODS: Registry[Method] = Registry("method")
METHODS.register(GradCAM())
METHODS.register(GradCAMPlusPlus())
METHODS.register(NormGradOrder0())
METHODS.register(NormGradOrder1())
METHODS.register(Saliency())
METHODS.register(IntegratedGradients())
METHODS.register(SmoothGrad())
METHODS.register(Occlusion())
METHODS.register(Lime())
METHODS.register(KernelShap())
METHODS.register(StepScores())
METHODS.register(InputXGradient())
METHODS.register(GradientShap())
METHODS.register(DeepLift())
METHODS.register(GuidedBackprop())
METHODS.register(GuidedGradCAM())
METHODS.register(LRP())
METHODS.register(FeatureAblation())
METHODS.register(RandomMap())
METHODS.register(CentreMap())
METHODS.register(IntensityMap())
METHODS.register(EdgeMap())
BASELINE_METHODS = tuple(m.id for m in METHODS.values() if m.family == "baseline")  # the evaluation adds them


def compatible_methods(task: Task, model: ModelAdapter) -> list[Method]:
    return [m for m in METHODS.values() if m.is_compatible(task, model)]


def hidden_methods(task: Task, model: ModelAdapter) -> dict[str, str]:
    """Registered methods that do not apply here, each with its one-line reason (the app shows them)."""
    return {m.name: reason for m in METHODS.values() if (reason := m.incompatibility(task, model)) is not None}


__all__ = ["BASELINE_METHODS", "FAMILIES", "METHODS", "PARAM_KINDS", "Cost", "Explanation", "Method", "Param",
           "compatible_methods", "hidden_methods"]
