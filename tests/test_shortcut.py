"""The shortcut model cheats, and the workbench shows it: Grad-CAM points at the corner tag, and
moving the tag makes the accuracy collapse. Measured on held-out phantoms it never saw."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from workbench.data import shortcut
from workbench.methods import METHODS
from workbench.models import Target, load_model
from workbench.training.recipes import RECIPES

MODEL = "lung_xray-resnet-shortcut"
N = 60


@pytest.fixture(scope="module")
def cheat():
    return load_model(MODEL)


def accuracy(model, moved: bool) -> float:
    recipe = RECIPES[MODEL]
    images, _, labels = shortcut.make_dataset(N, seed=0, split="test", moved=moved)
    return float((model.predict(recipe.model_input(images, model.info.input)).argmax(1) == labels).mean())


def test_accuracy_collapses_when_the_tag_moves(cheat):
    assert accuracy(cheat, moved=False) >= 0.95
    assert accuracy(cheat, moved=True) <= 0.2, "it follows the tag, not the lungs"


def test_a_model_that_reads_the_lungs_does_not_care_where_the_tag_is():
    honest = load_model("lung_xray-resnet-compact")
    assert abs(accuracy(honest, moved=False) - accuracy(honest, moved=True)) <= 0.1


def test_gradcam_points_at_the_tag_on_affected_cases(cheat):
    """The map's peak lies within 12 px (one and a half of `layer4`'s 8 px cells) of the tag, a zone of
    about a tenth of the image, and over half the positive evidence lies in the tag's 48 px corner
    (a seventh of the image); the peak is never on a lesion."""
    recipe = RECIPES[MODEL]
    hits, corner_share = [], []
    for i in range(1, 2 * 20, 2):  # affected cases
        case, tag = shortcut.make_tagged(0, "test", i, label=1)
        x = recipe.model_input(case.image[None], cheat.info.input)
        heat = METHODS["gradcam"].explain(cheat, x, Target(1), {}).map
        peak = np.unravel_index(np.argmax(heat), heat.shape)
        near = ndimage.binary_dilation(tag, iterations=12)
        hits.append(near[peak])
        positive = heat.clip(0)
        corner_share.append(positive[:48, -48:].sum() / positive.sum())
        assert not case.mask[peak], "the peak is not on the lesion"
    assert near.mean() < 0.15
    assert np.mean(hits) >= 0.8
    assert np.median(corner_share) > 0.45


def test_the_model_says_it_cheats(cheat):
    assert "cheats" in cheat.info.notice
    assert "demonstration of a model that cheats" in cheat.info.card.lower()
    assert "tag moved to the other corner" in cheat.info.card
