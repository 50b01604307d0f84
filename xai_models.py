"""XAI methods: one contract, one registry.

A Method declares what it shows, where it applies (`is_compatible`), its parameters (a spec the
UI and CLI read), its cost in forward/backward passes, and computes an `Explanation`: a float32
map at the model's input resolution plus metadata. Methods never draw; see workbench/render.py.

Every method is written against the framework-neutral ModelAdapter (inference.py), so it works
for any adapter that implements predict / target_scores / input_gradients /
activations_and_gradients.

CLI:
  python xai_models.py --task lung_xray --model MODEL --input FILE \
      --methods gradcam,integrated_gradients,occlusion --out DIR --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# torch (and triton) before anything that may load TensorFlow: see environment.md.
import torch
import torch._dynamo  # noqa: F401

from inference import (
    InputError,
    ModelAdapter,
    ModelError,
    Target,
    Task,
    add_model_args,
    cli_fail,
    load_task_model_input,
    predict_input,
)

# --------------------------------------------------------------------------------------------
# Contract
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One method parameter; the UI draws a widget from it and the CLI validates with it."""

    name: str
    kind: str  # "int", "float" or "choice"
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple = ()

    def validate(self, value: Any) -> Any:
        """Coerce and check a value; InputError with a readable message when it is out of range."""
        if self.kind == "choice":
            if value not in self.choices:
                raise InputError(f"{self.name} must be one of {list(self.choices)}, not {value!r}.")
            return value
        try:
            value = int(value) if self.kind == "int" else float(value)
        except (TypeError, ValueError):
            raise InputError(f"{self.name} must be a number, not {value!r}.") from None
        if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
            raise InputError(f"{self.name} must be between {self.min} and {self.max}, not {value}.")
        return value


@dataclass(frozen=True)
class Cost:
    """Model passes a run needs: what makes one method a hundred times slower than another."""

    forward: int
    backward: int

    @property
    def passes(self) -> int:
        return self.forward + self.backward


@dataclass
class Explanation:
    """A method's output: a float32 map at input resolution (H x W) and how it was made."""

    method: str
    map: np.ndarray
    signed: bool
    target: int
    params: dict
    seed: int
    cost: Cost
    seconds: float
    meta: dict = field(default_factory=dict)

    @property
    def passes(self) -> int:
        return self.cost.passes

    def summary(self) -> dict:
        """JSON-serialisable record of the run (for the CLI, reports and caches)."""
        return {"method": self.method, "seconds": round(self.seconds, 4), "passes": self.passes,
                "forward": self.cost.forward, "backward": self.cost.backward, "target": self.target,
                "signed": self.signed, "params": self.params, "seed": self.seed, **self.meta}


class Method(ABC):
    """Base class: subclasses set the class attributes and implement `_compute` and `cost`."""

    id: str
    name: str
    what_it_shows: str
    family: str  # "gradient", "cam" or "perturbation"
    modalities: tuple[str, ...] = ("image",)
    frameworks: tuple[str, ...] = ("pytorch",)
    output_kinds: tuple[str, ...] = ("classification",)
    signed: bool = True

    def supports_task(self, task: Task) -> bool:
        return task.modality in self.modalities and task.output_kind in self.output_kinds

    def is_compatible(self, task: Task, model: ModelAdapter) -> bool:
        return self.supports_task(task) and model.info.framework in self.frameworks

    def params(self, model: ModelAdapter) -> list[Param]:
        """Parameter spec (may depend on the model, e.g. its layers)."""
        return []

    def quick_params(self, model: ModelAdapter) -> dict:
        """Cheapest sensible settings: used by the contract test and quick previews."""
        return {}

    @abstractmethod
    def cost(self, model: ModelAdapter, x: np.ndarray, params: dict) -> Cost:
        """Passes `explain` will use for these (validated) parameters."""

    @abstractmethod
    def _compute(self, model: ModelAdapter, x: np.ndarray, target: Target, params: dict,
                 rng: np.random.Generator) -> tuple[np.ndarray, dict]:
        """Return (H x W map, extra metadata)."""

    def resolve_params(self, model: ModelAdapter, params: dict | None) -> dict:
        """Defaults filled in, unknown names refused, every value validated."""
        spec = {p.name: p for p in self.params(model)}
        unknown = set(params or {}) - set(spec)
        if unknown:
            raise InputError(f"{self.id} has no parameter(s) {sorted(unknown)}; it has {sorted(spec)}.")
        merged = {name: p.default for name, p in spec.items()} | dict(params or {})
        return {name: spec[name].validate(value) for name, value in merged.items()}

    def explain(self, model: ModelAdapter, x: np.ndarray, target: Target,
                params: dict | None = None, seed: int = 0) -> Explanation:
        """Explain `target` for the 1 x C x H x W input `x`; checks the map before returning it."""
        params = self.resolve_params(model, params)
        rng = np.random.default_rng(seed)
        start = time.perf_counter()
        heatmap, meta = self._compute(model, x, target, params, rng)
        seconds = time.perf_counter() - start
        heatmap = np.asarray(heatmap, dtype=np.float32)
        if heatmap.shape != x.shape[-2:]:
            raise RuntimeError(f"{self.id} returned a {heatmap.shape} map for a {x.shape[-2:]} input")
        if not np.isfinite(heatmap).all():
            raise RuntimeError(f"{self.id} returned non-finite values")
        return Explanation(self.id, heatmap, self.signed, target.class_index, params, seed,
                           self.cost(model, x, params), seconds, meta)


