"""Metrics by contract, and the pointing game against hand-made maps."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.methods import METHODS
from workbench.metrics import CATEGORIES, METRICS, NEEDS
from workbench.models import Target


@pytest.mark.parametrize("metric_id", METRICS.ids())
def test_metric_contract(metric_id):
    metric = METRICS[metric_id]
    assert metric.name and metric.what_it_measures
    assert metric.category in CATEGORIES and metric.direction in ("higher", "lower")
    assert metric.needs and metric.needs <= set(NEEDS)


def _explanation_with_peak(tiny, tiny_input, peak):
    e = METHODS["gradcam"].explain(tiny, tiny_input, Target(1))
    e.map = np.zeros_like(e.map)
    e.map[peak] = 1.0
    return e


def test_pointing_game_counts_a_hit_within_the_tolerance(tiny, tiny_input):
    game = METRICS["pointing_game"]
    truth = np.zeros((32, 32), bool)
    truth[10:14, 10:14] = True
    assert game.score(_explanation_with_peak(tiny, tiny_input, (12, 12)), truth=truth) == 1.0
    assert game.score(_explanation_with_peak(tiny, tiny_input, (12, 17)), truth=truth) == 1.0  # 4 px from the edge
    assert game.score(_explanation_with_peak(tiny, tiny_input, (12, 18)), truth=truth) == 0.0
    assert game.score(_explanation_with_peak(tiny, tiny_input, (30, 2)), truth=truth) == 0.0
    with pytest.raises(ValueError, match="needs truth"):
        game.score(_explanation_with_peak(tiny, tiny_input, (1, 1)))
