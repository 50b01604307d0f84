"""Make every map of a manifest again from the input file, and say how far each is from the recorded one.

The recorded maps come from the report ZIP (or the `maps/` folder beside an unzipped manifest). Where a
map file is missing, the new map is checked against the manifest's summary of it instead: equal digests
mean equal maps, bit for bit; otherwise the difference is the largest of those of min, max and mean.
Every stochastic method's seed is recorded, so on the same machine every difference is 0.
"""

from __future__ import annotations

import contextlib
import io
import json
import zipfile
from numbers import Real
from pathlib import Path

import numpy as np

from workbench.errors import InputError, ModelError
from workbench.methods import METHODS
from workbench.models import load_model, predict
from workbench.report.manifest import FORMAT, map_digest, sha256
from workbench.service import prepare_input, target_for
from workbench.tasks import get_task


def read_report(path: str | Path) -> tuple[dict, dict[str, np.ndarray]]:
    """(manifest, recorded maps by their path in the manifest) from a report ZIP or a manifest JSON file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"file not found: {path}")
    try:
        with zipfile.ZipFile(path) if zipfile.is_zipfile(path) else contextlib.nullcontext() as archive:
            manifest = json.loads(archive.read("manifest.json") if archive else path.read_bytes())
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise InputError(f"{path.name} is not a manifest of format {FORMAT}.")
            check_manifest(manifest, path.name)
            files = {m["file"] for m in manifest["maps"] if isinstance(m.get("file"), str)}
            if archive:
                maps = {f: np.load(io.BytesIO(archive.read(f))) for f in files if f in archive.namelist()}
            else:
                maps = {f: np.load(path.parent / f) for f in files if (path.parent / f).is_file()}
    except (KeyError, ValueError, TypeError, OSError, zipfile.BadZipFile) as err:
        raise InputError(f"{path.name} is not a report or manifest of this workbench ({err}).") from None
    return manifest, maps


def check_manifest(manifest: dict, name: str) -> None:
    """Every field `reproduce` reads, with its type, before anything is loaded: a cut or hand-edited manifest
    gets one message naming the field, not a KeyError halfway through the maps."""
    def need(record, key: str, types, where: str) -> None:
        if not isinstance(record, dict) or not isinstance(record.get(key), types):
            raise InputError(f"{name}: the manifest's {where}{key} is missing or of the wrong type.")

    for key, types in (("task", str), ("input", dict), ("request", dict), ("models", list), ("maps", list)):
        need(manifest, key, types, "")
    for key, types in (("name", str), ("sha256", str), ("window", (int, type(None)))):
        need(manifest["input"], key, types, "input.")
    need(manifest["request"], "component", (int, type(None)), "request.")
    for model in manifest["models"]:
        for key in ("id", "revision", "source"):
            need(model, key, str, "models[].")
    listed = {model["id"] for model in manifest["models"]}
    for entry in manifest["maps"]:
        for key, types in (("model", str), ("method", str), ("target", dict), ("params", dict), ("seed", int),
                           ("map", dict)):
            need(entry, key, types, "maps[].")
        need(entry["target"], "label", (str, type(None)), "maps[].target.")
        for key, types in (("sha256", str), ("shape", list), ("min", Real), ("max", Real), ("sum", Real)):
            need(entry["map"], key, types, "maps[].map.")
        if entry["model"] not in listed:
            raise InputError(f"{name}: a map is of model '{entry['model']}', which the manifest's models do not list.")


DEVICE_TOLERANCE = 1e-4  # of a map's largest |value|: a map made again on another device agrees this closely


def _difference(new: np.ndarray, entry: dict, recorded: np.ndarray | None) -> tuple[float, str]:
    """The largest |new - recorded| and what it was measured against: the map, or its summary."""
    if recorded is not None:
        if recorded.shape != new.shape:
            return float("inf"), "map"
        return float(np.abs(new.astype(np.float64) - recorded.astype(np.float64)).max()), "map"
    summary = entry["map"]
    if map_digest(new) == summary["sha256"]:
        return 0.0, "summary"
    mean = float(new.astype(np.float64).sum()) / max(new.size, 1)
    return max(abs(float(new.min()) - summary["min"]), abs(float(new.max()) - summary["max"]),
               abs(mean - summary["sum"] / max(int(np.prod(summary["shape"])), 1))), "summary"


def reproduce(manifest: dict, input_bytes: bytes, recorded: dict[str, np.ndarray] | None = None,
              trust_pickle: bool = False, device: str = "cpu") -> dict:
    """Every map of the manifest made again from `input_bytes` (which must be the recorded input) on `device`, with
    its largest difference from the recorded map: `{"max_difference": ..., "maps": [...]}`. A map made on another
    device than the recorded one is held to `DEVICE_TOLERANCE` of its largest |value| (GPU kernels are not
    bit-equal to CPU ones): the result then names both devices and the tolerance. A report grants no trust: the
    pickled weights of a repo it marks trusted load only when the reader says so (`trust_pickle`)."""
    recorded = recorded or {}
    record = manifest["input"]
    if sha256(input_bytes) != record["sha256"]:
        raise InputError(f"this is not the input the manifest records ({record['name']}, sha256 "
                         f"{record['sha256'][:12]}…): its content differs.")
    task = get_task(manifest["task"])
    raw, _ = task.read(input_bytes, record["name"])
    models = {m["id"]: m for m in manifest["models"]}
    loaded: dict[str, tuple] = {}
    out = []
    for entry in manifest["maps"]:
        model_id = entry["model"]
        if model_id not in loaded:
            spec = models[model_id]
            model = load_model(model_id, spec["revision"] if spec["source"] == "hub" else None,
                               trust_pickle and model_id in manifest.get("trusted", ()), device=device)
            if model.info.revision != spec["revision"]:
                raise ModelError(f"'{model_id}' is at revision {model.info.revision}, the manifest records "
                                 f"{spec['revision']}: its weights are not the ones that made the maps.")
            _, x, _ = prepare_input(task, model, raw, record["window"])
            loaded[model_id] = (model, x, predict(model, x))
        model, x, prediction = loaded[model_id]
        target = target_for(model, prediction, entry["target"]["label"], manifest["request"]["component"])
        e = METHODS[entry["method"]].explain(model, x, target, entry["params"], entry["seed"])
        difference, against = _difference(e.map, entry, recorded.get(entry.get("file")))
        elsewhere = models[model_id].get("device", "cpu") != model.device
        out.append({"model": model_id, "method": entry["method"], "max_difference": difference,
                    "compared_with": against, "identical": map_digest(e.map) == entry["map"]["sha256"],
                    "same_target": e.target.region_hash == entry["target"]["region"]
                    and e.target.class_index == entry["target"]["class_index"],
                    **({"within_tolerance": difference <= DEVICE_TOLERANCE * max(float(np.abs(e.map).max()), 1e-12)}
                       if elsewhere else {})})
    result = {"max_difference": max((m["max_difference"] for m in out), default=0.0), "maps": out}
    devices = {m.get("device", "cpu") for m in manifest["models"]}
    if any("within_tolerance" in m for m in out):
        result |= {"tolerance": DEVICE_TOLERANCE, "devices": {"recorded": ", ".join(sorted(devices)), "now": device}}
    return result
