"""The app's caches and its facade: models are shared resources; predictions and explanations are content-addressed;
every call into what runs a model is made here or in `workbench.service` (docs/layout.md, "The app's facade")."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from workbench import events
from workbench.data import generated_cases
from workbench.device import resolve_device
from workbench.jobs import JobQueue
from workbench.methods import Cost, Explanation
from workbench.models import ModelAdapter, ModelInfo, Prediction, Target, list_models, load_model, predict
from workbench.models.repo_files import size_text
from workbench.service import (
    Curve,
    ExplainRequest,
    WindowScores,
    estimated_cost,
    explain_with_progress,
    faithfulness_curves,
    input_hash,
    pass_seconds,
    prepare_input,
    score_explanation,
)
from workbench.settings import server_settings
from workbench.tasks import TASKS, GroundTruth, Task

if TYPE_CHECKING:
    from workbench.evaluation.cases import CaseSource

# computed, not served from a cache
COMPUTED = {"explanations": 0, "predictions": 0, "scores": 0, "curves": 0, "sanity": 0, "stability": 0}


def stop_point() -> None:
    """Where a model run yields to Streamlit (installed with `workbench.interrupt.interruptible`): reading the
    session state is Streamlit's own interrupt point, so a pressed Stop, a closed tab or a newer rerun ends the
    run here, between two batches, instead of after the whole method."""
    st.session_state.get(TRUSTED)


LOG = logging.getLogger("workbench.app")


@contextlib.contextmanager
def logged(what: str) -> Iterator[None]:
    """Log what a script run (or a fragment's) cost at DEBUG: its seconds and the costly events in it (all sessions'
    events of those seconds: one session alone, as benchmarks/bench_rerun.py runs it, gets its own)."""
    before, start = events.snapshot(), time.perf_counter()
    try:
        yield
    finally:
        counts = ", ".join(f"{k} {v}" for k, v in events.since(before).items())
        LOG.debug("%s: %.3f s, %s", what, time.perf_counter() - start, counts)


@st.cache_data(show_spinner=False, max_entries=32)
def get_decoded(task_id: str, name: str, content: str, _data: bytes) -> tuple[np.ndarray, list[str]]:
    """A file decoded once per content (its SHA-256, `content`): a rerun, or a session given the same bytes,
    reads the cache instead of decoding again."""
    events.count("decodes")
    return TASKS[task_id].read(_data, name)


def decoded(task: Task, data: bytes, name: str) -> tuple[np.ndarray, list[str]]:
    return get_decoded(task.id, name, hashlib.sha256(data).hexdigest(), data)


@st.cache_data(show_spinner=False, ttl=60)
def bundled_models(task_id: str) -> list[ModelInfo]:
    """The task's bundled models, read from `models/` at most once a minute instead of at every rerun."""
    return list_models(task_id)


@st.cache_data(show_spinner=False, max_entries=1024)
def get_cost(model_key: str, x_hash: str, method_id: str, params_json: str, _model: ModelAdapter,
             _x: np.ndarray) -> Cost:
    """A method's cost in passes for these settings, once per (model, input, method, settings): Kernel SHAP's
    segments the input to count its features, which every rerun paid."""
    return estimated_cost(_model, _x, method_id, json.loads(params_json))


def cost_of(model: ModelAdapter, x: np.ndarray, method_id: str, params: dict) -> Cost:
    """`get_cost` keyed by content; InputError when the settings are out of range (never cached)."""
    return get_cost(model.key, input_hash(x), method_id, json.dumps(params, sort_keys=True, default=str), model, x)


TRUSTED = "trusted_repos"  # session state: the repos whose pickled weights this session chose to load
JOBS = JobQueue(server_settings().job_slots)  # the server's job slots, shared by every session


def get_model(model_id: str, revision: str | None) -> ModelAdapter:
    """The model at a revision, with this session's trust in its repo (the sidebar's switch, offered only where
    the server allows it) and folders on the server's disk only where it allows them."""
    settings = server_settings()
    trust = settings.trust_pickle and model_id in st.session_state.get(TRUSTED, ())
    return _load_model(model_id, revision, trust, settings.local_models, resolve_device(settings.device))


@st.cache_resource(show_spinner="Loading model…", max_entries=8)
def _load_model(model_id: str, revision: str | None, trust_pickle: bool, local: bool, device: str) -> ModelAdapter:
    """One adapter per model, revision and trust, shared by every session (the adapter holds a lock). A Hub
    download shows its bytes in a bar made in here (see `get_explanation` on why), only once bytes move (a model
    read from disk leaves no element for a cache hit to replay), and emptied at the end."""
    bars = []

    def progress(done: int, total: int) -> None:
        if not bars:
            bars.append(st.empty())
        bars[0].progress(min(done / total, 1.0) if total else 1.0,
                         text=f"Downloading {model_id}: {size_text(done)} of {size_text(total)}")

    try:
        return load_model(model_id, revision, trust_pickle, progress, local, device)
    finally:
        for bar in bars:
            bar.empty()


