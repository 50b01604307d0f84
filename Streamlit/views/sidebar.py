"""Sidebar: task -> model -> input -> methods (widgets from each parameter spec) -> Run."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from views import link
from views.caches import (
    TRUSTED,
    bundled_models,
    cost_of,
    decoded,
    get_case,
    get_model,
    get_pass_seconds,
    get_prediction,
    get_window,
)
from workbench.data import generated_cases
from workbench.errors import InputError, ModelError, user_message
from workbench.io.files import read_file
from workbench.methods import FAMILIES, Method, Param, compatible_methods, hidden_methods
from workbench.models import ModelAdapter, Prediction, SegmentationPrediction, parse_model_ref
from workbench.models.repo_files import PickleRefused
from workbench.service import RATES, WindowScores, check_budget, check_model_task, input_hash, truth_in_window
from workbench.settings import ServerSettings, server_settings
from workbench.tasks import TASKS, GroundTruth, Picture, Task

# Preselected per task, cheap on each task's first bundled model (a few seconds together): a CAM, a path
# gradient and a one-pass gradient, or the audio model's own step scores. Ids not registered are skipped.
DEFAULT_METHODS = {
    "lung_xray": ("gradcam", "integrated_gradients", "saliency"),
    "histopathology": ("gradcam", "integrated_gradients", "saliency"),
    "iqa_segmentation": ("gradcam", "integrated_gradients"),
    "audio_deepfake": ("step_scores", "gradcam", "integrated_gradients"),
}
OTHER_DEFAULTS = ("gradcam", "integrated_gradients")  # a task without its own list
FAMILY_NAMES = {"gradient": "gradient", "cam": "CAM", "propagation": "propagation", "perturbation": "perturbation",
                "intrinsic": "the model's own", "baseline": "trivial baselines (no model pass)"}
PREDICTED = "predicted class"
STOP = "run:stop"  # the key prefix of the Stop buttons beside a running explanation (views/explanations.py)
CASE_NOTE = "Generated here, in memory, from data the bundled models never trained on; nothing is saved."


@dataclass(frozen=True)
class RunRequest:
    """What the Run button asked for; results are recomputed (or read from the cache) from it."""

    model_key: str
    x_hash: str
    methods: tuple[tuple[str, dict], ...]  # (method id, widget values)
    seed: int
    target: str
    component: int | None = None  # segmentation: one connected region of the target class (largest first)
    compare: tuple[str, ...] = ()  # other bundled models of the task, explained alike (the Comparison tab)

    @property
    def label(self) -> str | None:
        """The class asked for; None for each model's predicted class."""
        return None if self.target == PREDICTED else self.target


@dataclass
class Selection:
    task: Task
    model: ModelAdapter
    model_id: str
    revision: str | None
    input_name: str
    raw: np.ndarray
    x: np.ndarray
    x_hash: str
    picture: Picture
    prediction: Prediction
    truth: np.ndarray | None  # ground truth on the model's input grid
    request: RunRequest | None
    notes: tuple[str, ...] = ()  # what decoding changed to make the file usable
    windows: WindowScores | None = None  # audio: every window's scores; `raw` is the window explained
    window: int = 0
    costs: tuple = ()  # (place, method id, Cost) per chosen method, then (place, total passes): see show_costs
    clip: np.ndarray | None = None  # the input as decoded (audio: the whole clip), for other models
    clip_hash: str = ""
    ground_truth: GroundTruth | None = None  # in the input's own units (audio: clip seconds), for other models' grids
    file: tuple[str, bytes] | None = None  # the file as given (None: a generated case), for a report's manifest


