"""Our metrics against the field's own implementations (test dependencies only; the app never imports them):
Quantus 0.6.0 for rank accuracy, the energy pointing game, the pointing game, top-k intersection and deletion /
insertion (PixelFlipping); MONAI 1.6.1 for Dice and HD95. Where a definition differs, the test pins the relation
and docs/evaluation.md ("Checked against") names it.

Maps are seeded continuous random fields (no ties: ties are ordered by a rule of our own, which may change) and
masks random blobs clear of the image border."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch._dynamo  # noqa: F401 - triton before TensorFlow, which Quantus imports past our guard

from workbench import masks
from workbench.methods import METHODS
from workbench.metrics import METRICS
from workbench.metrics.faithfulness import area_under, perturbation_curve
from workbench.metrics.localisation import PointingGame, binarise
from workbench.models import Target

quantus = pytest.importorskip("quantus")
monai_metrics = pytest.importorskip("monai.metrics")
N, SIZE = 12, 48


def blobs(rng: np.random.Generator, n: int = SIZE, count: int = 1) -> np.ndarray:
    """A mask of `count` discs of radius 3-8 px, at least 12 px from the image border."""
    yy, xx = np.ogrid[:n, :n]
    out = np.zeros((n, n), bool)
    for _ in range(count):
        (cy, cx), r = rng.integers(12, n - 12, 2), rng.integers(3, 9)
        out |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    return out


@pytest.fixture
def cases() -> tuple[np.ndarray, np.ndarray]:
    """N seeded random maps (smoothed noise, signed, no ties) and N masks, each a disc or two."""
    from scipy import ndimage

    rng = np.random.default_rng(39)
    maps = np.stack([ndimage.gaussian_filter(rng.normal(size=(SIZE, SIZE)), 2) for _ in range(N)])
    truths = np.stack([blobs(rng, count=1 + k % 2) for k in range(N)])
    return maps, truths


def quantus_scores(metric, maps: np.ndarray, truths: np.ndarray) -> np.ndarray:
    """A Quantus localisation metric on precomputed maps (no model: it reads only the map and the mask)."""
    warnings.filterwarnings("ignore")
    x = np.zeros((len(maps), 1, *maps.shape[1:]), np.float32)
    return np.asarray(metric(model=None, x_batch=x, y_batch=np.zeros(len(maps), int), a_batch=maps[:, None],
                             s_batch=truths[:, None]), float)


def test_rank_accuracy_equals_quantus_relevance_rank_accuracy(cases):
    maps, truths = cases
    theirs = quantus_scores(quantus.RelevanceRankAccuracy(disable_warnings=True), maps, truths)
    np.testing.assert_allclose(METRICS["rank_accuracy"].score_maps(maps, truths), theirs, atol=1e-12)


def test_energy_pointing_game_equals_quantus_relevance_mass_accuracy_on_the_positive_part(cases):
    """Equal on maps without negative values. On a signed map Quantus sums the signed relevance (negative evidence
    outside the mask raises its score, and it can leave [0, 1]); ours counts the positive relevance only, as the
    energy pointing game (Score-CAM) defines it: ours on a map is Quantus's on the map's positive part."""
    maps, truths = cases
    metric = quantus.RelevanceMassAccuracy(disable_warnings=True)
    ours = METRICS["energy_pointing_game"].score_maps(maps, truths)
    np.testing.assert_allclose(ours, quantus_scores(metric, np.maximum(maps, 0), truths), atol=1e-12)
    shifted = maps - maps.min(axis=(1, 2), keepdims=True)  # non-negative: equal as they are
    np.testing.assert_allclose(METRICS["energy_pointing_game"].score_maps(shifted, truths),
                               quantus_scores(metric, shifted, truths), atol=1e-12)
    assert not np.allclose(ours, quantus_scores(metric, maps, truths)), "signed maps: the conventions differ"


def test_pointing_game_equals_quantus_where_the_maximum_is_one_point(cases):
    """Without tolerance and with one maximum, a hit is a hit in both. Quantus 0.6 on numpy 2 breaks in two of its
    paths (pinned here so an upgrade that fixes them shows): `weighted=True` raises, and an empty mask scores True
    (a NaN written into a bool array) instead of NaN. On a plateau Quantus counts a hit when any tied maximum is on
    the mask; ours scores the share of them on it (hand computations: tests/test_metrics.py)."""
    maps, truths = cases
    theirs = quantus_scores(quantus.PointingGame(disable_warnings=True), maps, truths)
    np.testing.assert_array_equal(PointingGame(tolerance=0).score_maps(maps, truths), theirs)
    with pytest.raises(TypeError):
        quantus.PointingGame(weighted=True, disable_warnings=True).evaluate_batch(
            a_batch=maps[:, None], s_batch=truths[:, None])
    empty = quantus.PointingGame(disable_warnings=True).evaluate_batch(a_batch=maps[:1, None],
                                                                       s_batch=np.zeros_like(truths[:1, None]))
    assert empty[0] == 1  # should be NaN
    plateau = np.zeros((1, 4, 4))
    plateau[0, 0, :] = 1.0  # four tied maxima, one on the mask
    on = np.zeros((1, 4, 4), bool)
    on[0, 0, 0] = True
    assert quantus_scores(quantus.PointingGame(disable_warnings=True), plateau, on)[0] == 1
    assert PointingGame(tolerance=0).score_maps(plateau, on)[0] == pytest.approx(0.25)


def test_top_k_intersection_relates_to_our_top_k_dice_and_rank_accuracy(cases):
    """Quantus's TopKIntersection is the share of the map's top k points on the mask (a precision); we report
    the overlap of the top k% with the mask as Dice and IoU. With I the points in both: TKI = I / k and
    Dice = 2I / (k + |T|), so TKI = Dice x (k + |T|) / 2k. At k = |T| it is our rank accuracy."""
    maps, truths = cases
    k = round(0.10 * SIZE * SIZE)  # our default top 10%
    tki = quantus_scores(quantus.TopKIntersection(k=k, disable_warnings=True), maps, truths)
    dice = METRICS["dice"].score_maps(maps, truths)
    sizes = truths.reshape(N, -1).sum(1)
    np.testing.assert_allclose(tki, dice * (k + sizes) / (2 * k), atol=1e-12)
    iou = METRICS["iou"].score_maps(maps, truths)
    np.testing.assert_allclose(tki, iou * (k + sizes) / ((1 + iou) * k), atol=1e-12)
    at_truth = [quantus_scores(quantus.TopKIntersection(k=int(s), disable_warnings=True), m[None], t[None])[0]
                for m, t, s in zip(maps, truths, sizes)]
    np.testing.assert_allclose(at_truth, METRICS["rank_accuracy"].score_maps(maps, truths), atol=1e-12)


def monai(fn, a: np.ndarray, b: np.ndarray, **kwargs) -> float:
    return float(fn(torch.from_numpy(a[None, None]), torch.from_numpy(b[None, None]), **kwargs))


def test_dice_equals_monai_compute_dice(cases):
    """On the binarised maps the Dice metric scores, and on mask pairs. One convention differs: both masks empty
    is Dice 1 for us (perfect agreement), NaN for MONAI (ignore_empty)."""
    maps, truths = cases
    for top, truth in zip(binarise(maps), truths):
        assert masks.dice(top, truth) == pytest.approx(monai(monai_metrics.compute_dice, top, truth), abs=1e-6)
    empty = np.zeros((8, 8), bool)
    assert masks.dice(empty, empty) == 1.0 and np.isnan(monai(monai_metrics.compute_dice, empty, empty))


@pytest.mark.filterwarnings("ignore::FutureWarning")  # MONAI's own deprecation inside compute_hausdorff_distance
def test_hd95_differs_from_monai_only_by_pooling_the_two_directions():
    """MONAI's `compute_hausdorff_distance(percentile=95)` takes the 95th percentile of each direction's surface
    distances (prediction to truth, truth to prediction) and the larger; ours is the 95th percentile of both
    directions pooled (as MedPy and the Medical Segmentation Decathlon's HD95). Same contours, same distances
    (pinned: MONAI equals the per-direction form on our surface distances), so ours lies between the two directed
    values (give or take interpolation between neighbouring distances): the difference is at most the gap between
    the directions. On one lesion against one region it stayed under 1 px here; on scattered masks it reaches
    a few px."""
    rng = np.random.default_rng(95)
    worst = {1: 0.0, 3: 0.0}
    for count in (1, 3):
        for _ in range(60):
            a, b = blobs(rng, 64, count), blobs(rng, 64, count)
            theirs = monai(monai_metrics.compute_hausdorff_distance, a, b, percentile=95)
            to_b, to_a = masks.surface_distances(a, b)
            directed = np.percentile(to_b, 95), np.percentile(to_a, 95)
            assert theirs == pytest.approx(max(directed), rel=1e-6)
            ours = masks.hd95(a, b)
            assert min(directed) - 1e-9 <= ours <= max(directed) + 0.5
            worst[count] = max(worst[count], abs(theirs - ours))
    assert worst[1] <= 1.0 and worst[3] <= 4.0, worst


@pytest.fixture
def faithfulness_case(tiny, tiny_input) -> tuple:
    """The tiny model, its input, a continuous random map (no ties) and a class."""
    heatmap = np.random.default_rng(7).normal(size=tiny_input.shape[-2:]).astype(np.float32)
    return tiny, tiny_input, heatmap, 1


def quantus_flipping(model, start: np.ndarray, heatmap: np.ndarray, c: int, steps: int, perturb_baseline,
                     perturb_func=None, **func_kwargs) -> np.ndarray:
    """Quantus's PixelFlipping curve: the class's probability after each of `steps` equal steps (not before the
    first). No AUC: its `return_auc_per_sample` calls np.trapz, which numpy 2.4 removed."""
    warnings.filterwarnings("ignore")
    kwargs = {} if perturb_func is None else {"perturb_func": perturb_func, "perturb_func_kwargs": func_kwargs}
    metric = quantus.PixelFlipping(features_in_step=heatmap.size // steps, abs=False, normalise=False,
                                   perturb_baseline=perturb_baseline, disable_warnings=True, **kwargs)
    out = metric(model=model.module, x_batch=start, y_batch=np.array([c]), a_batch=heatmap[None, None],
                 softmax=True, device="cpu")
    return np.asarray(out[0], float)


def put_back(arr: np.ndarray, indices: np.ndarray, source: np.ndarray, **kwargs) -> np.ndarray:
    """Insertion as a Quantus perturb function: the flattened input's values put back at `indices`."""
    out = arr.copy()
    rows = np.arange(len(arr))[:, None]
    out[rows, indices] = source.reshape(len(arr), -1)[rows, indices]
    return out


def test_deletion_and_insertion_equal_quantus_pixel_flipping(faithfulness_case):
    """Deletion is Quantus's PixelFlipping at matched settings: the same order (most relevant first), the same
    replacement (our black, a constant in the model's units), the same steps (1/16 of the points each). Quantus has
    no insertion; its PixelFlipping started from the black image with a perturb function that puts the input's
    values back is the same procedure. Our curve has one more point, the untouched start, and our AUC is its
    trapezoid on [0, 1]."""
    model, x, heatmap, c = faithfulness_case
    steps = 16
    black = float(np.unique(model.info.input.normalize(np.zeros((1, 1, 1), np.float32)))[0])
    shares, deletion = perturbation_curve(model, x, heatmap, Target(c), "deletion", steps=steps)
    theirs = quantus_flipping(model, x, heatmap, c, steps, black)
    np.testing.assert_allclose(deletion[1:], theirs, rtol=1e-5, atol=1e-7)
    assert deletion[0] == pytest.approx(model.predict(x)[0, c])
    _, insertion = perturbation_curve(model, x, heatmap, Target(c), "insertion", steps=steps)
    start = np.full_like(x, black)
    theirs_in = quantus_flipping(model, start, heatmap, c, steps, black, put_back, source=x)
    np.testing.assert_allclose(insertion[1:], theirs_in, rtol=1e-5, atol=1e-7)
    e = replace(METHODS["saliency"].explain(model, x, Target(c)), map=heatmap)
    metric = METRICS["deletion_auc"].__class__(steps=steps)
    auc = np.trapezoid(np.concatenate([[deletion[0]], theirs]), dx=1 / steps)
    assert metric.score(e, model=model, x=x) == pytest.approx(auc) == pytest.approx(area_under(shares, deletion))
    assert not hasattr(np, "trapz"), "numpy has np.trapz again: Quantus's AUC runs; compare it too"


def test_the_reference_libraries_stay_out_of_the_app_and_the_library():
    """Quantus and MONAI are test dependencies: no module of the app or of `workbench` imports them."""
    from .conftest import ROOT

    sources = [*(ROOT / "workbench").rglob("*.py"), *(ROOT / "Streamlit").rglob("*.py")]
    offenders = [str(p.relative_to(ROOT)) for p in sources
                 if any(line.lstrip().startswith((f"import {lib}", f"from {lib}"))
                        for line in p.read_text().splitlines() for lib in ("quantus", "monai"))]
    assert offenders == []
