"""The Method contract: parameters the UI and CLI read, a cost estimate, and `explain`.

`explain` is a template: it validates the parameters, resolves the target (a segmentation
target gets its predicted region), counts the model passes the method really runs, times it,
and checks the map before returning it. Methods return data, never a figure.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workbench.arrays import content_hash
from workbench.errors import InputError
from workbench.models import ModelAdapter, PassCount, Target
from workbench.tasks import Task

PARAM_KINDS = ("int", "float", "choice", "bool", "layer", "layers")
# the order the sidebar lists them in
FAMILIES = ("gradient", "cam", "propagation", "perturbation", "intrinsic", "baseline")
TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


@dataclass(frozen=True)
class Param:
    """One method parameter; the UI draws a widget from it and the CLI validates with it."""

    name: str
    kind: str  # one of PARAM_KINDS; "layer" is one of the model's layers, "layers" one or several
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple = ()

    def __post_init__(self) -> None:
        if self.kind not in PARAM_KINDS:
            raise ValueError(f"parameter kind must be one of {PARAM_KINDS}")

    def validate(self, value: Any) -> Any:
        """Coerce and check a value; InputError with a readable message when it does not fit."""
        if self.kind == "layers":  # a list, or from the CLI one string with the names joined by '+'
            names = [n for n in value.split("+") if n] if isinstance(value, str) else list(value)
            wrong = [n for n in names if n not in self.choices]
            if not names or wrong:
                raise InputError(f"{self.name} must be one or several of {list(self.choices)} "
                                 f"(joined by '+'), not {value!r}.")
            return list(dict.fromkeys(names))
        if self.kind in ("choice", "layer"):
            if value not in self.choices:
                raise InputError(f"{self.name} must be one of {list(self.choices)}, not {value!r}.")
            return value
        if self.kind == "bool":
            if isinstance(value, bool | np.bool_):
                return bool(value)
            if str(value).lower() in TRUE + FALSE:
                return str(value).lower() in TRUE
            raise InputError(f"{self.name} must be true or false, not {value!r}.")
        try:
            number = float(value)
            if self.kind == "int":
                if number != int(number):
                    raise ValueError
                number = int(number)
        except (TypeError, ValueError, OverflowError):
            raise InputError(f"{self.name} must be {'an integer' if self.kind == 'int' else 'a number'}, "
                             f"not {value!r}.") from None
        if (self.min is not None and number < self.min) or (self.max is not None and number > self.max):
            raise InputError(f"{self.name} must be between {self.min} and {self.max}, not {number}.")
        return number


@dataclass(frozen=True)
class Cost:
    """Estimated model passes, shown before a run: what makes one method a hundred times slower."""

    forward: int
    backward: int

    @property
    def passes(self) -> int:
        return self.forward + self.backward


@dataclass
class Explanation:
    """A map at input resolution (H x W, or frequency x time) and the record of how it was made."""

    method: str
    map: np.ndarray
    signed: bool
    target: Target
    target_label: str
    params: dict
    seed: int
    counted: PassCount  # passes the adapter ran, not the estimate
    seconds: float
    model_id: str
    model_revision: str
    input_hash: str
    meta: dict = field(default_factory=dict)
    model_trusted: bool = False  # the model's pickled weights were loaded on the user's trust
    device: str = "cpu"  # where its passes ran (`workbench.device`)

    @property
    def passes(self) -> int:
        return self.counted.passes

    def summary(self) -> dict:
        """JSON-serialisable record (CLI, reports, caches): enough to reproduce the map."""
        return {"method": self.method, "model": self.model_id, "revision": self.model_revision,
                "input_hash": self.input_hash,
                "target": self.target.record(self.target_label),
                "params": self.params, "seed": self.seed, "passes": self.passes,
                "forward": self.counted.forward, "backward": self.counted.backward,
                "seconds": round(self.seconds, 4), "signed": self.signed, "device": self.device, **self.meta,
                **({"trusted": "pickled weights"} if self.model_trusted else {})}


class Method(ABC):
    """Subclasses set the class attributes and implement `cost` and `_compute`."""

    id: str
    name: str
    what_it_shows: str
    watch_out: str  # the one pitfall a reader of this map should know
    family: str  # one of FAMILIES
    modalities: tuple[str, ...] = ("image", "audio")
    frameworks: tuple[str, ...] = ("pytorch", "keras")
    output_kinds: tuple[str, ...] = ("classification", "segmentation")
    signed: bool = True
    needs_layer: bool = False  # reads a layer's feature maps (the CAM family)
    stochastic: bool = False  # draws from the seed; a method that does not gives one map whatever the seed

    def supports_task(self, task: Task) -> bool:
        return task.modality in self.modalities and task.output_kind in self.output_kinds

    def incompatibility(self, task: Task, model: ModelAdapter) -> str | None:
        """Why the method does not apply to this task and model, in one line; None when it does."""
        if task.modality not in self.modalities:
            return f"works on {' and '.join(self.modalities)} inputs, not {task.modality}."
        if task.output_kind not in self.output_kinds:
            return f"explains {' and '.join(self.output_kinds)} models, not {task.output_kind}."
        if model.info.framework not in self.frameworks:
            return f"runs on {' and '.join(self.frameworks)} models, not {model.info.framework}."
        if self.needs_layer and not model.layers():
            return "needs a layer whose output is a map over the input; this model has none the workbench can find."
        return None

    def is_compatible(self, task: Task, model: ModelAdapter) -> bool:
        return self.incompatibility(task, model) is None

    def params(self, model: ModelAdapter) -> list[Param]:
        """Parameter spec (may depend on the model: its layers, its input size)."""
        return []

    def quick_params(self, model: ModelAdapter) -> dict:
        """Cheapest sensible settings: for the contract test and quick previews."""
        return {}

    @abstractmethod
    def cost(self, model: ModelAdapter, x: np.ndarray, params: dict) -> Cost:
        """Passes `explain` is expected to use for these (validated) parameters."""

    @abstractmethod
    def _compute(self, model: ModelAdapter, x: np.ndarray, target: Target, params: dict,
                 rng: np.random.Generator) -> tuple[np.ndarray, dict]:
        """Return (map at the input's H x W, extra metadata)."""

    def resolve_params(self, model: ModelAdapter, params: dict | None) -> dict:
        """Defaults filled in, unknown names refused, every value validated."""
        spec = {p.name: p for p in self.params(model)}
        unknown = set(params or {}) - set(spec)
        if unknown:
            raise InputError(f"{self.id} has no parameter(s) {sorted(unknown)}; it has {sorted(spec)}.")
        merged = {name: p.default for name, p in spec.items()} | dict(params or {})
        return {name: spec[name].validate(value) for name, value in merged.items()}

    def explain(self, model: ModelAdapter, x: np.ndarray, target: Target, params: dict | None = None,
                seed: int = 0, progress: Callable[[float], None] | None = None) -> Explanation:
        """Explain `target` for the 1 x C x H x W input `x`. `progress` is called with the share of the
        estimated passes run so far, as the adapter counts them: every method reports progress for free."""
        params = self.resolve_params(model, params)
        target = model.resolve_target(x, target)
        rng = np.random.default_rng(seed)
        report = None
        if progress is not None:  # the cost estimate can cost something itself (Kernel SHAP segments the input)
            budget = max(self.cost(model, x, params).passes, 1)
            report = lambda count: progress(min(count.passes / budget, 1.0))  # noqa: E731
        with model.counting(report) as counted:
            start = time.perf_counter()
            heatmap, meta = self._compute(model, x, target, params, rng)
            seconds = time.perf_counter() - start
        counted.on_change = None  # the record keeps the counts, not the caller's progress callback
        heatmap = np.asarray(heatmap, dtype=np.float32)
        if heatmap.shape != x.shape[-2:]:
            raise RuntimeError(f"{self.id} returned a {heatmap.shape} map for a {x.shape[-2:]} input")
        if not np.isfinite(heatmap).all():
            raise RuntimeError(f"{self.id} returned non-finite values")
        return Explanation(self.id, heatmap, self.signed, target, model.info.labels[target.class_index],
                           params, seed, counted, seconds, model.info.id, model.info.revision,
                           content_hash(x), meta, model.info.trusted, model.device)
