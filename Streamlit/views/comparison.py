"""Comparison tab: the maps side by side (one model: its methods in a row; several: methods x models), each on
the colour scale chosen, then one table of every metric with each column's best value marked, how one model's
methods agree, every deletion and insertion curve, and the downloads. The display controls live in a fragment: a
change redraws the maps and nothing else."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from views.caches import get_model, logged
from views.grid import Column, Scoring, build_columns
from views.sanity import sanity_choice
from views.sidebar import Selection
from workbench.comparison import (
    PER_MAP,
    PER_METHOD,
    SHARED,
    Cell,
    agreement,
    best_values,
    colour_scales,
    curve_series,
    headline,
    maps_npz,
    metric_rows,
    metrics_csv,
)
from workbench.io.writers import zip_files
from workbench.methods import METHODS, Explanation
from workbench.methods.common import BASELINES
from workbench.metrics import METRICS
from workbench.metrics.agreement import RUNS
from workbench.metrics.localisation import top_fraction
from workbench.metrics.sanity import SANITY_CHECKS, STEPS
from workbench.models import ClassPrediction, Prediction
from workbench.render import base_picture, colourbar, encode_png, explanation_picture, with_axes
from workbench.render.vega import curves_spec, matrix_spec

SCALES = {"Each map its own scale": PER_MAP, "One scale per method": PER_METHOD, "One scale for all maps": SHARED}
PER_ROW = 4  # maps side by side at most: at 1440 px each is still 240 px wide
MIN_SLOTS = 3  # fewer maps than this keep the width of three: one map does not fill the page
UNITS_NOTE = ("A shared scale compares values only where they are in one unit: a model's maps with each other for "
              "one method, Integrated Gradients and Saliency in the input's units; Grad-CAM's values differ by "
              "orders of magnitude between networks.")


def render(sel: Selection, results: list[Explanation]) -> None:
    if not results:
        st.info("Choose methods in the sidebar and press **Run**.")
        return
    check, steady, base = st.columns([3, 3, 2])
    sanity = check.checkbox("Sanity check each map (model randomisation)", key="grid:sanity", help=(
        "Adebayo et al. (2018): the layers of a copy of each model get random weights, from the top down, and the "
        f"method explains again at {STEPS} depths. A map that explains the model must change; one that stays "
        "shows the input, not what the model learned. Hedström et al. (2023) added a smooth variant (maps averaged "
        "over noisy inputs) and an efficient one (the map's entropy once the model is random): choose below."))
    sanity = sanity_choice(check, "grid:sanity_check") if sanity else None
    stability = _stability_switch(steady, results)
    baseline = base.selectbox("Deletion/insertion baseline", BASELINES, key="grid:baseline", help=(
        "What replaces the removed points: black, the input's mean level, or a blurred copy of the input."))
    columns = build_columns(sel, results, Scoring(baseline, sanity, stability))
    cells = [c for col in columns for c in col.cells]
    _display(sel, columns)
    _table(cells)
    if sanity:
        _sanity(cells)
    _curves(cells, several=len(columns) > 1)
    _report(sel, columns)


def _stability_switch(place: DeltaGenerator, results: list[Explanation]) -> int:
    """The seeds of the stability score when asked for (0: not), with its cost on the sidebar's model stated."""
    stochastic = [e for e in results if METHODS[e.method].stochastic]
    runs = RUNS
    cost = sum(e.passes for e in stochastic) * (runs - 1)
    label = f"Stability over {runs} seeds" + (f" (costs {cost:,} more model passes)" if cost else " (no rerun)")
    asked = place.checkbox(label, key="grid:stability", help=(
        f"Each stochastic method ({', '.join(METHODS[e.method].name for e in stochastic) or 'none chosen'}) explains "
        f"again with the next {runs - 1} seeds, and the score is the mean Spearman correlation between the "
        f"{runs} maps (1: the seed changes nothing). A method that draws no random numbers is 1 without a rerun. "
        f"Costs {runs - 1} runs of each stochastic method: {cost:,} model passes on this model."))
    return runs if asked else 0


@st.fragment
def _display(sel: Selection, columns: list[Column]) -> None:
    """The maps with their display controls, the agreement (it reads the top-k %) and the downloads drawn as
    shown: a control reruns this fragment only, from the maps already computed."""
    with logged("grid"):
        _grid(sel, columns)


