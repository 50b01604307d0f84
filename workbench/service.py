"""Requests shared by the app, the CLI and the benchmarks: one path from a choice to a result.

Cache keys live here, so the app's caches and any other cache agree on what makes two requests
the same: model revision, input hash, method, validated parameters, seed and target (its region
by hash).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.arrays import content_hash
from workbench.errors import InputError
from workbench.io.files import read_file
from workbench.methods import METHODS, Cost, Explanation, Method
from workbench.models import ModelAdapter, Prediction, SegmentationPrediction, Target
from workbench.settings import REFERENCE_VALUES
from workbench.specs import GENERIC_TASK
from workbench.tasks import AudioTask, GroundTruth, Task

TIMING_BATCH = 8  # copies of the input in the one forward+backward pass that `pass_seconds` times
Curve = tuple[np.ndarray, np.ndarray]  # (share of the input changed, the target's probability at each)


@dataclass(frozen=True)
class ExplainRequest:
    """Everything that determines an explanation; `key` is its content address."""

    model_key: str
    input_hash: str
    method: str
    params_json: str
    seed: int
    target_key: str

    @property
    def key(self) -> str:
        return "|".join((self.model_key, self.input_hash, self.method, self.params_json, str(self.seed),
                         self.target_key))


def input_hash(x: np.ndarray) -> str:
    return content_hash(x)


def check_model_task(model: ModelAdapter, task: Task) -> None:
    """A model serves its own task; the generic task takes any image classifier; a Hub classifier whose labels are
    a task's (in order, any case) serves that task too."""
    info = model.info
    if info.task == task.id:
        return
    image_classifier = info.output_kind == "classification" and info.input.signal is None
    if task.id == GENERIC_TASK and image_classifier:
        return
    same_labels = [x.lower() for x in info.labels] == [x.lower() for x in task.labels]
    if info.task == GENERIC_TASK and task.modality == "image" and task.output_kind == "classification" and same_labels:
        return
    if info.task == GENERIC_TASK:
        raise InputError(f"model '{info.id}' is a generic image classifier (labels: {', '.join(info.labels[:8])}"
                         f"{', ...' if len(info.labels) > 8 else ''}), not one for '{task.id}' (labels: "
                         f"{', '.join(task.labels)}); choose the task '{GENERIC_TASK}'.")
    raise InputError(f"model '{info.id}' is for task '{info.task}', not '{task.id}'.")


def load_input(task: Task, path: str) -> tuple[np.ndarray, list[str]]:
    """Read and decode a file: (raw array, notes on anything changed to make it usable)."""
    return task.read(read_file(path), Path(path).name)


def load_truth(task: Task, path: str, raw: np.ndarray) -> GroundTruth:
    """A ground-truth file given with an input (`Task.read_truth`), checked to cover that input."""
    file = Path(path)
    if not file.is_file():
        raise InputError(f"ground truth file not found: {path}")
    truth = task.read_truth(read_file(path), file.name)
    task.check_truth(truth, raw)
    return truth


def faithfulness_curves(e: Explanation, model: ModelAdapter, x: np.ndarray,
                        baseline: str | np.ndarray = "black") -> dict[str, Curve]:
    """The curve of every metric that is an area under one (deletion, insertion), by metric id, the removed
    points replaced by `baseline` (black, mean or blur, or a reference input such as the counterfactual twin).
    Each costs some twenty model passes, so the app computes them once, draws them and scores from them."""
    from workbench.metrics import METRICS, PerturbationAUC  # scipy: loaded when a map is scored

    return {m.id: m.curve(e, model, x, baseline) for m in METRICS.values() if isinstance(m, PerturbationAUC)}


def score_explanation(e: Explanation, model: ModelAdapter, x: np.ndarray, truth: np.ndarray | None = None,
                      curves: dict[str, Curve] | None = None) -> dict[str, float]:
    """Every registered metric whose needs are met (the model always; the ground truth, a bool mask on
    the map's grid, when known and not empty: an empty truth has nowhere to point; never reruns of the method,
    which cost several explanations: stability is asked for on its own), by metric id.
    The areas are taken from `curves` (`faithfulness_curves`) when given, else computed here."""
    from workbench.metrics import METRICS, PerturbationAUC  # scipy.ndimage: loaded when a map is scored

    have = {"model"} | ({"ground_truth"} if truth is not None and truth.any() else set())
    curves = faithfulness_curves(e, model, x) if curves is None else curves
    return {m.id: m.score_curve(curves[m.id]) if isinstance(m, PerturbationAUC)
            else m.score(e, truth=truth, model=model, x=x) for m in METRICS.values() if m.needs <= have}


@dataclass(frozen=True)
class WindowScores:
    """A clip scored window by window, and the verdict for the whole clip."""

    spans: list[tuple[float, float]]  # seconds
    probabilities: np.ndarray  # windows x classes
    label: str
    deciding: int  # the window that decided the verdict
    explained: int  # the window `prepare_input` cut out to explain
    rule: str = ""  # the clip rule in words (`AudioTask.rule_text`)
    reason: str = ""  # the rule's numbers for this clip (`Verdict.reason`)

    def to_json(self, labels: Sequence[str]) -> dict:
        return {"verdict": self.label, "deciding_window": self.deciding, "rule": self.rule, "reason": self.reason,
                "windows": [{"start": round(a, 3), "end": round(b, 3),
                             "probabilities": {lab: float(p) for lab, p in zip(labels, probs)}}
                            for (a, b), probs in zip(self.spans, self.probabilities)]}


