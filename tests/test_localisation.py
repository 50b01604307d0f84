"""Known truth: explanations of the bundled model must point at the lesions it detects.

On held-out `affected` phantoms the model classifies correctly, the pointing game (map maximum on
the lesion, 4 px tolerance) must be won far more often than a random pixel would win it.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from workbench.data import phantoms
from workbench.methods import METHODS
from workbench.metrics import METRICS
from workbench.models import Target

N_CASES = 48


@pytest.fixture(scope="module")
def detected_cases(bundled):
    cases = []
    for i in range(N_CASES):
        case = phantoms.make_phantom(0, "bench", i, label=1)
        x = bundled.info.input.normalize(case.image[None])[None]
        if bundled.predict(x)[0].argmax() == 1:
            cases.append((x, case.mask))
    assert len(cases) >= 0.9 * N_CASES
    return cases


# Occlusion runs 100 forward passes a case (24 px patches, stride 12), so it is scored on the first 24 detected
# cases only (measured there: 0.51; 0.44 over all 47; chance 0.035).
@pytest.mark.parametrize("method_id,params,n_cases,min_hits", [
    ("gradcam", {}, N_CASES, 0.4),
    ("occlusion", {"window_height": 24, "window_width": 24, "stride_height": 12, "stride_width": 12}, 24, 0.4),
])
def test_pointing_game_is_won_far_above_chance(bundled, detected_cases, method_id, params, n_cases, min_hits):
    game = METRICS["pointing_game"]
    hits, chance = [], []
    for x, mask in detected_cases[:n_cases]:
        e = METHODS[method_id].explain(bundled, x, Target(1), params)
        hits.append(game.score(e, truth=mask))
        chance.append(ndimage.binary_dilation(mask, iterations=game.tolerance).mean())
    assert np.mean(hits) >= min_hits
    assert np.mean(hits) >= 5 * np.mean(chance)