def _pick_model(task: Task, bundled: list[str]) -> tuple[ModelAdapter, str, str | None] | None:
    settings = server_settings()
    sources = ["Bundled", *(["Hugging Face Hub"] if settings.hub else [])]
    source_key, model_key = f"source:{task.id}", f"model:{task.id}"
    st.session_state.setdefault(source_key, sources[0 if bundled else -1])
    if st.session_state.get(link.PENDING, {}).get("model"):
        st.session_state[source_key] = sources[0]  # a link names a bundled model
    source = st.sidebar.radio("Model source", sources, horizontal=True, key=source_key)
    if source == "Bundled":
        if not bundled:
            st.sidebar.warning(f"No bundled model for {task.name} yet" + (": choose 'Hugging Face Hub' and enter a "
                               "repo id." if settings.hub else ", and this server offers no Hub models."))
            return None
        st.session_state.setdefault(model_key, task.default_model if task.default_model in bundled else bundled[0])
        link.choose(model_key, "model", bundled)
        model_id, revision = st.sidebar.selectbox("Model", bundled, key=model_key), None
    else:
        picked = _hub_reference(settings)
        if picked is None:
            return None
        model_id, revision = picked
    try:
        model = get_model(model_id, revision)
        check_model_task(model, task)
    except PickleRefused as err:
        st.error(f"Could not load the model: {err}" if settings.trust_pickle else
                 f"Could not load the model: {err.what} and this server does not load pickled weights (its "
                 "operator can allow it with WORKBENCH_TRUST_PICKLE=1). Choose a repo with safetensors weights.")
        return None
    except ModelError as err:
        st.error(f"Could not load the model: {err}")
        return None
    except InputError as err:
        st.error(str(err))
        return None
    if model.info.source == "hub":
        st.sidebar.caption(f"Loaded `{model_id}` at commit `{model.info.revision}`.")
    if model.info.trusted:
        st.sidebar.warning("Pickled weights loaded on your trust: this is recorded in every explanation and report.")
    return model, model_id, revision


def _hub_reference(settings: ServerSettings) -> tuple[str, str | None] | None:
    """The Hub repo (or, where the server allows it, model folder) and revision typed in, and this session's trust
    in that repo's pickles (where the server offers the switch)."""
    folder = " or the path of such a model folder on this server" if settings.local_models else ""
    text = st.sidebar.text_input("Hub repo id", placeholder="org/name", help=(
        "A Hugging Face Hub repo (org/name, or hub:org/name@revision) holding a workbench model, a transformers or "
        f"timm image classifier, or a Keras .keras file{folder}. Fetched into the standard Hub cache "
        "(HF_HUB_CACHE); offline, cached repos still load.")).strip()
    revision = st.sidebar.text_input("Revision (optional)", placeholder="main",
                                     help="A branch, tag or commit; the commit actually loaded is shown.").strip()
    if not text:
        st.info("Enter a Hugging Face Hub repo id (org/name) in the sidebar.")
        return None
    try:
        model_id, revision = parse_model_ref(text, revision or None)
    except InputError as err:
        st.error(str(err))
        return None
    if settings.trust_pickle:
        trusted = st.session_state.setdefault(TRUSTED, set())
        trust = st.sidebar.checkbox(
            "Trust pickled weights from this repo", value=model_id in trusted, key=f"trust:{model_id}",
            help="Pickled weights (.bin, .pt, .h5) can run any code on this server when read, so they are refused "
                 "unless you trust the repo. Your trust is kept for this session and recorded in every explanation "
                 "and report.")
        (trusted.add if trust else trusted.discard)(model_id)
    return model_id, revision


def _pick_others(task: Task, bundled: list[str], model_id: str) -> tuple[str, ...]:
    """Other bundled models of the task, for the Comparison tab's columns (none by default)."""
    others = [m for m in bundled if m != model_id]
    if not others:
        return ()
    key = f"compare:{task.id}"
    st.session_state[key] = [m for m in st.session_state.get(key, []) if m in others]  # kept across models
    link.choose_many(key, "compare", others)
    return tuple(st.sidebar.multiselect(
        "Compare with", others, key=key, help="Each model gets the same input, methods, seed and target, with its own "
        "layers; the Comparison tab shows one column per model from the next Run. Each one runs the methods at its "
        "own cost."))