def prepare_input(task: Task, model: ModelAdapter, raw: np.ndarray,
                  window: int | None = None) -> tuple[np.ndarray, np.ndarray, WindowScores | None]:
    """(raw array explained, model input 1 x C x H x W, window scores). An audio clip is scored window
    by window; the window explained is `window`, or by default the one that decided the verdict."""
    scores = None
    if isinstance(task, AudioTask):
        spec = model.info.input
        probabilities = model.predict(task.preprocess_windows(raw, spec))
        label, deciding, reason = task.verdict(probabilities, model.info.clip_rule)
        k = deciding if window is None else window
        scores = WindowScores(task.windows(raw, spec), probabilities, label, deciding, k,
                              task.rule_text(model.info.clip_rule), reason)
        if not 0 <= k < len(scores.spans):
            raise InputError(f"window {k} does not exist; the clip has {len(scores.spans)} window(s), "
                             "numbered from 0.")
        raw = task.window(raw, spec, k)
    elif window is not None:
        raise InputError("a window applies to audio only.")
    return raw, task.preprocess(raw, model.info.input), scores


def truth_in_window(truth: GroundTruth | None, windows: WindowScores | None,
                    window: int | None = None) -> tuple[GroundTruth | None, str]:
    """Ground truth in the explained input's time, and a note when it had to go. An audio span is given in seconds
    from the clip's start; the map covers one window, so the span is moved into that window's time (cut to it).
    A span that misses the window marks nothing there: the truth is dropped, and the note says so in one line
    (the app shows it, the CLI prints it), so the maps are scored without it by the same rule everywhere.
    `window` is the window explained (default: `windows.explained`); images pass through unchanged."""
    if truth is None or truth.span is None or windows is None:
        return truth, ""
    k = windows.explained if window is None else window
    start, end = windows.spans[k]
    first, last = truth.span
    if last <= start or first >= end:
        return None, (f"The ground-truth span {first:g}-{last:g} s lies outside the explained window {k} "
                      f"({start:g}-{end:g} s of the clip), so the maps are scored without ground truth.")
    return GroundTruth(span=(max(first, start) - start, min(last, end) - start)), ""


def target_for(model: ModelAdapter, prediction: Prediction, label: str | None = None,
               component: int | None = None) -> Target:
    """The class to explain: a label of the model's, or the predicted one when None. For segmentation,
    the region is where the model predicts that class, or its `component`-th largest connected part."""
    if label is not None and label not in model.info.labels:
        raise InputError(f"the target must be one of {list(model.info.labels)}, not '{label}'.")
    index = prediction.class_index if label is None else model.info.labels.index(label)
    if component is None:
        return Target(index)
    from workbench.masks import components  # scipy.ndimage: loaded when a region is picked, not at app start

    if not isinstance(prediction, SegmentationPrediction):
        raise InputError("a connected component can only be picked in a segmentation.")
    parts = components(prediction.mask == index)
    if not 0 <= component < len(parts):
        raise InputError(f"the model predicts {len(parts)} connected region(s) of "
                         f"'{model.info.labels[index]}'; component {component} does not exist "
                         f"(components are numbered from 0, largest first).")
    return Target(index, parts[component])


def check_methods(task: Task, model: ModelAdapter, method_ids: Sequence[str]) -> list[Method]:
    """Registered methods that apply to this task and model; anything else is the user's error."""
    unknown = [m for m in method_ids if m not in METHODS]
    if unknown:
        raise InputError(f"unknown method(s) {unknown}; available: {', '.join(METHODS)}.")
    wrong = {m: reason for m in method_ids if (reason := METHODS[m].incompatibility(task, model)) is not None}
    if wrong:
        raise InputError(f"method(s) {list(wrong)} do not apply to task '{task.id}' with the "
                         f"{model.info.framework} model '{model.info.id}' (see --list): "
                         + " ".join(f"{m}: {reason}" for m, reason in wrong.items()))
    return [METHODS[m] for m in method_ids]


MAX_SEED = 2**32 - 1  # numpy's seeds are non-negative; shap's legacy generator takes at most 32 bits


def check_seed(seed: int) -> int:
    """The seed, if numpy can take it: a negative or huge one is the user's to change, not a traceback."""
    if not 0 <= int(seed) <= MAX_SEED:
        raise InputError(f"the seed must be a whole number from 0 to {MAX_SEED:,}, not {seed}.")
    return int(seed)