def _grid(sel: Selection, columns: list[Column]) -> None:
    left, middle, right = st.columns(3)
    scaling = SCALES[left.radio("Colour scale", list(SCALES), key="grid:scale", help=(
        "Own scale (default): each map fills the colours, so every map shows, and its ±range is under it. Per "
        "method: a method's maps on every model share the largest |value|. All maps: the same colour is the same "
        "value in every cell. " + UNITS_NOTE))]
    k_percent = middle.slider("Each map's top … %", 1, 50, 10, key="grid:top",
                              help="The points the top-k IoU counts, in the agreement matrix below too.")
    outlined = k_percent if middle.checkbox("Outline them on the maps", True, key="grid:outline") else None
    alpha = right.slider("Overlay opacity", 0.0, 1.0, 0.75, 0.05, key="grid:alpha")
    methods_across = len(columns) > 1 and right.toggle(
        "Methods on columns", key="grid:across", help="Off: a row per method, a column per model. On: a row per "
        "model, its input first, then a column per method.")
    cells = [c for col in columns for c in col.cells]
    scales = colour_scales(cells, scaling)
    audio = sel.task.modality == "audio"
    if len(columns) == 1:
        pictures = _one_model(columns[0], audio, scales, outlined, alpha)
    elif methods_across:
        pictures = _models_by_row(columns, audio, scales, outlined, alpha)
    else:
        pictures = _methods_by_row(columns, audio, scales, outlined, alpha)
    _legend(columns, scaling, outlined)
    _agreement(columns, k_percent)
    _downloads(sel.input_name, cells, pictures)


def _places(n: int, audio: bool) -> list[DeltaGenerator]:
    """Places for `n` pictures in one row: side by side, at least MIN_SLOTS wide; a spectrogram alone in its row,
    wide enough to read its Hz and seconds axes."""
    return [st.container() for _ in range(n)] if audio else st.columns(max(n, MIN_SLOTS), gap="xxsmall")[:n]


def _one_model(col: Column, audio: bool, scales: dict, top: int | None, alpha: float) -> dict[str, np.ndarray]:
    """One model: its input beside its prediction, then its methods side by side, PER_ROW a row, wrapping."""
    if audio:
        _title(st, col)
        _input(st, col)
    else:
        picture, text = st.columns([1, PER_ROW - 1])
        _input(picture, col)
        _title(text, col)
    pictures: dict[str, np.ndarray] = {}
    for start in range(0, len(col.cells), PER_ROW):
        row = col.cells[start:start + PER_ROW]
        for place, cell in zip(_places(len(row), audio), row):
            with place:
                pictures |= _cell(col, cell, scales, top, alpha)
    return pictures


def _methods_by_row(columns: list[Column], audio: bool, scales: dict, top: int | None,
                    alpha: float) -> dict[str, np.ndarray]:
    """A column per model headed by its prediction and its input, a row per method."""
    for place, col in zip(_places(len(columns), audio), columns):
        _title(place, col)
        if audio:
            _input(place, col)
    if not audio:  # the pictures take a row of their own, so they line up whatever the text above
        for place, col in zip(_places(len(columns), audio), columns):
            _input(place, col)
    pictures: dict[str, np.ndarray] = {}
    for row, cell in enumerate(columns[0].cells):
        st.markdown(f"**{METHODS[cell.method].name}**")
        for place, col in zip(_places(len(columns), audio), columns):
            with place:
                pictures |= _cell(col, col.cells[row], scales, top, alpha)
    return pictures


def _models_by_row(columns: list[Column], audio: bool, scales: dict, top: int | None,
                   alpha: float) -> dict[str, np.ndarray]:
    """A row per model: its prediction, then its input and a column per method."""
    pictures: dict[str, np.ndarray] = {}
    for col in columns:
        _title(st, col)
        places = _places(1 + len(col.cells), audio)
        _input(places[0], col)
        for place, cell in zip(places[1:], col.cells):
            with place:
                pictures |= _cell(col, cell, scales, top, alpha)
    return pictures


def _title(place: DeltaGenerator, col: Column) -> None:
    place.markdown(f"**{col.model_id}**")
    if col.prediction is None:
        place.caption("Not used: its cells say why.")
        return
    place.markdown(_prediction_text(col.prediction))
    if col.prediction.in_distribution is False:
        place.caption(f":orange[Unlike its training data (OOD score {col.prediction.ood_score:.2f} > 1): its maps "
                      "mean little.]")


def _input(place: DeltaGenerator, col: Column) -> None:
    if col.picture is not None:
        place.image(with_axes(base_picture(col.picture, col.truth), col.picture.axes), width="stretch",
                    caption="Input" + (" + ground truth" if col.truth is not None else ""))


def _prediction_text(pred: Prediction) -> str:
    if isinstance(pred, ClassPrediction):
        return f"Predicts **{pred.label}**, p = {pred.probabilities[pred.label]:.3f}"
    return f"Predicts **{pred.label}** on {pred.class_share[pred.label]:.1%} of the pixels"


