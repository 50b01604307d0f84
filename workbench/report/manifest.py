"""The reproducibility manifest: enough, with the input file, to make every map again and check it.

One JSON document per analysis: each model with its revision and a sha256 of its weight file; the
input's name and a sha256 of its bytes (and, for audio, the window); per map its model, method,
parameters, seed, target request (label, component) and resolved target (class, region hash), the
passes it counted and its time; the map's own sha256 and a small summary (shape, min, max, sum);
package versions, the date, and what was trusted. `reproduce.py` reads it back.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata

import numpy as np

from workbench.methods import Explanation
from workbench.models import ModelAdapter

FORMAT = 1
PACKAGES = ("numpy", "torch", "tensorflow", "keras", "captum", "lime", "shap", "scikit-image", "streamlit")


@dataclass(frozen=True)
class Analysis:
    """One explained input: the file as the user gave it, how it was cut (audio window), the target
    request, and the explanations of each model (the first is the sidebar's or the CLI's model)."""

    task_id: str
    input_name: str
    input_bytes: bytes
    window: int | None
    label: str | None  # the class asked for; None: each model's predicted class
    component: int | None  # segmentation: the connected region asked for
    explanations: Sequence[Explanation]
    models: Sequence[ModelAdapter]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def map_digest(values: np.ndarray) -> str:
    """sha256 of a map's float32 bytes, C order: equal digests, equal maps bit for bit."""
    return sha256(np.ascontiguousarray(values, np.float32).tobytes())


def map_summary(values: np.ndarray) -> dict:
    """What a reader can check a map against without the map: its digest, shape and three numbers."""
    values = np.asarray(values, np.float32)
    return {"sha256": map_digest(values), "shape": list(values.shape), "min": float(values.min()),
            "max": float(values.max()), "sum": float(values.astype(np.float64).sum())}


def package_versions() -> dict[str, str | None]:
    """The installed version of each package that makes or reads a map (None: not installed)."""
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def model_record(model: ModelAdapter) -> dict:
    """A model's id, revision (weights digest or Hub commit), source and a sha256 of its weight file."""
    info = model.info
    weights = info.path / info.weights[0] if info.weights else None
    return {"id": info.id, "revision": info.revision, "source": info.source, "framework": info.framework,
            "device": model.device,
            "weights": None if weights is None else {"file": weights.name, "sha256": sha256(weights.read_bytes())},
            **({"trusted": "pickled weights"} if info.trusted else {})}


def map_file(e: Explanation) -> str:
    """The map's path inside a report ZIP (and beside an unzipped manifest)."""
    return f"maps/{e.model_id}__{e.method}.npy"


def build_manifest(analysis: Analysis) -> dict:
    """The manifest of one analysis; `trusted` names the repos whose pickled weights the user chose to load."""
    return {
        "format": FORMAT,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "task": analysis.task_id,
        "input": {"name": analysis.input_name, "sha256": sha256(analysis.input_bytes), "window": analysis.window},
        "request": {"label": analysis.label, "component": analysis.component},
        "models": [model_record(m) for m in analysis.models],
        "maps": [{**e.summary(), "file": map_file(e), "map": map_summary(e.map)} for e in analysis.explanations],
        "versions": package_versions(),
        "trusted": sorted({m.info.id for m in analysis.models if m.info.trusted}),
    }
