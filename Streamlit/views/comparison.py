"""Comparison tab: a grid of methods (rows) x models (columns) on one colour scale, each map with its scores and
time; then how one model's methods agree, every deletion and insertion curve, and the downloads."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from views.grid import Column, Scoring, build_columns
from views.services import get_curves_picture, get_matrix_picture, get_model
from views.sidebar import Selection
from workbench.comparison import Cell, agreement, colour_scale, maps_npz, metrics_csv, zip_files
from workbench.methods import METHODS, Explanation
from workbench.methods.common import BASELINES
from workbench.metrics import METRICS
from workbench.metrics.localisation import top_fraction
from workbench.metrics.sanity import PASS_BELOW, STEPS
from workbench.models import ClassPrediction, Prediction
from workbench.render import (
    base_picture,
    colourbar,
    encode_png,
    explanation_picture,
    with_axes,
)

ROW, SHARED, OWN = "One scale per method (row)", "One scale for all maps", "Each map its own scale"
MIN_SLOTS = 3  # image columns share a row at least this wide: one model's pictures stay a readable size


def render(sel: Selection, results: list[Explanation]) -> None:
    if not results:
        st.info("Choose methods in the sidebar and press **Run**.")
        return
    check, base = st.columns([3, 1])
    sanity = check.checkbox("Sanity check each map (model randomisation)", key="grid:sanity", help=(
        "Adebayo et al. (2018): the layers of a copy of each model get random weights, from the top down, and the "
        f"method explains again at {STEPS} depths. A map that explains the model must change; one that stays "
        "shows the input, not what the model learned. Costs the method that many times again."))
    baseline = base.selectbox("Deletion/insertion baseline", BASELINES, key="grid:baseline", help=(
        "What replaces the removed points: black, the input's mean level, or a blurred copy of the input."))
    columns = build_columns(sel, results, Scoring(baseline, sanity))
    left, middle, right = st.columns(3)
    scaling = left.radio("Colour scale", [ROW, SHARED, OWN], key="grid:scale", help=(
        "Per method: a method's maps on every model share a scale (one method's values are in one unit), so the "
        "models compare cell by cell. All maps: the same colour is the same value in every cell, so a method with "
        "small values looks faint. Own scale: each map fills the colours, which shows its shape but not its size."))
    k_percent = middle.slider("Each map's top … %", 1, 50, 10, key="grid:top",
                              help="The points the top-k IoU counts, in the agreement matrix below too.")
    outlined = k_percent if middle.checkbox("Outline them on the maps", True, key="grid:outline") else None
    alpha = right.slider("Overlay opacity", 0.0, 1.0, 0.75, 0.05, key="grid:alpha")
    cells = [c for col in columns for c in col.cells]
    rows = [[col.cells[row] for col in columns] for row in range(len(sel.request.methods))]
    scales = _scales(rows, scaling)
    audio = sel.task.modality == "audio"
    _heads(columns, audio)
    pictures: dict[str, np.ndarray] = {}
    for row, (method_id, _) in enumerate(sel.request.methods):
        st.markdown(f"**{METHODS[method_id].name}**")
        for place, col in _places(columns, audio):
            with place:
                pictures |= _cell(col, col.cells[row], scales[row], outlined, alpha)
    _legend(columns, scaling, scales, outlined)
    if sanity:
        _sanity(cells)
    _agreement(columns, k_percent)
    _curves(cells, several=len(columns) > 1)
    _downloads(sel.input_name, cells, pictures)
    _report(sel, columns)


def _scales(rows: list[list[Cell]], scaling: str) -> list[float | None]:
    """Each row's colour scale: its own maps' largest |value|, the whole grid's, or None (each map its own)."""
    if scaling == OWN:
        return [None] * len(rows)
    per_row = [[c.explanation.map for c in row if c.explanation is not None] for row in rows]
    if scaling == SHARED:
        whole = colour_scale([m for maps in per_row for m in maps])
        return [whole] * len(rows)
    return [colour_scale(maps) for maps in per_row]


def _places(columns: list[Column], audio: bool) -> Iterator[tuple[DeltaGenerator, Column]]:
    """(place, model column), a row of places at a time: image columns side by side, a spectrogram alone in its
    row, wide enough to read its Hz and seconds axes."""
    per_row = 1 if audio else len(columns)
    slots = 1 if audio else max(per_row, MIN_SLOTS)
    for start in range(0, len(columns), per_row):
        yield from zip(st.columns(slots), columns[start:start + per_row])


def _heads(columns: list[Column], audio: bool) -> None:
    """Each column's head: the model, its prediction and the input as it sees it (its size, the truth on its
    grid). Side by side, the pictures take a row of their own, so that they line up whatever the text above."""
    for place, col in _places(columns, audio):
        _title(place, col)
        if audio:
            _input(place, col)
    if not audio:
        for place, col in _places(columns, audio):
            _input(place, col)


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