def _cell(col: Column, cell: Cell, scales: dict, k_percent: int | None, alpha: float) -> dict[str, np.ndarray]:
    """One map with its outlines (its top `k_percent`, when given), its time, its colour range and two headline
    numbers, or why there is none; returns its picture by cell name."""
    name = METHODS[cell.method].name
    if cell.explanation is None:
        st.info(f"**{name}** does not run on `{cell.model_id}`: {cell.reason}")
        return {}
    e = cell.explanation
    top = None if k_percent is None else top_fraction(e.map[None], k_percent / 100)[0]
    picture, scale = explanation_picture(col.picture, e.map, col.truth, scale=scales[cell.name], alpha=alpha,
                                         top=top)
    picture = with_axes(picture, col.picture.axes)
    numbers = "".join(f" · {METRICS[m].label} {cell.scores[m]:.2f}" for m in headline(cell))
    st.image(picture, caption=f"{name} · {cell.model_id} · {e.seconds:.2f} s · ±{scale:.3g}{numbers}{_badge(cell)}",
             width="stretch")
    return {cell.name: picture}


def _badge(cell: Cell) -> str:
    if cell.sanity is None:
        return ""
    verdict = "✅ passes" if cell.sanity["passed"] else "⚠️ fails"
    return f" · Sanity {verdict} ({cell.sanity['summary']})"


STEP_COLUMNS = {"layers_randomised": "layers random", "down_to": "down to", "spearman": "Spearman", "ssim": "SSIM",
                "entropy": "entropy"}


def _sanity(cells: list[Cell]) -> None:
    """Each checked map's similarity to itself (or, for eMPRT, its entropy) as more and more layers are
    randomised: the badge's evidence."""
    checked = [c for c in cells if c.sanity is not None]
    with st.expander("Sanity check, step by step"):
        st.dataframe([{"model": c.model_id, "method": METHODS[c.method].name,
                       **{STEP_COLUMNS.get(k, k): v for k, v in s.items()}}
                      for c in checked for s in c.sanity["steps"]], hide_index=True)
        for check in dict.fromkeys(c.sanity["check"] for c in checked):
            st.caption(f"{SANITY_CHECKS[check].name}: a method passes when {SANITY_CHECKS[check].passes_when}.")


def _legend(columns: list[Column], scaling: str, k_percent: int | None) -> None:
    text = {PER_MAP: "Each map on its own symmetric scale, −r … 0 … +r with r under it (the 99.5th percentile of "
                     "its |values|): every map shows; compare shapes, not colours between maps.",
            PER_METHOD: "One scale per method, −r … 0 … +r with r the largest |value| of the method's maps on every "
                        "model (under each map). " + UNITS_NOTE,
            SHARED: "One scale for all maps, −r … 0 … +r with r the largest |value| of any map (under each map): "
                    "the same colour is the same value in every cell. " + UNITS_NOTE}[scaling]
    st.image(colourbar(), caption="Blue lowers the score, red raises it. " + text, width=320)
    notes = [] if k_percent is None else [f"Yellow outline: each map's top {k_percent}% (the points the top-k "
                                          "IoU counts)."]
    if any(col.truth is not None for col in columns):
        notes.append("Green outline: ground truth.")
    st.caption(" ".join(notes))


def _table(cells: list[Cell]) -> None:
    """One row per model x method, a column per metric (its direction and unit in the header, its definition in
    the header's help), each column's best value highlighted; sortable by a click on a header."""
    ids, rows = metric_rows(cells)
    if not any(r["seconds"] is not None for r in rows):
        return
    st.subheader("Metrics")
    best = best_values(ids, rows)
    frame = pd.DataFrame([{**r, "method": METHODS[r["method"]].name} for r in rows])

    def mark(column: pd.Series) -> list[str]:
        return ["font-weight: bold; background-color: rgba(46, 160, 67, 0.25)"
                if column.name in best and value == best[column.name] else "" for value in column]

    config = {"model": st.column_config.TextColumn("Model"), "method": st.column_config.TextColumn("Method"),
              "seconds": st.column_config.NumberColumn("Time (s)", help="Seconds the method took on this model."),
              **{m: st.column_config.NumberColumn(
                  f"{METRICS[m].label} ({METRICS[m].unit})",
                  help=f"{METRICS[m].what_it_measures} Better: {METRICS[m].direction}.") for m in ids}}
    st.dataframe(frame.style.apply(mark, subset=list(best)).format(precision=3, na_rep="—"),
                 column_config=config, hide_index=True)
    st.caption("Highlighted: each metric's best value over the grid. A header's help says what the metric measures; "
               "a click on it sorts by it. The same table is the CSV download.")


