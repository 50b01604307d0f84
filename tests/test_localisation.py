"""Known truth: explanations of the bundled model must point at the lesions it detects.

On held-out `affected` phantoms the model classifies correctly, the maximum of the map must fall
on a lesion (mask dilated by 4 px, the size of a Grad-CAM cell's blur) far more often than a
random pixel would.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from inference import Target
from workbench import phantoms
from xai_models import METHODS

N_CASES = 24


@pytest.fixture(scope="module")
def detected_cases(bundled):
    cases = []
    for i in range(N_CASES):
        case = phantoms.make_phantom(0, "bench", i, label=1)
        x = bundled.info.input.normalize(case.image[None])[None]
        if bundled.predict(x)[0].argmax() == 1:
            cases.append((x, ndimage.binary_dilation(case.mask, iterations=4)))
    assert len(cases) >= 0.9 * N_CASES
    return cases


@pytest.mark.parametrize("method_id,params,min_hits", [
    ("gradcam", {}, 0.45),
    ("occlusion", {"window": 16, "stride": 8}, 0.4),
])
def test_map_maximum_falls_on_a_lesion(bundled, detected_cases, method_id, params, min_hits):
    hits, chance = [], []
    for x, region in detected_cases:
        heatmap = METHODS[method_id].explain(bundled, x, Target(1), params).map
        hits.append(region[np.unravel_index(np.argmax(heatmap), heatmap.shape)])
        chance.append(region.mean())
    assert np.mean(hits) >= min_hits
    assert np.mean(hits) >= 5 * np.mean(chance)
