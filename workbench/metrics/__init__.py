"""Metric registry: one class in its category's module and one line here."""

from workbench.metrics.base import CATEGORIES, NEEDS, Metric
from workbench.metrics.localisation import PointingGame, RelevanceRankAccuracy
from workbench.registry import Registry

METRICS: Registry[Metric] = Registry("metric")
METRICS.register(PointingGame())
METRICS.register(RelevanceRankAccuracy())

__all__ = ["CATEGORIES", "METRICS", "NEEDS", "Metric", "PointingGame", "RelevanceRankAccuracy"]