def _agreement(columns: list[Column], k_percent: int) -> None:
    """Spearman and top-k% IoU between the maps of one model (picked when several have two maps or more)."""
    st.subheader("Do the methods agree?")
    usable = {col.model_id: done for col in columns
              if len(done := [c for c in col.cells if c.explanation is not None]) >= 2}
    if not usable:
        st.caption("Agreement compares two maps or more of one model: choose more methods.")
        return
    model_id = next(iter(usable)) if len(usable) == 1 else st.selectbox(
        "Agreement between the methods of", list(usable), key="grid:agreement")
    done = usable[model_id]
    maps = np.stack([c.explanation.map for c in done])
    names = [METHODS[c.method].name for c in done]
    for place, (title, matrix, limits) in zip(st.columns(2), agreement(maps, k_percent)):
        place.vega_lite_chart(spec=matrix_spec(matrix, names, title, limits), width="content")
    st.caption(f"`{model_id}`. Spearman: do two maps rank the points in the same order (1: the same, 0: unrelated, "
               f"−1: reversed)? IoU: how much of their top {k_percent}% the two maps share (1: all of it).")


def _curves(cells: list[Cell], several: bool) -> None:
    """Every deletion and insertion curve: a panel per kind, a colour per map; hover for values, click a legend
    entry to pick one map."""
    done = [c for c in cells if c.curves]
    if not done:
        return
    st.subheader("Deletion and insertion")
    series = curve_series([(c.method, c.model_id, c.curves) for c in done], several)
    st.vega_lite_chart(spec=curves_spec(series, "share of the input changed, most relevant first",
                                        "probability of the explained class"), width="content")
    st.caption(" ".join(f"{METRICS[m].name}: {METRICS[m].what_it_measures}" for m in done[0].curves)
               + " Click a map in the legend to pick its curves (shift-click for more).")


def _downloads(input_name: str, cells: list[Cell], pictures: dict[str, np.ndarray]) -> None:
    a, b, c = st.columns(3)
    a.download_button("Every map (.npz)", maps_npz(cells), f"{input_name}_maps.npz", key="grid:maps",
                      help="One model__method.npy per map: raw float32 at the model's input size, not normalised.")
    overlays = zip_files({f"{name}.png": encode_png(picture) for name, picture in pictures.items()})
    b.download_button("Every overlay (.zip of .png)", overlays, f"{input_name}_overlays.zip", "application/zip",
                      key="grid:overlays",
                      help="model__method.png, as drawn here: scale, outlines and opacity.")
    c.download_button("All metrics (.csv)", metrics_csv(cells), f"{input_name}_metrics.csv", "text/csv",
                      key="grid:metrics", help="One row per model x method: seconds, then each metric by id.")


REPORT = "grid:built-report"  # session state: (what the report is of, its PDF, its ZIP)


def _report(sel: Selection, columns: list[Column]) -> None:
    """The report as a PDF and a ZIP (maps, overlays, metrics, grounded text, manifest), built in memory on
    request and kept for this grid; a generated case has no file to reproduce it from, so it gets none."""
    st.subheader("Report")
    if sel.file is None:
        st.caption("A report needs a file to make the maps again from: pick a sample file or upload one.")
        return
    done = [c for col in columns for c in col.cells if c.explanation is not None]
    key = (sel.file[0], sel.request, [(c.name, sorted(c.scores.items()), c.sanity and c.sanity["check"]) for c in done])
    if st.button("Build the report", key="grid:build", help=(
            "Every map (.npy), overlay (.png) and metric (.csv), a paragraph that states only what the numbers "
            "say, and manifest.json: with the input file, `python xai_models.py reproduce REPORT.zip --input "
            "FILE` makes every map again and reports any difference.")):
        st.session_state[REPORT] = (key, *_report_files(sel, columns, done))
    built = st.session_state.get(REPORT)
    if built is not None and built[0] == key:
        a, b = st.columns(2)
        a.download_button("Report (.pdf)", built[1], f"{sel.input_name}_report.pdf", "application/pdf",
                          key="grid:report-pdf")
        b.download_button("Report with maps and manifest (.zip)", built[2], f"{sel.input_name}_report.zip",
                          "application/zip", key="grid:report-zip")


def _report_files(sel: Selection, columns: list[Column], done: list[Cell]) -> tuple[bytes, bytes]:
    from workbench.report import Analysis, build_report, report_files, report_pdf

    name, data = sel.file
    models = [get_model(col.model_id, sel.revision if col.model_id == sel.model_id else None)
              for col in columns if any(c.explanation is not None for c in col.cells)]
    analysis = Analysis(sel.task.id, name, data, None if sel.windows is None else sel.window, sel.request.label,
                        sel.request.component, [c.explanation for c in done], models)
    sanity = {(c.model_id, c.method): bool(c.sanity["passed"]) for c in done if c.sanity is not None}
    check = next((c.sanity["check"] for c in done if c.sanity is not None), None)  # one switch: one check per grid
    with st.spinner("Building the report…"):
        report = build_report(analysis, [c.scores for c in done], {c.model_id: c.truth for c in columns}, sanity,
                              [c.curves for c in done], sanity_check=check)
        return report_pdf(report), zip_files(report_files(report), deflate=True)
