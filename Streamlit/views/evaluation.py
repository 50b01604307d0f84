"""Evaluation tab: methods x models scored on many cases whose truth is known (or on a MedMNIST file).

Every row scored in this session is kept in its state under what the row is a function of. Streamlit stops
a running script when any widget reruns it (the Stop button does just that); the rows scored until then
stay, so pressing Run again resumes instead of starting over.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from views.caches import bundled_models, evaluate_rows, get_model, get_sanity, get_stability_scores
from views.sanity import sanity_choice
from views.sidebar import Selection
from workbench.data.medmnist import DATASETS
from workbench.errors import InputError, ModelError, user_message
from workbench.evaluation.batch import (
    COLUMNS,
    LOCALISATION,
    OTHERS,
    reliance_counts,
    summarise,
    table_csv,
)
from workbench.evaluation.cases import (
    CASE_SOURCES,
    EVAL_BASELINES,
    CaseSource,
    from_folder,
    from_npz_bytes,
    generated,
    real_folder,
)
from workbench.methods import BASELINE_METHODS, METHODS
from workbench.methods.common import BASELINES
from workbench.metrics import METRICS
from workbench.metrics.agreement import RUNS
from workbench.models import ModelAdapter
from workbench.settings import server_settings

ROWS = "evaluation:rows"  # row key -> row: every row scored in this session
LAST = "evaluation:last"  # the last run: what it was, its progress, and once finished its table
DEFAULT_METHODS = ("gradcam", "saliency")  # one forward and one backward pass each
DEFAULT_N = 20
GENERATED, UPLOAD = "Generated cases (known truth, counterfactual twins)", "MedMNIST .npz file"
REAL = "Real radiographs of held-out patients (no masks)"
TWIN = "its answer did not flip on the counterfactual twin (the same case without the object)"


@dataclass(frozen=True)
class Settings:
    models: tuple[ModelAdapter, ...]
    method_ids: tuple[str, ...]
    n: int
    seed: int
    sanity: str | None  # the sanity check's id (metrics.sanity.SANITY_CHECKS), None: not run
    kind: str  # GENERATED, REAL or UPLOAD
    upload: tuple[str, bytes] | None  # (name, content) of a MedMNIST file, kept in memory
    baseline: str  # what deletion and insertion put in place of the removed points
    stability: int = 0  # seeds of the stability column (0: not computed)

    def source(self) -> CaseSource:
        """Read only when a run starts: an upload can hold thousands of images."""
        task_id = self.models[0].info.task
        if self.kind == REAL:
            return from_folder(task_id, str(real_folder(task_id)), self.n, self.seed)
        if self.upload is None:
            return generated(task_id, self.n, self.seed)
        return from_npz_bytes(task_id, self.upload[1], self.upload[0], self.n)

    @property
    def cases(self) -> str:
        """The cases in a few words, for the run's label."""
        return {GENERATED: "generated case(s)", REAL: "held-out real radiograph(s)"}.get(
            self.kind, f"case(s) of {self.upload[0] if self.upload else ''}")


def render(sel: Selection) -> None:
    st.caption("Each method scored on many cases at once: where the truth is known by construction, a faithful map "
               "must find it. Localisation is averaged over the cases the model relies on (its answer flips when "
               "the object is removed); the others are excluded and counted.")
    settings = _settings(sel)
    run, stop = st.columns([1, 4])
    pressed = run.button("Run evaluation", type="primary", disabled=settings is None, key="evaluation:run")
    stop.button("Stop", key="evaluation:stop", help="Stops the run; the cases scored so far are kept, and Run "
                "evaluation resumes from them.")
    if pressed and settings is not None:
        _run(settings)
    _show(st.session_state.get(LAST))