def explain_request(model: ModelAdapter, x: np.ndarray, method_id: str, target: Target,
                    params: dict | None = None, seed: int = 0) -> ExplainRequest:
    """The request for one explanation, parameters validated (defaults filled in) first. A method that draws
    nothing from the seed is asked with seed 0 whatever the seed given: its map is the same, so a new seed is
    served from the cache instead of computed again (and its record says seed 0, what it ran with)."""
    method = METHODS[method_id]
    resolved = method.resolve_params(model, params)
    return ExplainRequest(model.key, input_hash(x), method_id, json.dumps(resolved, sort_keys=True),
                          check_seed(seed) if method.stochastic else 0, target.key)


def explain(model: ModelAdapter, x: np.ndarray, request: ExplainRequest, target: Target) -> Explanation:
    """Compute what a request asks for (the app caches around this call)."""
    return explain_with_progress(model, x, request, target, None)


def explain_with_progress(model: ModelAdapter, x: np.ndarray, request: ExplainRequest, target: Target,
                          progress: Callable[[float], None] | None) -> Explanation:
    """`explain`, calling `progress` with the share of the estimated passes done (the app's progress bar); its
    time, less its waits for the model's lock, teaches `RATES` what a pass of this method costs on this model."""
    waited = model.lock.waited_seconds()
    e = METHODS[request.method].explain(model, x, target, json.loads(request.params_json), request.seed, progress)
    RATES.observe(model.key, e.method, e.seconds - (model.lock.waited_seconds() - waited), e.counted.passes)
    return e


class PassRates:
    """Seconds per pass learned from finished runs, per (model revision, method): a method's passes cost what its
    own batches cost on that model (a one-image Grad-CAM pass is dear, an Integrated Gradients pass in a batch of
    fifty cheap), so one timing per model misjudges most methods. Each run's rate counts half of the estimate (a
    running mean that follows the machine's load); a method not run yet gets the model's timed pass. Shared by
    the server's sessions, bounded."""

    most = 4096  # (model, method) pairs kept: the oldest are forgotten first

    def __init__(self) -> None:
        self._rates: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def observe(self, model_key: str, method_id: str, seconds: float, passes: int) -> None:
        if passes <= 0 or seconds <= 0:
            return
        rate, key = seconds / passes, (model_key, method_id)
        with self._lock:
            old = self._rates.pop(key, None)
            self._rates[key] = rate if old is None else (old + rate) / 2
            while len(self._rates) > self.most:
                del self._rates[next(iter(self._rates))]

    def forget(self) -> None:
        with self._lock:
            self._rates.clear()

    def seconds_per_pass(self, model_key: str, method_id: str, timed: float) -> float:
        """The learned rate, or `timed` (the model's timed pass, `pass_seconds`) before the method has run."""
        with self._lock:
            return self._rates.get((model_key, method_id), timed)


RATES = PassRates()


def estimated_cost(model: ModelAdapter, x: np.ndarray, method_id: str, params: dict | None = None) -> Cost:
    """The passes a method is expected to run with these parameters (validated, defaults filled in)."""
    method = METHODS[method_id]
    return method.cost(model, x, method.resolve_params(model, params))


def pass_seconds(model: ModelAdapter, x: np.ndarray) -> float:
    """Seconds per counted pass on inputs like `x`: one forward+backward pass over a batch of copies,
    timed after a warm-up one on the input alone (a model's first backward pass pays one-off set-up).
    A cost in passes times this is an estimate in seconds measured on this model and machine, which differ
    by orders of magnitude from one model to the next."""
    grid = model.outputs(x[:1]).shape[-2:]  # a segmentation target's region covers the whole output
    target = Target(0, np.ones(grid, bool) if model.info.output_kind == "segmentation" else None)
    with model.lock:  # held from here: the time is the passes', not that of other sessions' turns at the model
        model.input_gradients(x[:1], target)
        with model.counting() as counted:
            start = time.perf_counter()
            model.input_gradients(np.repeat(x[:1], TIMING_BATCH, axis=0), target)
            seconds = time.perf_counter() - start
    return seconds / counted.passes


def budget_passes(x: np.ndarray, passes: int) -> int:
    """Passes in the budget's unit: passes over a 128 x 128 one-channel input, a larger input counting in
    proportion to its values (the work of a pass grows with them)."""
    return int(np.ceil(passes * x[0].size / REFERENCE_VALUES))


def check_budget(x: np.ndarray, passes: int, limit: int) -> None:
    """Refuse, before any pass runs, a request over the server's budget (`WORKBENCH_MAX_PASSES`)."""
    cost = budget_passes(x, passes)
    if cost > limit:
        size = "x".join(str(n) for n in x.shape[1:])
        raise InputError(f"this run needs {passes:,} model passes on a {size} input ({cost:,} in the budget's "
                         f"128x128 unit), over this server's budget of {limit:,} (WORKBENCH_MAX_PASSES): ask for "
                         "fewer samples or steps, or fewer methods or models.")


def run_methods(task: Task, model: ModelAdapter, x: np.ndarray, method_ids: Sequence[str], target: Target,
                seed: int = 0, params: dict[str, dict] | None = None) -> list[Explanation]:
    """Check the methods, then explain with each (the CLI's and the benchmark's path)."""
    check_methods(task, model, method_ids)
    return [explain(model, x, explain_request(model, x, m, target, (params or {}).get(m), seed), target)
            for m in method_ids]