def _pick_input(task: Task) -> tuple[str, np.ndarray, GroundTruth | None, list[str], tuple | None] | None:
    """(name, decoded array, ground truth or None, notes, the file as (name, bytes) or None for a generated
    case); a bad file gives a message, not a crash. Uploads and recordings stay in memory."""
    samples = {s.name: s for s in task.samples()}
    cases = [c.name for c in generated_cases(task.id)]
    kinds = ["Sample file", "Upload", *(["Microphone"] if task.modality == "audio" else [])]
    kind_key, sample_key = f"input:{task.id}", f"sample:{task.id}"
    st.session_state.setdefault(kind_key, kinds[0 if samples or cases else 1])
    if st.session_state.get(link.PENDING, {}).get("sample"):
        st.session_state[kind_key] = kinds[0]
    kind = st.sidebar.radio("Input", kinds, horizontal=True, key=kind_key)
    if kind == "Sample file":
        if not samples and not cases:
            st.sidebar.warning("This task has no sample files.")
            return None
        st.session_state.setdefault(sample_key, [*samples, *cases][0])
        link.choose(sample_key, "sample", [*samples, *cases])
        name = st.sidebar.selectbox("Sample", [*samples, *cases], key=sample_key,
                                    help="Sample files, then cases generated on request with their ground truth.")
        if name in cases:
            st.sidebar.caption(CASE_NOTE)
            raw, truth = get_case(task.id, name)
            return name, raw, truth, [], None
        sample = samples[name]
        try:
            data = read_file(str(sample.path))
            raw, notes = decoded(task, data, sample.path.name)
        except InputError as err:  # a real film read from a shared folder may be damaged, or gone
            st.error(f"Cannot use this sample: {err} Choose another sample.")
            return None
        return sample.name, raw, task.ground_truth(sample), notes, (sample.path.name, data)
    if kind == "Microphone":
        upload = st.sidebar.audio_input("Record a clip", help="Speak for a few seconds; the recording stays "
                                        "in this session's memory.")
        hint = "Record a clip with the microphone in the sidebar."
    else:
        upload = st.sidebar.file_uploader("Input file", type=list(task.file_types))
        hint = "Upload a file in the sidebar, or pick a sample file."
    if upload is None:
        st.info(hint)
        return None
    try:
        raw, notes = decoded(task, upload.getvalue(), upload.name)
    except InputError as err:
        st.error(f"Cannot use this file: {err}")
        return None
    return upload.name, raw, _uploaded_truth(task, raw), notes, (upload.name, upload.getvalue())


def _uploaded_truth(task: Task, raw: np.ndarray) -> GroundTruth | None:
    """The user's own ground truth for an upload, to score the maps against; a bad one gets a message and
    the maps still run, unscored."""
    audio = task.modality == "audio"
    upload = st.sidebar.file_uploader(
        "Ground truth (optional)", type=["json"] if audio else list(task.file_types), key=f"truth:{task.id}",
        help='A .json file {"span": [start_s, end_s]} (seconds from the clip\'s start)' if audio else
        "A mask image the size of the input: white where the evidence is.")
    if upload is None:
        return None
    try:
        truth = task.read_truth(upload.getvalue(), upload.name)
        task.check_truth(truth, raw)
    except InputError as err:
        st.error(f"Cannot use this ground truth: {err}")
        return None
    return truth


def seconds_text(seconds: float) -> str:
    if seconds < 0.01:
        return "under 0.01 s"
    return f"about {seconds:.2f} s" if seconds < 1 else f"about {seconds:.1f} s"


def _param_widget(model: ModelAdapter, method: Method, p: Param):
    # layer names are the model's own: another model starts from its own default layers
    scope = f"{model.key}:" if p.kind in link.LAYER_KINDS else ""
    key = f"param:{scope}{method.id}:{p.name}"
    st.session_state.setdefault(key, {"int": int, "float": float, "bool": bool}.get(p.kind, lambda v: v)(p.default))
    if not scope:
        link.choose_param(key, method.id, p)
    if p.kind == "layers":
        return st.multiselect(p.name, p.choices, key=key, help=p.help)
    if p.kind in ("choice", "layer"):
        return st.selectbox(p.name, p.choices, key=key, help=p.help)
    if p.kind == "bool":
        return st.checkbox(p.name, key=key, help=p.help)
    if p.kind == "int":
        return st.number_input(p.name, int(p.min), int(p.max), step=1, key=key, help=p.help)
    return st.number_input(p.name, float(p.min), float(p.max), key=key, help=p.help)


