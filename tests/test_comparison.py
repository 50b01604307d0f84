"""The comparison grid's data and pictures, on cases worked by hand: settings carried to another model, the one
colour scale, agreement, the scores taken from cached curves, the downloads, the outlines and the opacity."""

from __future__ import annotations

import csv
import io
import zipfile

import numpy as np
import pytest

from workbench.comparison import Cell, agreement, colour_scale, maps_npz, metrics_csv, shared_params
from workbench.io import zip_files
from workbench.methods import METHODS
from workbench.models import Target
from workbench.render import curves_picture, explanation_picture, matrix_picture
from workbench.render.overlay import OUTLINE_RGB, TOP_RGB
from workbench.service import faithfulness_curves, score_explanation
from workbench.tasks import Axes, Picture


def test_another_model_takes_the_settings_but_its_own_layers(tiny):
    """Layer names are one model's own: they are dropped (the other model takes its default); other values are
    carried, and names the other model's spec does not have are dropped too."""
    assert shared_params(tiny, "gradcam", {"layer": "layer1"}) == {}
    assert shared_params(tiny, "normgrad_o0", {"layers": ["layer1", "layer2"]}) == {}
    assert shared_params(tiny, "integrated_gradients", {"steps": 8, "baseline": "mean", "window": 3}) == {
        "steps": 8, "baseline": "mean"}


def test_one_colour_scale_is_the_largest_magnitude_of_any_map():
    assert colour_scale([np.array([[-3.0, 1.0]]), np.array([[2.0, 0.5]])]) == 3.0
    assert colour_scale([np.zeros((2, 2))]) == 1.0, "all zero: nothing to scale, no division by zero"


def test_agreement_of_equal_and_reversed_maps():
    """a and b rank the four points alike, c in reverse. The top 25% is one point: a's and b's is (1, 1), c's
    is (0, 0)."""
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    maps = np.stack([a, 10 * a, 5 - a])
    (spearman_title, spearman, spearman_range), (iou_title, iou, iou_range) = agreement(maps, 25)
    np.testing.assert_allclose(spearman, [[1, 1, -1], [1, 1, -1], [-1, -1, 1]], atol=1e-12)
    np.testing.assert_array_equal(iou, [[1, 1, 0], [1, 1, 0], [0, 0, 1]])
    assert (spearman_range, iou_range) == ((-1.0, 1.0), (0.0, 1.0))
    assert spearman_title == "Spearman rank correlation" and iou_title == "IoU of the top 25%"


def test_scores_take_the_areas_of_the_curves_given(tiny, tiny_input):
    """Curves drawn by hand: deletion falls straight from 1 to 0 (area 1/2), insertion rises to 1 at half way
    and stays (area 1/4 + 1/2). Scored from them, the model runs no deletion or insertion pass."""
    e = METHODS["saliency"].explain(tiny, tiny_input, Target(1))
    curves = {"deletion_auc": (np.array([0.0, 1.0]), np.array([1.0, 0.0])),
              "insertion_auc": (np.array([0.0, 0.5, 1.0]), np.array([0.0, 1.0, 1.0]))}
    with tiny.counting() as counted:
        scores = score_explanation(e, tiny, tiny_input, curves=curves)
    assert counted.passes == 0
    assert scores["deletion_auc"] == 0.5 and scores["insertion_auc"] == 0.75
    computed = faithfulness_curves(e, tiny, tiny_input)
    assert set(computed) == {"deletion_auc", "insertion_auc"}
    assert score_explanation(e, tiny, tiny_input) == score_explanation(e, tiny, tiny_input, curves=computed)


def _cells(tiny, tiny_input) -> list[Cell]:
    e = METHODS["saliency"].explain(tiny, tiny_input, Target(1))
    return [Cell("tiny", "saliency", e, {"deletion_auc": 0.25, "pointing_game": 1.0}),
            Cell("other", "saliency", reason="does not apply")]


def test_metrics_csv_has_a_row_per_cell_and_a_column_per_metric_in_registry_order(tiny, tiny_input):
    cells = _cells(tiny, tiny_input)
    rows = list(csv.reader(io.StringIO(metrics_csv(cells))))
    assert rows == [["model", "method", "seconds", "pointing_game", "deletion_auc"],
                    ["tiny", "saliency", repr(cells[0].explanation.seconds), "1.0", "0.25"],
                    ["other", "saliency", "", "", ""]]


def test_maps_npz_and_zip_hold_each_cell_by_name(tiny, tiny_input):
    cells = _cells(tiny, tiny_input)
    with np.load(io.BytesIO(maps_npz(cells))) as maps:
        assert list(maps) == ["tiny__saliency"], "a cell without a map has no file"
        assert maps["tiny__saliency"].dtype == np.float32
        np.testing.assert_array_equal(maps["tiny__saliency"], cells[0].explanation.map)
    with zipfile.ZipFile(io.BytesIO(zip_files({"a.png": b"one", "b.png": b"two"}))) as archive:
        assert {n: archive.read(n) for n in archive.namelist()} == {"a.png": b"one", "b.png": b"two"}


PICTURE = Picture(np.full((8, 8, 3), 0.5), Axes.pixels(8, 8))


def test_an_overlay_takes_the_scale_opacity_and_outlines_given():
    heatmap = np.zeros((8, 8))
    heatmap[2:6, 2:6] = 1.0
    heatmap[0, 0] = 4.0
    _, own = explanation_picture(PICTURE, heatmap)
    assert own == pytest.approx(np.percentile(np.abs(heatmap), 99.5))
    faint, scale = explanation_picture(PICTURE, heatmap, scale=8.0)
    strong, _ = explanation_picture(PICTURE, heatmap, scale=1.0)
    assert scale == 8.0
    gray = 128  # 255 x 0.5, rounded
    # at 1/8 of the scale a point is weighted 0.75 / 8 towards its colour; at the full scale 0.75
    assert np.abs(faint[3, 3].astype(int) - gray).sum() < np.abs(strong[3, 3].astype(int) - gray).sum() / 4
    clear, _ = explanation_picture(PICTURE, heatmap, scale=1.0, alpha=0.0)
    assert (clear == gray).all(), "opacity 0: the picture alone"
    top = heatmap >= 1.0
    mask = np.zeros((8, 8), bool)
    mask[6:, 6:] = True
    outlined, _ = explanation_picture(PICTURE, heatmap, mask, alpha=0.0, top=top)
    assert tuple(outlined[2, 2]) == TOP_RGB and tuple(outlined[0, 0]) == TOP_RGB, "the top points' edge"
    assert tuple(outlined[3, 3]) == (gray,) * 3, "inside the top points: no outline"
    assert tuple(outlined[7, 7]) == OUTLINE_RGB, "the truth's outline"


def test_charts_are_pictures():
    matrix = matrix_picture(np.eye(2), ["A", "B"], "title")
    curves = curves_picture({"A": {"deletion": (np.array([0.0, 1.0]), np.array([1.0, 0.0]))}}, "x", "y")
    for picture in (matrix, curves):
        assert picture.dtype == np.uint8 and picture.ndim == 3 and picture.shape[2] == 3
        assert len(np.unique(picture.reshape(-1, 3), axis=0)) > 10, "something is drawn"
