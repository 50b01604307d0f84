"""Metric registry: one class in its category's module and one line here."""

from workbench.metrics.agreement import Stability
from workbench.metrics.base import CATEGORIES, NEEDS, MapMetric, Metric
from workbench.metrics.complexity import Sparseness
from workbench.metrics.faithfulness import DeletionAUC, InsertionAUC, PerturbationAUC
from workbench.metrics.localisation import (
    BestIoU,
    EnergyPointingGame,
    PointingGame,
    RelevanceRankAccuracy,
    ThresholdedOverlap,
)
from workbench.registry import Registry

METRICS: Registry[Metric] = Registry("metric")
METRICS.register(PointingGame())
METRICS.register(RelevanceRankAccuracy())
METRICS.register(EnergyPointingGame())
METRICS.register(ThresholdedOverlap("iou"))
METRICS.register(ThresholdedOverlap("dice"))
METRICS.register(ThresholdedOverlap("hd95"))
METRICS.register(ThresholdedOverlap("iou", threshold="otsu"))
METRICS.register(BestIoU())
METRICS.register(DeletionAUC())
METRICS.register(InsertionAUC())
METRICS.register(Sparseness())
METRICS.register(Stability())

__all__ = ["CATEGORIES", "METRICS", "NEEDS", "MapMetric", "Metric", "PerturbationAUC", "PointingGame",
           "RelevanceRankAccuracy", "Stability"]