def _pick_methods(task: Task, model: ModelAdapter, x: np.ndarray) -> tuple[list[tuple[str, dict]], list[tuple]]:
    """The chosen methods with their widget values, and where each one's cost goes with the cost in
    passes (the last place for their total). A method whose settings do not validate is left out of the run."""
    offered = sorted(compatible_methods(task, model), key=lambda m: FAMILIES.index(m.family))  # grouped by family
    methods = {m.id: m for m in offered}
    key = f"methods:{task.id}"  # kept across the task's models, less what a model does not offer
    st.session_state[key] = [m for m in st.session_state[key] if m in methods] if key in st.session_state else \
        [m for m in DEFAULT_METHODS.get(task.id, OTHER_DEFAULTS) if m in methods]
    link.choose_many(key, "methods", list(methods))
    families = {family: [m.name for m in offered if m.family == family] for family in FAMILIES}
    chosen = st.sidebar.multiselect("XAI methods", list(methods), key=key, format_func=lambda mid: methods[mid].name,
                                    help="Listed by family: " + "; ".join(f"{FAMILY_NAMES[f]}: {', '.join(names)}"
                                                                          for f, names in families.items() if names))
    for name, reason in hidden_methods(task, model).items():
        st.sidebar.caption(f"Not offered: {name}: {reason}")
    picked, costs = [], []
    for mid in chosen:
        method = methods[mid]
        with st.sidebar.expander(f"{method.name} settings"):
            st.caption(method.what_it_shows)
            st.caption(f"Watch out: {method.watch_out}")
            params = {p.name: _param_widget(model, method, p) for p in method.params(model)}
            try:
                cost = cost_of(model, x, mid, params)
            except InputError as err:
                st.warning(f"{err} {method.name} is left out of the run until this is fixed.")
                continue
            costs.append((st.empty(), mid, cost))
        picked.append((mid, params))
    if picked:
        costs.append((st.sidebar.empty(), sum(c.passes for _, _, c in costs)))
    return picked, costs


def show_costs(sel: Selection) -> None:
    """Each chosen method's cost in passes and seconds, then their total, in the places the sidebar kept. The
    seconds a pass come from the method's earlier runs on this model (`RATES`), else from one timed pass. Drawn
    last: the pass time is measured on the model (once), and the page can be used meanwhile."""
    if not sel.costs:
        return
    timed = get_pass_seconds(sel.model_id, sel.revision, sel.model.key, sel.x)
    *each, (total_place, total) = sel.costs
    seconds = 0.0
    for place, method_id, cost in each:
        rate = RATES.seconds_per_pass(sel.model.key, method_id, timed)
        seconds += cost.passes * rate
        source = "learned from its runs on this model" if rate != timed else "one pass timed on this model"
        place.caption(f"Cost: {cost.forward:,} forward + {cost.backward:,} backward passes, "
                      f"{seconds_text(cost.passes * rate)} here ({rate * 1000:.2f} ms a pass, {source}).")
    total_place.caption(f"Together: {total:,} passes, {seconds_text(seconds)}.")


def _pick_component(model: ModelAdapter, pred: SegmentationPrediction, target: str) -> int | None:
    """All predicted pixels of the target class, or one of its connected regions (largest first)."""
    from workbench.masks import components  # scipy.ndimage: loaded for segmentation only

    index = pred.class_index if target == PREDICTED else model.info.labels.index(target)
    sizes = [int(part.sum()) for part in components(pred.mask == index)]
    options = [None, *range(len(sizes))]
    return st.sidebar.selectbox(
        "Region", options, key=f"region:{index}",
        format_func=lambda k: f"all predicted '{model.info.labels[index]}' pixels" if k is None
        else f"region {k + 1} of {len(sizes)} ({sizes[k]} px)",
        help="Explain the class logits summed over the whole predicted mask, or over one connected region.")


def show_server_settings() -> None:
    """What this server's operator allows, read-only (environment variables, read at start-up)."""
    with st.sidebar.expander("This server"):
        st.caption("Set by whoever runs the server, through environment variables (docs/hosting.md).")
        for env, value, help_text in server_settings().rows():
            st.caption(f"`{env}` = `{value}`: {help_text}.")


