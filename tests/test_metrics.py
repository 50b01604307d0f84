"""Metrics by contract, each checked on small cases computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workbench.methods import METHODS
from workbench.metrics import CATEGORIES, METRICS, NEEDS
from workbench.models import Target


@pytest.mark.parametrize("metric_id", METRICS.ids())
def test_metric_contract(metric_id):
    metric = METRICS[metric_id]
    assert metric.name and metric.what_it_measures
    assert metric.category in CATEGORIES and metric.direction in ("higher", "lower")
    assert metric.needs <= set(NEEDS)


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


def test_a_plateau_scores_the_share_of_its_points_on_the_truth_not_its_top_left_corner(tiny, tiny_input):
    """By hand, truth rows 10-13 x cols 10-13 (16 points). Pointing game without tolerance: a plateau of
    the maximum over rows 9-13 of those columns has 16 of its 20 points on the truth, 0.8 (the first in
    row-major order, on row 9, would score 0); a constant map, 16/1024. Rank accuracy: 8 truth points
    ranked first, then 8 outside (row 9) tied with 8 inside (rows 12-13): 8 + 8 x 8/16 = 12 of 16."""
    from workbench.metrics.localisation import PointingGame

    truth = np.zeros((32, 32), bool)
    truth[10:14, 10:14] = True
    e = _explanation_with_peak(tiny, tiny_input, (0, 0))
    e.map = np.zeros((32, 32), np.float32)
    e.map[9:14, 10:14] = 1.0
    assert PointingGame(tolerance=0).score(e, truth=truth) == pytest.approx(0.8)
    e.map[:] = 0.5
    assert PointingGame(tolerance=0).score(e, truth=truth) == pytest.approx(16 / 1024)
    e.map[:] = 0.0
    e.map[10:12, 10:14] = 2.0
    e.map[9, 10:18] = 1.0
    e.map[12:14, 10:14] = 1.0
    assert METRICS["rank_accuracy"].score(e, truth=truth) == pytest.approx(12 / 16)


def _maps(*arrays) -> np.ndarray:
    return np.stack([np.asarray(a, np.float32) for a in arrays])


def test_energy_pointing_game_is_the_share_of_positive_relevance_on_the_truth():
    """By hand on 2 x 3 maps: positive mass 1 + 2 + 3 + 4 = 10, of which 1 + 3 = 4 on the truth; negatives ignored."""
    truth = np.array([[[True, False, True], [False, False, False]]])
    m = _maps([[1, 2, 3], [-5, 4, 0]])
    assert METRICS["energy_pointing_game"].score_maps(m, truth)[0] == pytest.approx(0.4)
    assert METRICS["energy_pointing_game"].score_maps(-np.abs(m), truth)[0] == 0.0  # no positive relevance


def test_overlap_metrics_on_the_top_k_percent_by_hand():
    """A 10 x 10 map whose 10 largest values (top 10%) are row 0; the truth is row 0's first 5 points and 5 points
    of row 9: IoU 5/15, Dice 2*5/20. HD95 by hand: contour distances are 0 (10 of them) or 9 (10), so 9."""
    m = np.zeros((10, 10), np.float32)
    m[0] = np.arange(10, 20)
    truth = np.zeros((10, 10), bool)
    truth[0, :5] = truth[9, :5] = True
    maps, truths = m[None], truth[None]
    assert METRICS["iou"].score_maps(maps, truths)[0] == pytest.approx(5 / 15)
    assert METRICS["dice"].score_maps(maps, truths)[0] == pytest.approx(0.5)
    assert METRICS["hd95"].score_maps(maps, truths)[0] == pytest.approx(9.0)
    assert not METRICS["hd95"].higher_is_better


def test_otsu_splits_a_two_level_map_at_its_gap():
    m = np.zeros((8, 8), np.float32)
    m[2:4, 2:6] = 5.0
    truth = np.zeros((8, 8), bool)
    truth[2:4, 2:4] = True
    assert METRICS["iou_otsu"].score_maps(m[None], truth[None])[0] == pytest.approx(4 / 8)


def test_the_iou_sweep_peaks_where_the_top_k_matches_the_truth():
    """Truth = the 20 highest of 100 points: IoU at top k% is min(k, 20) / max(k, 20), best 1 at k = 20."""
    from workbench.metrics.localisation import iou_sweep

    m = np.arange(100, dtype=np.float32).reshape(10, 10)
    truth = m >= 80
    curve = iou_sweep(m[None], truth[None])[0]
    assert curve[9] == pytest.approx(10 / 20) and curve[19] == 1.0 and curve[39] == pytest.approx(20 / 40)
    assert METRICS["best_iou"].score_maps(m[None], truth[None])[0] == 1.0


def test_localisation_metrics_score_a_batch_as_they_score_each_map():
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(5, 12, 12)).astype(np.float32)
    truths = np.zeros((5, 12, 12), bool)
    truths[:, 3:7, 4:9] = True
    for metric in METRICS.values():
        if metric.category == "localisation":
            batch = metric.score_maps(maps, truths)
            single = [metric.score_maps(maps[i:i + 1], truths[i:i + 1])[0] for i in range(5)]
            np.testing.assert_allclose(batch, single, err_msg=metric.id)


def test_sparseness_is_the_gini_index_by_hand():
    """Gini of (0, 0, 0, 4) is (n - 1) / n = 0.75; of a constant map 0; of (1, 2, 3, 4): (-3 - 2 - 3 + 12) / 40 = 0.25
    with the formula sum((2i - n - 1) x_i) / (n sum x) on sorted values (signs ignored)."""
    gini = METRICS["sparseness"].score_maps(_maps([[0, 0], [0, -4]], [[2, 2], [2, 2]], [[4, -1], [3, 2]]), None)
    np.testing.assert_allclose(gini, [0.75, 0.0, 0.25])


def test_agreement_matrices_by_hand():
    from workbench.metrics.agreement import spearman_matrix, top_k_iou_matrix

    a = np.array([[1, 2], [3, 4]], np.float32)
    maps = np.stack([a, 10 * a, -a, np.zeros_like(a)])
    rho = spearman_matrix(maps)
    np.testing.assert_allclose(rho[0], [1, 1, -1, 0])
    assert rho[3, 3] == 1.0
    iou = top_k_iou_matrix(maps, k_percent=50)  # top 2 of 4: {3, 4}, {3, 4}, {1, 2}, two tied zeros
    np.testing.assert_allclose(iou[0, :3], [1, 1, 0])
    assert iou[0, 3] in (0.0, 1 / 3, 1.0)  # the constant map's two points are a draw (ties: not row-major)
    np.testing.assert_allclose(top_k_iou_matrix(np.stack([a, a[::-1]]), 50)[0, 1], 0.0)  # {3, 4} vs {1, 2}


def test_deletion_and_insertion_curves_follow_a_model_that_reads_one_pixel():
    """A linear 'model' whose class-1 logit is 8 x pixel (0, 0): with the map pointing at that pixel, deletion drops
    the probability to that of a black input at the first step and insertion raises it there; the AUCs by hand."""
    import torch
    from torch import nn

    from workbench.metrics.faithfulness import area_under, perturbation_curve
    from workbench.models import TorchAdapter
    from workbench.specs import InputSpec

    from .conftest import tiny_info

    module = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    with torch.no_grad():
        module[1].weight.zero_()
        module[1].bias.zero_()
        module[1].weight[1, 0] = 8.0
    model = TorchAdapter(module, tiny_info(id="one-pixel", input=InputSpec(4, 4, 1, (0.0,), (1.0,))))
    x = np.full((1, 1, 4, 4), 0.5, np.float32)
    heatmap = np.zeros((4, 4), np.float32)
    heatmap[0, 0] = 1.0
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731  (softmax of (0, z) is sigmoid(z))
    with model.counting() as counted:
        shares, deletion = perturbation_curve(model, x, heatmap, Target(1), "deletion", steps=4)
    assert counted.forward == 5
    np.testing.assert_allclose(shares, [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(deletion, [sigmoid(4.0)] + [0.5] * 4, rtol=1e-6)
    _, insertion = perturbation_curve(model, x, heatmap, Target(1), "insertion", steps=4)
    np.testing.assert_allclose(insertion, [0.5] + [sigmoid(4.0)] * 4, rtol=1e-6)
    assert area_under(shares, deletion) == pytest.approx(0.125 * (sigmoid(4.0) + 0.5) + 0.75 * 0.5)
    # A reference input (what the evaluation's twin baseline passes): pixel (0, 0) at 0.25 there, logit 2.
    twin = x.copy()
    twin[0, 0, 0, 0] = 0.25
    _, deletion = perturbation_curve(model, x, heatmap, Target(1), "deletion", steps=4, baseline=twin)
    np.testing.assert_allclose(deletion, [sigmoid(4.0)] + [sigmoid(2.0)] * 4, rtol=1e-6)
    _, insertion = perturbation_curve(model, x, heatmap, Target(1), "insertion", steps=4, baseline=twin)
    np.testing.assert_allclose(insertion, [sigmoid(2.0)] + [sigmoid(4.0)] * 4, rtol=1e-6)
    with pytest.raises(ValueError, match="the input's shape"):
        perturbation_curve(model, x, heatmap, Target(1), "deletion", baseline=twin[..., :3])
    e = METHODS["saliency"].explain(model, x, Target(1))  # all on pixel (0, 0); the metric steps 5% (0.8 px -> 1)
    assert METRICS["deletion_auc"].score(e, model=model, x=x) == pytest.approx(0.025 * (sigmoid(4.0) + 0.5) + 0.475)
    assert METRICS["insertion_auc"].score(e, model=model, x=x) == pytest.approx(0.025 * (sigmoid(4.0) + 0.5)
                                                                              + 0.95 * sigmoid(4.0))


def test_deletion_orders_a_plateau_at_random_not_top_row_first():
    """A map that is flat over most of the image (a CAM after ReLU, a LIME tile) must not be deleted top row first:
    the model here reads only the top row (class-1 logit 2 x its sum), so a row-major order would empty it in the
    first quarter of the curve. Ties are drawn from the seed: over 400 seeds, the top row's share of the first 4
    points deleted is the hypergeometric mean 4 x 4 / 16 = 1 pixel; strictly higher points always go first; and the
    curve is the model on exactly the copies that order makes, by hand."""
    import torch
    from torch import nn

    from workbench.metrics.faithfulness import perturbation_curve, relevance_order
    from workbench.models import TorchAdapter
    from workbench.specs import InputSpec

    from .conftest import tiny_info

    module = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    with torch.no_grad():
        module[1].weight.zero_()
        module[1].bias.zero_()
        module[1].weight[1, :4] = 2.0
    model = TorchAdapter(module, tiny_info(id="top-row", input=InputSpec(4, 4, 1, (0.0,), (1.0,))))
    x = np.ones((1, 1, 4, 4), np.float32)
    plateau = np.zeros((4, 4), np.float32)
    plateau[3, 3] = 1.0  # one peak, then 15 tied points
    top_row_first = [np.isin(relevance_order(plateau, seed)[1:5], range(4)).sum() for seed in range(400)]
    assert all(relevance_order(plateau, seed)[0] == 15 for seed in range(20))
    assert np.mean(top_row_first) == pytest.approx(1.0, abs=0.15)
    assert len({tuple(relevance_order(plateau, s)) for s in range(5)}) == 5
    for seed in (0, 1):
        order = relevance_order(plateau, seed)
        _, deletion = perturbation_curve(model, x, plateau, Target(1), "deletion", steps=4, seed=seed)
        left = [4 - np.isin(order[:k], range(4)).sum() for k in (0, 4, 8, 12, 16)]
        np.testing.assert_allclose(deletion, [1 / (1 + np.exp(-2.0 * n)) for n in left], rtol=1e-6)


class InputItself(METHODS["saliency"].__class__):
    """A 'method' that ignores the model and returns the input: the randomisation check must fail it."""

    id = "input_itself"

    def _compute(self, model, x, target, params, rng):
        return x[0].sum(axis=0), {}


def test_model_randomisation_passes_a_method_that_reads_the_model_and_fails_one_that_does_not(tiny, tiny_input):
    """Grad-CAM on a randomised network changes; the input itself does not change (Spearman 1, SSIM 1). The
    shared model keeps its weights bit for bit."""
    from workbench.metrics.sanity import cascade_points, model_randomisation

    before = tiny.outputs(tiny_input)
    e = METHODS["gradcam"].explain(tiny, tiny_input, Target(1))
    result = model_randomisation(tiny, tiny_input, e, steps=3)
    assert [s["layers_randomised"] for s in result["steps"]] == cascade_points(len(tiny.weighted_layers()), 3)
    assert result["steps"][-1]["layers_randomised"] == len(tiny.weighted_layers()) == result["layers"]
    assert result["passed"] and abs(result["steps"][-1]["spearman"]) < 0.5
    np.testing.assert_array_equal(tiny.outputs(tiny_input), before)

    fake = InputItself()
    same = model_randomisation(tiny, tiny_input, fake.explain(tiny, tiny_input, Target(1)), steps=3, method=fake)
    assert not same["passed"]
    assert all(s["spearman"] == pytest.approx(1.0) and s["ssim"] == pytest.approx(1.0) for s in same["steps"])


def test_a_randomised_copy_has_new_weights_only_in_the_named_layers(tiny):
    top = tiny.weighted_layers()[0]
    copy = tiny.randomised([top], seed=1)
    original = dict(tiny.module.named_parameters())
    for name, p in copy.module.named_parameters():
        changed = not torch.equal(p, original[name])
        assert changed == name.startswith(f"{top}."), name
    assert copy.info.revision != tiny.info.revision and copy.key != tiny.key


def test_the_layer_sweep_scores_every_layer_as_grad_cam_run_layer_by_layer(bundled):
    """One pass capturing every layer gives, per layer, the scores of Grad-CAM run on that layer alone."""
    from workbench.evaluation.cases import CASE_SOURCES
    from workbench.evaluation.layers import layer_sweep

    layers = ["layer2", "layer3", "layer4"]
    sweep = layer_sweep(bundled, n=3, split="val", layers=layers)
    assert sweep["relied_on"] == 3
    expected = {layer: {"pointing_game": [], "rank_accuracy": []} for layer in layers}
    for case in CASE_SOURCES["lung_xray"](3, 0, "val"):
        x = bundled.info.input.normalize(case.raw[None])[None]
        for layer in layers:
            e = METHODS["gradcam"].explain(bundled, x, Target(1), {"layer": layer})
            for s in expected[layer]:
                expected[layer][s].append(METRICS[s].score(e, truth=case.truth.mask))
    for layer in layers:
        for s, values in expected[layer].items():
            assert sweep["layers"][layer][s] == pytest.approx(np.mean(values), abs=1e-4), (layer, s)
    best = max(layers, key=lambda la: (np.mean(expected[la]["pointing_game"]), np.mean(expected[la]["rank_accuracy"])))
    assert sweep["best"] == best


def test_resolution_ceiling_by_hand():
    """16x16 truths, a 2x2 grid (cells of 8 px). A CAM cell upsampled bilinearly with half-pixel centres is
    flat over the 4x4 pixels nearest the image corner, so the argmax is pixel (0, 0). A one-pixel truth at
    (2, 2) is 4 px away (city-block) from it: a hit within the 4 px tolerance; at (7, 7), 14 px: a miss."""
    from workbench.evaluation.layers import resolution_ceiling

    truths = np.zeros((2, 16, 16), bool)
    truths[0, 2, 2] = truths[1, 7, 7] = True
    assert resolution_ceiling(truths, (2, 2)) == 0.5
    assert resolution_ceiling(truths, (16, 16)) == 1.0  # at full resolution the truth points at itself


def test_classification_report_specificity_support_and_confusion_by_hand():
    """Six cases of three classes. Confusion (rows: truth) [[2, 1, 0], [0, 1, 1], [0, 0, 1]]. Specificity of a
    class: of the cases of the other classes, the share not called this class: a 3/3 (nothing else is called
    a), b 3/4 (one a is called b), c 4/5 (one b is called c)."""
    from workbench.evaluation.classification import classification_report

    report = classification_report(np.array([0, 0, 0, 1, 1, 2]), np.array([0, 1, 0, 1, 2, 2]), ("a", "b", "c"))
    assert report["confusion"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    per_class = report["per_class"]
    assert [per_class[k]["specificity"] for k in "abc"] == pytest.approx([1.0, 0.75, 0.8])
    assert [per_class[k]["support"] for k in "abc"] == [3, 2, 1]
    assert [per_class[k]["precision"] for k in "abc"] == pytest.approx([1.0, 0.5, 0.5])
    assert [per_class[k]["recall"] for k in "abc"] == pytest.approx([2 / 3, 0.5, 1.0])
    assert report["accuracy"] == pytest.approx(4 / 6)
    only_a = classification_report(np.array([0, 0]), np.array([0, 1]), ("a", "b"))
    assert only_a["per_class"]["a"]["specificity"] == 0.0, "no case of another class: undefined, reported as 0"


def test_overlap_metrics_cut_a_plateau_at_random_not_top_rows_first():
    """A CAM after ReLU is zero over most of the image. Its top 10% of a 32 x 32 map is 102 points: the 40 nonzero
    ones, then 62 of the 984 tied zeros. Taken row-major, the 62 would be the top two rows, which here are the
    truth (IoU 62 / (102 + 64 - 62) = 0.60). Drawn at random, the truth holds the hypergeometric 62 x 64 / 984 =
    4.0 of them on average; the nonzero points are always in; and the IoU sweep agrees with the binarised IoU."""
    from workbench.metrics.localisation import iou_sweep, top_fraction

    cam = np.zeros((32, 32), np.float32)
    cam[20:25, 10:18] = 1.0  # 40 points
    truth = np.zeros((32, 32), bool)
    truth[:2] = True  # 64 points, all in the plateau
    top = top_fraction(cam[None], 0.10)[0]
    assert top.sum() == 102 and top[20:25, 10:18].all()
    assert (top & truth).sum() <= 15  # P(>= 16 | hypergeometric mean 4.0) < 1e-5; row-major gives 62
    iou = METRICS["iou"].score_maps(cam[None], truth[None])[0]
    assert iou == pytest.approx((top & truth).sum() / (top | truth).sum())
    assert iou_sweep(cam[None], truth[None], (10,))[0, 0] == pytest.approx(iou)