def _settings(sel: Selection) -> Settings | None:
    """The tab's own controls; None (with the reason shown) until they make a runnable request."""
    task = sel.task
    revisions = {m.id: None for m in bundled_models(task.id)} | {sel.model_id: sel.revision}
    ids = st.multiselect("Models", list(revisions), default=[sel.model_id], key=f"evaluation:models:{sel.model.key}")
    try:
        models = tuple(get_model(m, revisions[m]) for m in ids)
    except ModelError as err:
        st.error(f"Could not load the model: {err}")
        return None
    offered = [m.id for m in METHODS.values() if models and all(m.is_compatible(task, model) for model in models)
               and m.id not in BASELINE_METHODS]
    method_ids = st.multiselect("Methods", offered, default=[m for m in DEFAULT_METHODS if m in offered],
                                format_func=lambda m: METHODS[m].name, key=f"evaluation:methods:{','.join(ids)}",
                                help="Each with its default settings.")
    if st.checkbox("With the trivial baselines", value=True, key="evaluation:baselines", help=(
            "A random map, a centred Gaussian, the input's intensity and its edges (Sobel), no model pass each: the "
            "table's lift columns say how far each method is above the best of them. A method that does not beat "
            "them has found nothing about the model.")) and method_ids:
        method_ids = [*method_ids, *BASELINE_METHODS]
    kinds = [*([GENERATED] if task.id in CASE_SOURCES else []), *([REAL] if real_folder(task.id) else []),
             *([UPLOAD] if any(d.task == task.id for d in DATASETS.values()) else [])]
    if not kinds:
        st.info(f"{task.name} has neither generated cases with known truth nor a MedMNIST data set: there is "
                "nothing to evaluate on.")
        return None
    kind = st.radio("Cases", kinds, horizontal=True, key="evaluation:kind")
    if kind == REAL:
        st.caption(f"Films of the patients that training held out, read in place from `{real_folder(task.id)}`, "
                   "the classes alternating. They have no lesion masks: localisation is left out; faithfulness, "
                   "sparseness and sanity are scored, each map explaining the class the model predicts.")
    a, b, c, d = st.columns(4)
    n = int(a.number_input("Number of cases (N)", 1, server_settings().max_cases, DEFAULT_N, key="evaluation:n",
                           help="At most WORKBENCH_MAX_CASES on this server (the sidebar's 'This server')."))
    seed = int(b.number_input("Seed (cases and methods)", 0, 2**31 - 1, 0, key="evaluation:seed"))
    twins = kind == GENERATED  # only generated cases have a counterfactual twin to take the points from
    baseline = d.selectbox("Deletion/insertion baseline", EVAL_BASELINES if twins else BASELINES,
                           key=f"evaluation:baseline:{twins}",
                           help="What replaces the removed points: black, the input's mean level, a blurred copy of "
                                "the input (removes detail, keeps the layout)" + (
                                    ", or each case's counterfactual twin (the same case without the object: "
                                    "removing a point takes it from the twin, so a map on the object deletes fast). "
                                    "Prefer it where the model may take the edit itself for evidence: the audio "
                                    "detectors read scattered black points as a spoof (docs/evaluation.md)."
                                    if twins else "."))
    sanity = c.checkbox("Sanity check", key="evaluation:sanity",
                        help="Each method again on copies of each model with its layers randomised from the top, on "
                             "the first case: it passes when the map changes (Adebayo et al. 2018).")
    sanity = sanity_choice(c, "evaluation:sanity_check") if sanity else None
    stability = RUNS if c.checkbox(f"Stability over {RUNS} seeds", key="evaluation:stability", help=(
        f"Each stochastic method (LIME, Kernel SHAP, SmoothGrad, GradientSHAP, the random baseline) explains every "
        f"case with {RUNS} seeds, and the column is the mean Spearman correlation of those maps, averaged over the "
        f"cases: {RUNS} times the method's cost per case. A method that draws no random numbers is 1 without a "
        "run.")) else 0
    upload = None
    if kind == UPLOAD:
        file = st.file_uploader("MedMNIST file (.npz)", type=["npz"], key="evaluation:npz",
                                help="Its test split's images and labels; no masks, so faithfulness and complexity "
                                     "only. It stays in this session's memory.")
        upload = None if file is None else (file.name, file.getvalue())
    if not ids:
        st.info("Choose at least one model.")
    elif not method_ids:
        st.info("Choose at least one method.")
    elif kind == UPLOAD and upload is None:
        st.info(f"Upload a MedMNIST file of this task ({', '.join(k for k, d in DATASETS.items() if d.task == task.id)}"
                "), named as MedMNIST names it, e.g. pneumoniamnist_64.npz.")
    else:
        return Settings(models, tuple(method_ids), n, seed, sanity, kind, upload, baseline, stability)
    return None


def _run(settings: Settings) -> None:
    """Scores what is missing, kept row by row in the session; a stopped run leaves its progress in LAST."""
    try:
        source = settings.source()
    except InputError as err:
        st.error(f"Cannot use this file: {err}")
        return
    except Exception as err:  # noqa: BLE001 - a folder's damaged file or a library failing: one message
        st.error(f"Cannot read the cases: {user_message(err)}")
        return
    models, methods = settings.models, settings.method_ids
    label = (f"{len(models)} model(s) × {len(methods)} method(s) on {source.n} {settings.cases}, seed "
             f"{settings.seed}, {settings.baseline} baseline")
    last = st.session_state[LAST] = {"label": label, "progress": (0, source.n * len(models))}
    bar = st.progress(0.0, text=f"Scoring {label}…")

    def progress(count: int, total: int) -> None:
        last["progress"] = (count, total)
        bar.progress(count / total, text=f"{count} of {total} (model, case) pairs scored")

    try:
        rows = evaluate_rows(list(models), methods, source, settings.seed, settings.baseline,
                             st.session_state.setdefault(ROWS, {}), progress)
        sanity = get_sanity(tuple(m.key for m in models), methods, source.name, settings.seed, settings.sanity,
                            list(models), source) if settings.sanity else None
        stability = get_stability_scores(tuple(m.key for m in models), methods, source.name, settings.seed,
                                         settings.stability, list(models), source) if settings.stability else None
    except Exception as err:  # noqa: BLE001 - one message; the rows scored so far stay for the next Run
        st.error(f"The evaluation stopped: {user_message(err)} The rows scored so far are kept.")
        return
    bar.empty()
    last.update(table=summarise(rows, sanity, stability), reliance=reliance_counts(rows))