def render() -> Selection | None:
    """The sidebar's choices as a Selection (None until they make one); a link's choices, when the session opens
    on one, go into the widgets first, and the address bar follows the choices."""
    link.read_once()
    try:
        return _render()
    finally:
        link.show_notes()


def _render() -> Selection | None:
    st.sidebar.header("1. Task")
    st.session_state.setdefault("task", TASKS.ids()[0])
    link.choose("task", "task", TASKS.ids())
    task = TASKS[st.sidebar.selectbox("Task", TASKS.ids(), key="task", format_func=lambda t: TASKS[t].name)]
    st.sidebar.caption(task.description)
    st.sidebar.header("2. Model")
    bundled = [m.id for m in bundled_models(task.id)]
    picked_model = _pick_model(task, bundled)
    compare = () if picked_model is None else _pick_others(task, bundled, picked_model[1])
    st.sidebar.header("3. Input")
    picked_input = _pick_input(task)
    if picked_model is None or picked_input is None:
        return None
    model, model_id, revision = picked_model
    name, clip, truth, notes, file = picked_input
    clip_hash = input_hash(clip)
    try:
        raw, x, windows = get_window(task, model_id, revision, model, clip, clip_hash, None)
        window = 0 if windows is None else windows.deciding
        if windows is not None and len(windows.spans) > 1:
            window = st.sidebar.selectbox(
                "Window", range(len(windows.spans)), index=windows.deciding,
                format_func=lambda k: f"{k}: {windows.spans[k][0]:.0f}-{windows.spans[k][1]:.1f} s"
                + (" (decided the verdict)" if k == windows.deciding else ""),
                help="A long clip is scored window by window; explanations are of one window.")
            raw, x, _ = get_window(task, model_id, revision, model, clip, clip_hash, window)
        x_hash = input_hash(x)
        pred = get_prediction(model_id, revision, model.key, x_hash, x)
    except Exception as err:  # noqa: BLE001 - a model that cannot take this input: one message, the choices kept
        st.error(f"The model could not take this input: {user_message(err)} Choose another model or input.")
        return None
    explained_truth, truth_note = truth_in_window(truth, windows, window)
    if truth_note:
        st.info(truth_note)

    st.sidebar.header("4. Methods")
    methods, costs = _pick_methods(task, model, x)
    target = st.sidebar.selectbox("Explain", [PREDICTED, *model.info.labels])
    component = _pick_component(model, pred, target) if isinstance(pred, SegmentationPrediction) else None
    st.session_state.setdefault("seed", 0)
    link.choose_number("seed", "seed", 0, 2**31 - 1)
    seed = int(st.sidebar.number_input("Seed", 0, 2**31 - 1, key="seed", help="Same seed, same maps."))
    run_now = link.take("run") == "1"  # a link that asks to run: as if Run were pressed
    choices = link.choices(task, model, compare, methods, seed)
    link.write(choices)
    if st.sidebar.button("Run", type="primary", disabled=not methods) or (run_now and methods):
        try:
            check_budget(x, sum(c.passes for _, _, c in costs[:-1]), server_settings().max_passes)
            st.session_state["request"] = RunRequest(model.key, x_hash, tuple(methods), seed, target, component,
                                                     compare)
        except InputError as err:
            st.sidebar.error(f"Not run: {err}")
    if any(str(key).startswith(STOP) and st.session_state[key] for key in st.session_state):
        st.session_state.pop("request", None)
        st.info("Stopped. The maps finished before the stop are kept: Run computes only the rest.")
    link.offer(choices)
    request = st.session_state.get("request")
    if request is not None and (request.model_key, request.x_hash) != (model.key, x_hash):
        request = None  # the last run was for another model or input
    picture = task.picture(raw, model.info.input)
    truth_mask = None if explained_truth is None else explained_truth.as_mask(model.info.input.size, picture.axes)
    return Selection(task, model, model_id, revision, name, raw, x, x_hash, picture, pred, truth_mask, request,
                     tuple(notes), windows, window, tuple(costs), clip=clip, clip_hash=clip_hash, ground_truth=truth,
                     file=file)