def _metric_label(metric_id: str) -> str:
    """A metric's name with an arrow for the direction in which it is better."""
    return f"{METRICS[metric_id].name} {'↑' if METRICS[metric_id].higher_is_better else '↓'}"


def _cell(col: Column, cell: Cell, scale: float | None, k_percent: int | None,
          alpha: float) -> dict[str, np.ndarray]:
    """One map with its outlines (its top `k_percent`, when given), time and scores, or why there is none;
    returns its picture by cell name."""
    name = METHODS[cell.method].name
    if cell.explanation is None:
        st.info(f"**{name}** does not run on `{cell.model_id}`: {cell.reason}")
        return {}
    e = cell.explanation
    top = None if k_percent is None else top_fraction(e.map[None], k_percent / 100)[0]
    picture, own = explanation_picture(col.picture, e.map, col.truth, scale=scale, alpha=alpha, top=top)
    picture = with_axes(picture, col.picture.axes)
    own_scale = f" · ±{own:.3g}" if scale is None else ""
    scores = "".join(f" · {_metric_label(m)} {value:.2f}" for m, value in cell.scores.items())
    st.image(picture, caption=f"{name} · {cell.model_id} · {e.seconds:.2f} s{own_scale}{scores}{_badge(cell)}",
             width="stretch")
    return {cell.name: picture}


def _badge(cell: Cell) -> str:
    if cell.sanity is None:
        return ""
    verdict = "✅ passes" if cell.sanity["passed"] else "⚠️ fails"
    return f" · Sanity {verdict} (|Spearman| {cell.sanity['final_abs_spearman']:.2f} with every layer random)"


def _sanity(cells: list[Cell]) -> None:
    """Each checked map's similarity to itself as more and more layers are randomised: the badge's evidence."""
    checked = [c for c in cells if c.sanity is not None]
    with st.expander("Sanity check, step by step"):
        st.dataframe([{"model": c.model_id, "method": METHODS[c.method].name, "layers random": s["layers_randomised"],
                       "down to": s["down_to"], "Spearman": s["spearman"], "SSIM": s["ssim"]}
                      for c in checked for s in c.sanity["steps"]], hide_index=True)
        st.caption(f"A method passes when, with every layer random, its map's |Spearman| with the original map is "
                   f"under {PASS_BELOW}.")


def _legend(columns: list[Column], scaling: str, scales: list[float | None], k_percent: int | None) -> None:
    if scaling == OWN:
        text = ("Colour scale: −1 … 0 … +1 times each map's own ±value (in its caption: the 99.5th percentile of "
                "its |values|). Compare colours within a map, not between maps.")
    elif scaling == SHARED:
        text = (f"Shared scale: one scale for all maps, −{scales[0]:.3g} (lowers the score) … 0 … +{scales[0]:.3g} "
                "(raises it), the largest |value| of any map in the grid: the same colour is the same value in every "
                "cell.")
    else:
        text = ("One scale per method: −s (lowers the score) … 0 … +s (raises it), s the largest |value| of the "
                "method's maps on every model (" + ", ".join(f"{s:.3g}" for s in scales if s is not None)
                + " by row): along a row, the same colour is the same value.")
    st.image(colourbar(), caption=text, width=320)
    notes = [] if k_percent is None else [f"Yellow outline: each map's top {k_percent}% (the points the top-k "
                                          "IoU counts)."]
    if any(col.truth is not None for col in columns):
        notes.append("Green outline: ground truth. " + " ".join(
            f"{m.name}: {m.what_it_measures}" for m in METRICS.values() if "ground_truth" in m.needs))
    st.caption(" ".join(notes))


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
        place.image(get_matrix_picture(matrix, tuple(names), title, tuple(limits)), width="content")
    st.caption(f"`{model_id}`. Spearman: do two maps rank the points in the same order (1: the same, 0: unrelated, "
               f"−1: reversed)? IoU: how much of their top {k_percent}% the two maps share (1: all of it).")


def _curves(cells: list[Cell], several: bool) -> None:
    """Every deletion and insertion curve in one plot: a colour per map, a line style per kind of curve."""
    done = [c for c in cells if c.curves]
    st.subheader("Deletion and insertion")
    series = {METHODS[c.method].name + (f" ({c.model_id})" if several else ""):
              {_metric_label(m): curve for m, curve in c.curves.items()} for c in done}
    st.image(get_curves_picture(series, "share of the input changed, most relevant first",
                            "probability of the explained class"), width="content")
    st.caption(" ".join(f"{METRICS[m].name}: {METRICS[m].what_it_measures}" for m in done[0].curves))


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
    key = (sel.file[0], sel.request, [(c.name, sorted(c.scores.items()), c.sanity is not None) for c in done])
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
    with st.spinner("Building the report…"):
        report = build_report(analysis, [c.scores for c in done], {c.model_id: c.truth for c in columns}, sanity,
                              [c.curves for c in done])
        return report_pdf(report), zip_files(report_files(report), deflate=True)
