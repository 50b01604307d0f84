"""Explanations tab: each method's overlay, with its time and the passes it ran."""

from __future__ import annotations

import io
import json

import numpy as np
import streamlit as st

from views.services import get_explanation
from views.sidebar import PREDICTED, Selection
from workbench.methods import METHODS, Explanation
from workbench.render import encode_png, explanation_picture, with_axes
from workbench.service import explain_request, target_for
from workbench.tasks.audio import listen


def results_for(sel: Selection) -> list[Explanation]:
    """Explanations for the last Run (from the cache when the same request was made before)."""
    if sel.request is None:
        return []
    label = None if sel.request.target == PREDICTED else sel.request.target
    target = target_for(sel.model, sel.prediction, label, sel.request.component)
    requests = [explain_request(sel.model, sel.x, m, target, params, sel.request.seed)
                for m, params in sel.request.methods]
    cost = sum(METHODS[r.method].cost(sel.model, sel.x, json.loads(r.params_json)).passes for r in requests)
    out = []
    with st.status(f"Explaining with {len(requests)} method(s), about {cost} model passes…",
                   expanded=False) as status:
        for request in requests:
            status.update(label=f"{METHODS[request.method].name}…")
            out.append(get_explanation(sel.model_id, sel.revision, request.key, request, sel.x, target))
        status.update(label=f"{len(out)} explanation(s) ready", state="complete")
    return out


def render(sel: Selection, results: list[Explanation]) -> None:
    if not results:
        st.info("Choose methods in the sidebar and press **Run**.")
        return
    region = "" if sel.request.component is None else f", region {sel.request.component + 1}"
    st.caption(f"Explaining class **{results[0].target_label}**{region}. Red raises the score, blue lowers it.")
    fraction = None
    if sel.task.modality == "audio":
        fraction = st.slider("Listen to the top … % most relevant time-frequency bins", 1, 50, 20,
                             help="Each method's map picks the bins; the window is re-synthesised from "
                                  "them (with the input's phase), and from all the others.") / 100
    for e in results:
        method = METHODS[e.method]
        picture, scale = explanation_picture(sel.picture, e.map, sel.truth)
        picture = with_axes(picture, sel.picture.axes)
        left, right = st.columns([1, 2])
        with left:
            st.image(picture, caption=method.name, width="stretch")
        with right:
            st.subheader(method.name)
            st.write(method.what_it_shows)
            st.write(f"**{e.seconds:.3f} s**, {e.passes} passes ({e.counted.forward} forward, "
                     f"{e.counted.backward} backward); colour scale ±{scale:.3g}.")
            if fraction is not None:
                _listen(sel, e, fraction)
            st.json(e.summary(), expanded=False)
            stem = f"{sel.input_name}_{e.method}"
            a, b = st.columns(2)
            a.download_button("Raw map (.npy)", _npy_bytes(e.map), f"{stem}.npy", key=f"npy:{e.method}",
                              help="float32 at the model's input size, not normalised")
            b.download_button("Overlay (.png)", encode_png(picture), f"{stem}.png", key=f"png:{e.method}")


def _listen(sel: Selection, e: Explanation, fraction: float) -> None:
    top, rest = listen(sel.raw, e.map, sel.model.info.input, fraction)
    a, b = st.columns(2)
    a.caption(f"Only the top {fraction:.0%} of bins")
    a.audio(top, sample_rate=sel.task.sample_rate)
    b.caption(f"Everything but those {fraction:.0%}")
    b.audio(rest, sample_rate=sel.task.sample_rate)


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()