METHODS: dict[str, Method] = {}


def register(cls: type[Method]) -> type[Method]:
    METHODS[cls.id] = cls()
    return cls


def compatible_methods(task: Task, model: ModelAdapter) -> list[Method]:
    return [m for m in METHODS.values() if m.is_compatible(task, model)]


# --------------------------------------------------------------------------------------------
# Shared math
# --------------------------------------------------------------------------------------------

def upsample(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear upsampling of h x w (or N x h x w) maps to the input size (half-pixel centres)."""
    t = torch.from_numpy(np.ascontiguousarray(maps, np.float32))
    t = t[None, None] if t.ndim == 2 else t[:, None]
    out = torch.nn.functional.interpolate(t, size=size, mode="bilinear", align_corners=False)
    return out[0, 0].numpy() if maps.ndim == 2 else out[:, 0].numpy()


def baseline_for(model: ModelAdapter, x: np.ndarray, kind: str) -> np.ndarray:
    """Reference input: 'black' (a zero image), 'mean' (the input's mean level) or 'blur'."""
    spec = model.info.input
    if kind == "black":
        return np.broadcast_to(spec.normalize(np.zeros((spec.channels, 1, 1), np.float32)), x.shape).copy()
    if kind == "mean":
        return np.broadcast_to(x.mean(axis=(-2, -1), keepdims=True), x.shape).copy()
    if kind == "blur":
        from scipy import ndimage
        return ndimage.gaussian_filter(x, sigma=(0, 0, 8, 8)).astype(np.float32)
    raise InputError(f"unknown baseline '{kind}'")


def baseline_param(default: str, help_text: str) -> Param:
    return Param("baseline", "choice", default, help_text, choices=("black", "mean", "blur"))


def layer_param(model: ModelAdapter) -> Param:
    layers = model.layers()
    return Param("layer", "choice", layers[0], "Layer whose feature maps are weighted "
                 "(deeper = more semantic, coarser).", choices=tuple(layers))


# --------------------------------------------------------------------------------------------
# Methods
# --------------------------------------------------------------------------------------------

@register
class GradCAM(Method):
    id = "gradcam"
    name = "Grad-CAM"
    what_it_shows = ("Which regions of a layer's feature maps raise the class score: each map is "
                     "weighted by its mean gradient, then upsampled.")
    family = "cam"
    signed = False

    def params(self, model: ModelAdapter) -> list[Param]:
        return [layer_param(model)]

    def cost(self, model, x, params) -> Cost:
        return Cost(forward=1, backward=1)

    def _compute(self, model, x, target, params, rng):
        acts, grads = model.activations_and_gradients(x, target, params["layer"])
        weights = grads.mean(axis=(2, 3), keepdims=True)
        cam = np.maximum((weights * acts).sum(axis=1), 0)[0]
        return upsample(cam, x.shape[-2:]), {"feature_map": list(cam.shape)}


@register
class IntegratedGradients(Method):
    id = "integrated_gradients"
    name = "Integrated Gradients"
    what_it_shows = ("How much each pixel, compared with a baseline image, adds to the class score; "
                     "the map sums to the score difference (completeness).")
    family = "gradient"

    def params(self, model: ModelAdapter) -> list[Param]:
        return [Param("steps", "int", 50, "Points on the path from baseline to input "
                      "(Gauss-Legendre); more = closer to exact.", 2, 512),
                baseline_param("black", "Reference image the path starts from.")]

    def quick_params(self, model):
        return {"steps": 4}

    def cost(self, model, x, params) -> Cost:
        return Cost(forward=params["steps"] + 2, backward=params["steps"])

    def _compute(self, model, x, target, params, rng):
        baseline = baseline_for(model, x, params["baseline"])
        nodes, weights = np.polynomial.legendre.leggauss(params["steps"])
        alphas, weights = (nodes + 1) / 2, weights / 2  # Gauss-Legendre on [0, 1]
        path = baseline + alphas[:, None, None, None] * (x - baseline)
        grads = model.input_gradients(path.astype(np.float32), target)
        avg_grad = (weights[:, None, None, None] * grads).sum(axis=0, keepdims=True)
        attribution = ((x - baseline) * avg_grad)[0]
        delta = float(attribution.sum()) - float(np.diff(model.target_scores(
            np.concatenate([baseline, x]), target))[0])
        return attribution.sum(axis=0), {"completeness_error": abs(delta)}


@register
class Occlusion(Method):
    id = "occlusion"
    name = "Occlusion"
    what_it_shows = ("How much the class score drops when a square patch is covered with the "
                     "baseline, averaged over the patches covering each pixel.")
    family = "perturbation"

    def params(self, model: ModelAdapter) -> list[Param]:
        return [Param("window", "int", 8, "Side of the occluding square, in input pixels.", 2, 128),
                Param("stride", "int", 4, "Step between patch positions, in input pixels.", 1, 128),
                baseline_param("black", "What covers the patch: 'black' (a zero image, as in Zeiler & "
                               "Fergus); 'mean' or 'blur' stay in range but can add opacity-like brightness.")]

    def quick_params(self, model):
        return {"window": 32, "stride": 32}

    @staticmethod
    def _positions(size: int, window: int, stride: int) -> range:
        return range(0, max(size - window, 0) + 1, stride)

    def cost(self, model, x, params) -> Cost:
        h, w = x.shape[-2:]
        n = len(self._positions(h, params["window"], params["stride"])) * \
            len(self._positions(w, params["window"], params["stride"]))
        return Cost(forward=n + 1, backward=0)

    def _compute(self, model, x, target, params, rng):
        h, w = x.shape[-2:]
        win, stride = min(params["window"], h, w), params["stride"]
        baseline = baseline_for(model, x, params["baseline"])
        boxes = [(i, j) for i in self._positions(h, win, stride) for j in self._positions(w, win, stride)]
        occluded = np.repeat(x, len(boxes), axis=0)
        for k, (i, j) in enumerate(boxes):
            occluded[k, :, i:i + win, j:j + win] = baseline[0, :, i:i + win, j:j + win]
        scores = model.target_scores(np.concatenate([x, occluded]), target)
        drops = scores[0] - scores[1:]
        total = np.zeros((h, w), np.float64)
        count = np.zeros((h, w), np.float64)
        for (i, j), drop in zip(boxes, drops):
            total[i:i + win, j:j + win] += drop
            count[i:i + win, j:j + win] += 1
        return np.divide(total, count, out=np.zeros_like(total), where=count > 0), {"patches": len(boxes)}


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------

def run_methods(model: ModelAdapter, x: np.ndarray, method_ids: Sequence[str], task: Task,
                target: Target, seed: int = 0, params: dict[str, dict] | None = None) -> list[Explanation]:
    """Validate the method ids against the registry and the task/model, then explain with each."""
    unknown = [m for m in method_ids if m not in METHODS]
    if unknown:
        raise InputError(f"unknown method(s) {unknown}; available: {', '.join(METHODS)}.")
    wrong = [m for m in method_ids if not METHODS[m].is_compatible(task, model)]
    if wrong:
        raise InputError(f"method(s) {wrong} do not apply to task '{task.id}' with a "
                         f"{model.info.framework} model.")
    return [METHODS[m].explain(model, x, target, (params or {}).get(m), seed) for m in method_ids]


def main(argv: Sequence[str] | None = None) -> int:
    from workbench.render import save_overlay_png

    parser = argparse.ArgumentParser(description="Explain a model's prediction with several methods.")
    add_model_args(parser)
    parser.add_argument("--methods", default="gradcam,integrated_gradients,occlusion",
                        help="comma-separated method ids")
    parser.add_argument("--out", help="output folder for <method>.npy and <method>.png")
    parser.add_argument("--target", default=None, help="label to explain (default: the predicted one)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        if not args.out:
            raise InputError("--out is required.")
        task, model, raw, x = load_task_model_input(args)
        if args.target is None:
            class_index = predict_input(model, x).class_index
        elif args.target in model.info.labels:
            class_index = model.info.labels.index(args.target)
        else:
            raise InputError(f"--target must be one of {list(model.info.labels)}.")
        method_ids = [m.strip() for m in args.methods.split(",") if m.strip()]
        explanations = run_methods(model, x, method_ids, task, Target(class_index), args.seed)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
    except (InputError, ModelError) as err:
        return cli_fail(str(err))
    except OSError as err:
        return cli_fail(f"cannot write to {args.out}: {err.strerror}.")
    rows = []
    for e in explanations:
        np.save(out / f"{e.method}.npy", e.map)
        save_overlay_png(out / f"{e.method}.png", raw, e, model.info.input)
        rows.append({"method": e.method, "seconds": round(e.seconds, 4), "passes": e.passes})
    if args.json:
        print(json.dumps(rows))
    else:
        for row in rows:
            print(f"{row['method']}: {row['seconds']:.3f} s, {row['passes']} passes -> {out}/{row['method']}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