def _show(last: dict | None) -> None:
    if last is None:
        st.info("Choose models, methods and cases above, then press **Run evaluation**.")
        return
    if "table" not in last:
        count, total = last["progress"]
        st.warning(f"The last run ({last['label']}) was stopped after {count} of {total} (model, case) pairs. The rows "
                   "scored so far are kept: press **Run evaluation** with the same settings to resume from them.")
        return
    st.caption(f"{last['label']}; each method with its default settings.")
    st.dataframe(pd.DataFrame(last["table"], columns=list(COLUMNS)), hide_index=True, column_config=_columns())
    if all(row[m] is None for row in last["table"] for m in LOCALISATION):
        st.caption("No case has a ground-truth mask, so localisation is left out: the maps are scored for "
                   "faithfulness (deletion, insertion), sparseness and, when asked, sanity.")
    for model, counts in last["reliance"].items():
        _reliance_note(model, counts)
    st.download_button("Table (.csv)", table_csv(last["table"]), "evaluation.csv", "text/csv", key="evaluation:csv")


def _columns() -> dict:
    """Each metric's name with the arrow of its direction, and what it measures on hover."""
    config = {}
    for m in (*LOCALISATION, *OTHERS):
        config[m] = st.column_config.NumberColumn(METRICS[m].label, help=METRICS[m].what_it_measures, format="%.3f")
        config[f"{m}_lo"] = st.column_config.NumberColumn(f"{METRICS[m].name}: 95% low", format="%.3f", help=(
            "The lower end of the mean's 95% bootstrap interval over the cases."))
        config[f"{m}_hi"] = st.column_config.NumberColumn(f"{METRICS[m].name}: 95% high", format="%.3f",
                                                          help="The upper end of the mean's 95% bootstrap interval.")
        config[f"{m}_lift"] = st.column_config.NumberColumn(f"{METRICS[m].name}: lift", format="%+.3f", help=(
            "The method's score minus the best trivial baseline's, in the metric's better direction (above 0: "
            "better than every baseline)."))
    return config | {
        "best_or_tied": st.column_config.Column("★ best or not clearly worse", help=(
            "The metrics on which this method has the model's best mean, or is not clearly worse than the best: a "
            "paired bootstrap over the same cases puts its difference from the best within noise.")),
        "resamples": st.column_config.NumberColumn("Bootstrap resamples"),
        "sanity": st.column_config.Column("Sanity check passed", help="The model-randomisation check (empty: not "
                                          "run)."),
        "stability": st.column_config.NumberColumn(METRICS["stability"].label, format="%.3f", help=(
            METRICS["stability"].what_it_measures + " Empty: not asked for (the Stability switch above, or "
            "`xai_models.py evaluate --stability K`: K runs of each stochastic method per case).")),
        "excluded": st.column_config.NumberColumn("Excluded", help="Cases left out of the localisation means (and, "
                                                  "with the twin baseline, of deletion and insertion): the model "
                                                  "did not rely on the object there."),
        "seconds_per_case": st.column_config.NumberColumn("Seconds per case ↓", format="%.3f"),
    }


def _reliance_note(model: str, counts: dict[str, int]) -> None:
    """How many of the model's cases were excluded from localisation, and why, in one sentence."""
    n = counts["cases"]
    if counts["unknown"] == n:
        st.caption(f"`{model}`: these cases have no counterfactual twins, so whether the model relies on the object "
                   "is unknown; no case is excluded.")
        return
    excluded = counts["not_detected"] + counts["not_flipped"]
    why = " and ".join(part for part in (
        f"{counts['not_detected']} where it did not detect the object" if counts["not_detected"] else "",
        f"{counts['not_flipped']} where {TWIN}" if counts["not_flipped"] else "") if part)
    if excluded == n:
        st.warning(f"**`{model}` does not rely on the object**: on all {n} cases the object made no difference to its "
                   f"answer ({why}), so its localisation scores are not reported. Where a model ignores the object, "
                   "a map that misses it says nothing against the method; faithfulness and complexity still apply.")
    elif excluded:
        st.caption(f"`{model}`: {excluded} of {n} cases excluded from the localisation means, {why}: the model did "
                   "not rely on the object there.")
    else:
        st.caption(f"`{model}`: no case excluded; the model relied on the object in each of the {n} case(s).")