@st.cache_data(show_spinner=False, max_entries=256)
def get_prediction(model_id: str, revision: str | None, model_key: str, x_hash: str, _x: np.ndarray) -> Prediction:
    """Keyed by (model revision, input hash): a widget change does not run the model again."""
    COMPUTED["predictions"] += 1
    return predict(get_model(model_id, revision), _x)


@st.cache_data(show_spinner="Generating the case…", max_entries=16)
def get_case(task_id: str, name: str) -> tuple[np.ndarray, GroundTruth | None]:
    """A generated case's input and truth, made once per (task, case)."""
    return next(c for c in generated_cases(task_id) if c.name == name).make()


@st.cache_data(show_spinner="Scoring the input…", max_entries=64)
def get_prepared(model_id: str, revision: str | None, model_key: str, task_id: str, clip_hash: str,
                 _clip: np.ndarray) -> tuple[np.ndarray, np.ndarray, WindowScores | None]:
    """The model input (and, for audio, every window's scores with the deciding window cut out), keyed
    by (model revision, task, input hash): a long clip is scored once, not on every widget change."""
    return prepare_input(TASKS[task_id], get_model(model_id, revision), _clip)


def get_window(task: Task, model_id: str, revision: str | None, model: ModelAdapter, clip: np.ndarray,
               clip_hash: str, window: int | None) -> tuple[np.ndarray, np.ndarray, WindowScores | None]:
    """`get_prepared` for one window of a clip (None: the one that decided the verdict; images have none).
    The clip is scored once; another window is only cut out and preprocessed."""
    raw, x, windows = get_prepared(model_id, revision, model.key, task.id, clip_hash, clip)
    if windows is not None and window is not None and window != windows.explained:
        raw = task.window(clip, model.info.input, window)
        x = task.preprocess(raw, model.info.input)
    return raw, x, windows


@st.cache_data(show_spinner=False, max_entries=64)
def get_pass_seconds(model_id: str, revision: str | None, model_key: str, _x: np.ndarray) -> float:
    """Measured once per model revision: what turns a method's passes into an estimate in seconds."""
    return pass_seconds(get_model(model_id, revision), _x)


@contextlib.contextmanager
def job_slot(slow: bool) -> Iterator[None]:
    """One of the server's job slots (`JOBS`) for the block; while it waits, a line says how many runs are ahead.
    Made in the caller's cached function, for the reason `get_explanation` gives, and emptied at the end."""
    place = []

    def waiting(ahead: int) -> None:
        if not place:
            place.append(st.empty())
        place[0].info(f"Waiting for the server: {ahead} run(s) ahead of yours. Stop leaves the queue.")

    try:
        with JOBS.slot(slow, waiting):
            if place:
                place[0].empty()
            yield
    finally:
        for element in place:
            element.empty()


@st.cache_data(show_spinner=False, max_entries=512)
def get_explanation(model_id: str, revision: str | None, request_key: str, _request: ExplainRequest,
                    _x: np.ndarray, _target: Target, _progress_label: str | None = None,
                    _slow: bool = False) -> Explanation:
    """Keyed by the request (model revision, input hash, method, parameters, seed, target with its
    region hash): the same request is served from the cache instead of recomputed. It is computed in one of the
    server's job slots (`_slow`: estimated over `CHEAP_SECONDS`).

    With a label, a progress bar follows the passes run. The bar is made in here, not by the caller:
    Streamlit replays what a cached function drew on a cache hit, and can only replay elements made
    inside it (updating one made outside fails on the next hit). It is emptied at the end, so a replay
    leaves nothing behind."""
    COMPUTED["explanations"] += 1
    model = get_model(model_id, revision)
    if _progress_label is None:
        with job_slot(_slow):
            return explain_with_progress(model, _x, _request, _target, None)
    bar = st.progress(0, text=_progress_label)
    shown = 0

    def progress(share: float) -> None:
        nonlocal shown
        percent = int(share * 100) // 5 * 5  # a step every 5%: a handful of messages, each replayed on a hit
        if percent > shown:
            shown = percent
            bar.progress(percent, text=f"{_progress_label} {percent}%")

    try:
        with job_slot(_slow):
            return explain_with_progress(model, _x, _request, _target, progress)
    finally:
        bar.empty()


