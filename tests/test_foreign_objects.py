"""Chest phantoms with foreign objects: masks, classes, twins, quality score and grade, sample files."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from workbench.data import foreign_objects as fo
from workbench.tasks import TASKS

from .conftest import ROOT

TASK = TASKS["iqa_segmentation"]


def test_cases_are_a_pure_function_of_seed_split_index():
    a, b = fo.make_case(3, "train", 5), fo.make_case(3, "train", 5)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.objects, b.objects)
    assert not np.array_equal(a.image, fo.make_case(3, "val", 5).image)


def test_every_kind_of_object_is_drawn_bright_and_masked():
    seen = set()
    for i in range(60):
        case = fo.make_case(0, "test", i, n_objects=2)
        seen |= set(case.kinds)
        ring = ndimage.binary_dilation(case.objects, iterations=3) & ~case.objects
        assert case.image[case.objects].mean() > case.image[ring].mean() + 0.1, "radio-opaque: brighter"
    assert seen == set(fo.OBJECT_KINDS)


def test_label_map_separates_objects_over_the_lungs_from_the_rest():
    case = fo.make_case(0, "test", 7, n_objects=4)
    lm = case.label_map
    assert set(np.unique(lm)) <= set(range(len(fo.LABELS)))
    np.testing.assert_array_equal(lm == fo.LABELS.index("object_over_lungs"), case.objects & case.lungs)
    np.testing.assert_array_equal(lm == fo.LABELS.index("object_elsewhere"), case.objects & ~case.lungs)
    np.testing.assert_array_equal(lm == fo.LABELS.index("lung_field"), case.lungs & ~case.objects)


def test_counterfactual_twin_differs_only_near_the_objects():
    """Objects are drawn before blur and noise: the twin equals the case outside the mask dilated by the
    objects' soft edge and the blur (6 px)."""
    for i in range(15):
        case, twin = fo.make_case(0, "test", i, n_objects=3), fo.make_case(0, "test", i, n_objects=3, twin=True)
        near = ndimage.binary_dilation(case.objects, np.ones((3, 3), bool), iterations=6)
        np.testing.assert_array_equal(case.image[~near], twin.image[~near])
        assert (case.image - twin.image)[case.objects].mean() > 0.1


def test_quality_score_and_grade_by_hand():
    """A 10 x 10 lung field with 7 pixels covered: 93% left uncovered, which is 'acceptable'."""
    lm = np.zeros((20, 20), np.int64)
    lm[5:15, 5:15] = fo.LABELS.index("lung_field")
    lm[5, 5:12] = fo.LABELS.index("object_over_lungs")
    lm[0, 0:5] = fo.LABELS.index("object_elsewhere")  # not over the lungs: does not count
    assert TASK.assess(lm) == {"quality score": 93.0, "grade": "acceptable"}
    lm[5, 12:14] = fo.LABELS.index("object_over_lungs")  # 9 covered: still acceptable at 91
    assert TASK.assess(lm)["grade"] == "acceptable"
    lm[6, 5:7] = fo.LABELS.index("object_over_lungs")  # 11 covered: 89, poor
    assert TASK.assess(lm) == {"quality score": 89.0, "grade": "poor"}
    assert TASK.assess(np.zeros((4, 4), np.int64))["grade"] == "good", "no lungs, nothing covered"


@pytest.mark.parametrize(("score", "grade"), [(100.0, "good"), (98.0, "good"), (97.99, "acceptable"),
                                              (90.0, "acceptable"), (89.99, "poor"), (0.0, "poor")])
def test_grade_boundaries_are_those_the_readme_defines(score, grade):
    from workbench.tasks.quality import grade as grade_of

    assert grade_of(score) == grade


def test_readme_defines_the_same_grades():
    readme = (ROOT / "docs" / "models.md").read_text()  # the model notes the README links to
    assert "| good | 98 to 100 |" in readme and "| acceptable | 90 to under 98 |" in readme
    assert "| poor | under 90 |" in readme


def test_grades_occur_in_generated_data():
    grades = [TASK.assess(fo.make_case(0, "val", i).label_map)["grade"] for i in range(80)]
    assert {"good", "acceptable", "poor"} <= set(grades)


def test_sample_files_are_the_generator_output():
    folder = ROOT / "sample_files" / "iqa_segmentation"
    for i in range(6):
        case = fo.make_case(0, "sample", i, n_objects=i % 4 + (i >= 4))
        img = np.asarray(Image.open(folder / f"chest_{i + 1:02d}.png"), np.float32) / 255
        assert np.abs(img - case.image).max() <= 0.5 / 255 + 1e-6
        mask_path = folder / f"chest_{i + 1:02d}_mask.png"
        assert mask_path.exists() == bool(case.objects.any())
        if mask_path.exists():
            np.testing.assert_array_equal(np.asarray(Image.open(mask_path)) > 127, case.objects)
    assert len(TASK.samples()) == 6
