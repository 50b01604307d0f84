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


def test_rank_accuracy_is_the_share_of_the_top_k_points_on_the_truth(tiny, tiny_input):
    """By hand: a 4x4 truth (K = 16); a map whose 16 largest values are 12 inside and 4 outside scores
    12/16; a map ranking the truth first scores 1; the truth empty or missing is an error."""
    rank = METRICS["rank_accuracy"]
    truth = np.zeros((32, 32), bool)
    truth[10:14, 10:14] = True
    e = _explanation_with_peak(tiny, tiny_input, (0, 0))
    e.map = np.zeros((32, 32), np.float32)
    e.map[10:13, 10:14] = 2.0  # 12 points inside
    e.map[0, :4] = 1.0  # 4 points outside, ranked above the rest of the truth (0)
    assert rank.score(e, truth=truth) == pytest.approx(12 / 16)
    e.map[truth] = 3.0
    assert rank.score(e, truth=truth) == 1.0
    e.map = -e.map  # lowering the score is not relevance for the target
    assert rank.score(e, truth=truth) == 0.0
    with pytest.raises(ValueError, match="empty"):
        rank.score(e, truth=np.zeros((32, 32), bool))
    with pytest.raises(ValueError, match="needs truth"):
        rank.score(e)