@st.cache_data(show_spinner="Deleting and inserting the most relevant points…", max_entries=512)
def get_curves(model_id: str, revision: str | None, request_key: str, baseline: str, _e: Explanation,
               _x: np.ndarray) -> dict[str, Curve]:
    """One explanation's deletion and insertion curves, keyed by its request and baseline: some forty model
    passes a map, made once, then drawn and scored (`get_scores`) from here."""
    COMPUTED["curves"] += 1
    return faithfulness_curves(_e, get_model(model_id, revision), _x, baseline)


@st.cache_data(show_spinner="Scoring the maps…", max_entries=512)
def get_scores(model_id: str, revision: str | None, request_key: str, truth_hash: str, baseline: str,
               _e: Explanation, _x: np.ndarray, _truth: np.ndarray | None) -> dict[str, float]:
    """Every metric the selection allows for one explanation, keyed by its request, the truth's hash and the
    baseline; the areas under the deletion and insertion curves are those of the cached curves."""
    COMPUTED["scores"] += 1
    curves = get_curves(model_id, revision, request_key, baseline, _e, _x)
    return score_explanation(_e, get_model(model_id, revision), _x, _truth, curves)


@st.cache_data(show_spinner="Evaluating on held-out data…", max_entries=32)
def get_performance(model_id: str, revision: str | None, model_key: str, n: int) -> dict:
    """The model's held-out report on `n` cases, keyed by (model revision, n): made once, then shown on every
    rerun and in every session."""
    from workbench.training.performance import held_out_report

    with job_slot(slow=True):
        return held_out_report(get_model(model_id, revision), n)


def evaluate_rows(models: list[ModelAdapter], method_ids: Sequence[str], source: CaseSource, seed: int, baseline: str,
                  done: dict, progress: Callable[[int, int], None]) -> list[dict]:
    """The evaluation tab's scored rows (`evaluation.batch.evaluate`) in a slow job slot. Not cached here: the
    session's `done` keeps every (model, case) pair scored, so a stopped or repeated run resumes from them."""
    from workbench.evaluation.batch import evaluate

    with job_slot(slow=True):
        return evaluate(models, method_ids, source, seed, progress=progress, done=done, baseline=baseline)


@st.cache_data(show_spinner="Running the randomisation check…", max_entries=64)
def get_sanity(model_keys: tuple[str, ...], method_ids: tuple[str, ...], source_name: str, seed: int, check: str,
               _models: list[ModelAdapter], _source) -> dict[tuple[str, str], bool]:
    """Each model x method's verdict of the sanity check `check` on the source's first case, keyed by what it is a
    function of: the models' revisions, the methods, the cases, the seed and the check."""
    from workbench.evaluation.batch import sanity_verdicts

    return sanity_verdicts(_models, method_ids, _source, seed, check=check)


@st.cache_data(show_spinner="Explaining every case again with other seeds…", max_entries=64)
def get_stability_scores(model_keys: tuple[str, ...], method_ids: tuple[str, ...], source_name: str, seed: int,
                         runs: int, _models: list[ModelAdapter], _source) -> dict[tuple[str, str], float | None]:
    """Each model x method's stability over `runs` seeds averaged over the source's cases, keyed like `get_sanity`:
    a run resumed or repeated with the same settings does not explain every case `runs` times again."""
    from workbench.evaluation.batch import stability_scores

    return stability_scores(_models, method_ids, _source, runs, seed)


@st.cache_data(show_spinner="Explaining again with other seeds…", max_entries=256)
def get_stability(model_id: str, revision: str | None, request_key: str, runs: int, _e: Explanation,
                  _x: np.ndarray) -> dict:
    """One explanation's stability over `runs` seeds (`metrics.agreement.Stability`), keyed by its request: a
    stochastic method runs `runs` - 1 times again, a deterministic one not at all."""
    from workbench.metrics.agreement import Stability

    COMPUTED["stability"] += 1
    return Stability(runs).measure(_e, get_model(model_id, revision), _x)


@st.cache_data(show_spinner="Randomising the model's layers and explaining again…", max_entries=256)
def get_randomisation(model_id: str, revision: str | None, request_key: str, check: str, _e: Explanation,
                      _x: np.ndarray) -> dict:
    """One explanation's model-randomisation check `check` (an id of `metrics.sanity.SANITY_CHECKS`: cascading,
    smooth or efficient), keyed by its request and the check: the method runs again on damaged copies (the shared
    model is never touched), so it costs a few times the method."""
    from workbench.metrics.sanity import SANITY_CHECKS

    COMPUTED["sanity"] += 1
    return SANITY_CHECKS[check].run(get_model(model_id, revision), _x, _e, seed=_e.seed)
