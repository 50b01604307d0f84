"""How much a model relies on the ground-truth object, from counterfactual twins.

Each held-out affected phantom has a twin that differs only in its lesions being left out. The
drop of the class probability from case to twin measures the model's reliance on the lesion
without any explanation method; only then is it fair to ask whether a method points at it.
"""

from __future__ import annotations

import numpy as np

from workbench.data import phantoms
from workbench.models import ModelAdapter


def lesion_reliance(model: ModelAdapter, n: int = 200, seed: int = 0, split: str = "test",
                    positive: int = 1) -> dict:
    """On `n` affected phantoms: how often the model detects the case, how often it then calls the
    twin negative, and the mean drop of the positive class's probability from case to twin."""
    spec = model.info.input
    cases = [phantoms.make_phantom(seed, split, i, label=positive) for i in range(n)]
    twins = [phantoms.make_phantom(seed, split, i, label=positive, twin=True) for i in range(n)]
    p_case = model.predict(spec.normalize(np.stack([c.image for c in cases])[:, None]))[:, positive]
    p_twin = model.predict(spec.normalize(np.stack([t.image for t in twins])[:, None]))[:, positive]
    detected = p_case > 0.5
    return {"n": n, "split": split, "seed": seed, "detected": float(detected.mean()),
            "twin_negative_when_detected": float((p_twin[detected] <= 0.5).mean()) if detected.any() else None,
            "mean_probability_drop": float((p_case - p_twin).mean()),
            "median_probability_drop": float(np.median(p_case - p_twin))}
