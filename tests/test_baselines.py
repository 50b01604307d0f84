"""Chance baselines, lifts and confidence intervals: what an evaluation table's numbers mean, by hand and by scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage, stats

from workbench.evaluation.batch import COLUMNS, summarise
from workbench.evaluation.intervals import bootstrap_interval, clearly_worse
from workbench.methods import BASELINE_METHODS, METHODS
from workbench.models import Target
from workbench.specs import InputSpec

from .conftest import tiny_adapter


def test_the_baselines_are_their_formulas_and_cost_no_model_pass():
    """On a two-channel input with its own normalisation: intensity is the [0, 1] image averaged over channels, the
    edges are its Sobel magnitude (scipy's filters), the centre a Gaussian peaking at the middle, and the random map
    is the seed's uniform draw. None runs the model: zero counted passes."""
    spec = InputSpec(16, 20, 2, (0.5, 0.25), (0.2, 0.4))
    model = tiny_adapter(input=spec)  # the baselines never run it, so its own channels do not matter
    raw = np.random.default_rng(1).random((2, 16, 20)).astype(np.float32)
    x = spec.normalize(raw)[None]
    maps = {m: METHODS[m].explain(model, x, Target(1), seed=5) for m in BASELINE_METHODS}
    assert all(e.passes == 0 and not e.signed and METHODS[e.method].family == "baseline" for e in maps.values())
    level = raw.mean(axis=0)
    np.testing.assert_allclose(maps["baseline_intensity"].map, level, atol=1e-6)
    edges = np.hypot(ndimage.sobel(level.astype(np.float64), 0), ndimage.sobel(level.astype(np.float64), 1))
    np.testing.assert_allclose(maps["baseline_edges"].map, edges, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(maps["baseline_random"].map, np.random.default_rng(5).random((16, 20)), atol=1e-7)
    centre = maps["baseline_centre"].map
    assert centre[7:9, 9:11].min() == centre.max() and centre[0, 0] == centre.min()
    # The middle of 20 columns is 9.5 and the spread 0.25 x 20 = 5 columns: columns 9 and 4 lie 0.1 and 1.1 spreads
    # from it, so their values' ratio is exp((1.1^2 - 0.1^2) / 2) = exp(0.6), by hand.
    assert centre[8, 9] / centre[8, 4] == pytest.approx(np.exp(0.6), rel=1e-5)


def row(model: str, method: str, case: int, **scores) -> dict:
    base = {"model": model, "method": method, "case": case, "seed": 0, "baseline": "black", "relies": True,
            "detected": True, "seconds": 0.1}
    return base | {m: scores.get(m) for m in ("pointing_game", "rank_accuracy", "energy_pointing_game", "iou",
                                               "dice", "hd95", "deletion_auc", "insertion_auc", "sparseness")}


def test_lift_is_the_score_minus_the_best_baselines_in_the_metrics_direction():
    """Two baselines and one method on 4 cases, means by hand: the pointing game's best baseline is the centre
    (0.5), so a method at 0.75 lifts +0.25; HD95 is lower-better, the best baseline 10 px, the method 4 px: +6."""
    rows = []
    for case in range(4):
        rows += [row("m", "gradcam", case, pointing_game=[1, 1, 1, 0][case], hd95=4.0),
                 row("m", "baseline_centre", case, pointing_game=[1, 0, 1, 0][case], hd95=[10.0, 10, 12, 8][case]),
                 row("m", "baseline_random", case, pointing_game=0, hd95=30.0)]
    table = {r["method"]: r for r in summarise(rows)}
    assert table["gradcam"]["pointing_game_lift"] == pytest.approx(0.25)
    assert table["gradcam"]["hd95_lift"] == pytest.approx(6.0)
    assert table["baseline_centre"]["pointing_game_lift"] is None, "no lift for a baseline itself"
    assert table["gradcam"]["resamples"] == 1000
    assert set(table["gradcam"]) == set(COLUMNS)
    no_baselines = summarise([r for r in rows if r["method"] == "gradcam"])
    assert no_baselines[0]["pointing_game_lift"] is None


def test_intervals_agree_with_scipys_percentile_bootstrap():
    """Our 95% interval of the mean against scipy.stats.bootstrap (percentile method), 40 skewed values: the same
    quantity estimated with different draws, so equal within the bootstrap's own noise."""
    values = np.random.default_rng(3).exponential(1.0, 40)
    ours = bootstrap_interval(values, seed=0, resamples=4000)
    ref = stats.bootstrap((values,), np.mean, confidence_level=0.95, n_resamples=4000, method="percentile",
                          rng=np.random.default_rng(0)).confidence_interval
    assert ours == pytest.approx((ref.low, ref.high), abs=0.03)
    assert bootstrap_interval(values, seed=0) == bootstrap_interval(values, seed=0), "seeded: a table is remade"
    assert bootstrap_interval(np.array([]), seed=0) is None
    assert bootstrap_interval(np.array([0.4]), seed=0) == (0.4, 0.4)


def test_intervals_cover_the_true_mean_about_95_times_in_100():
    """Coverage, the property an interval promises: 300 samples of 30 from a normal with mean 0.5."""
    rng = np.random.default_rng(0)
    covered = [lo <= 0.5 <= hi for lo, hi in (bootstrap_interval(rng.normal(0.5, 0.2, 30), seed=k, resamples=500)
                                              for k in range(300))]
    assert 0.90 <= np.mean(covered) <= 0.98


def test_a_paired_bootstrap_separates_a_consistent_gap_from_noise():
    """Per-case differences always 0.05 against the candidate: clearly worse, although the two means' own intervals
    overlap (the cases vary a lot). Differences centred on 0: not clearly worse. Lower-better flips the side."""
    rng = np.random.default_rng(0)
    best = rng.uniform(0, 1, 30)
    assert bootstrap_interval(best - 0.05, 0)[1] > bootstrap_interval(best, 0)[0], "the plain intervals overlap"
    assert clearly_worse(best - 0.05, best, higher_is_better=True, seed=0)
    assert not clearly_worse(best + rng.normal(0, 0.05, 30), best, higher_is_better=True, seed=0)
    assert clearly_worse(best + 0.05, best, higher_is_better=False, seed=0)


def test_best_or_tied_marks_the_best_and_every_method_within_noise():
    """Three methods on 20 cases: A best, B equal to A up to noise, C always 0.2 lower: A and B marked, C not."""
    rng = np.random.default_rng(1)
    a = rng.uniform(0.3, 0.9, 20)
    b = a + rng.normal(0, 0.02, 20)
    rows = [row("m", name, k, iou=float(v[k])) for k in range(20) for name, v in (("A", a), ("B", b), ("C", a - 0.2))]
    marked = {r["method"]: r["best_or_tied"].split() for r in summarise(rows)}
    assert "iou" in marked["A"] and "iou" in marked["B"] and "iou" not in marked["C"]
