"""Explanations tab: each method's overlay, with its time and cost."""

from __future__ import annotations

import io
import json

import numpy as np
import streamlit as st

from views.services import get_explanation
from views.sidebar import PREDICTED, Selection
from workbench.render import explanation_picture, png_bytes
from xai_models import METHODS, Explanation


def target_index(sel: Selection) -> int:
    if sel.request.target == PREDICTED:
        return sel.prediction.class_index
    return sel.model.info.labels.index(sel.request.target)


def results_for(sel: Selection) -> list[Explanation]:
    """Explanations for the last Run (from the cache when the same request was made before)."""
    if sel.request is None:
        return []
    class_index = target_index(sel)
    out = []
    todo = sel.request.methods
    cost = sum(METHODS[m].cost(sel.model, sel.x, METHODS[m].resolve_params(sel.model, json.loads(p))).passes
               for m, p in todo)
    with st.status(f"Explaining with {len(todo)} method(s), about {cost} model passes…",
                   expanded=False) as status:
        for method_id, params_json in todo:
            status.update(label=f"{METHODS[method_id].name}…")
            out.append(get_explanation(sel.model_id, sel.revision, sel.model.key, sel.x_hash, sel.x,
                                       method_id, params_json, sel.request.seed, class_index))
        status.update(label=f"{len(out)} explanation(s) ready", state="complete")
    return out


def render(sel: Selection, results: list[Explanation]) -> None:
    if not results:
        st.info("Choose methods in the sidebar and press **Run**.")
        return
    size = (sel.model.info.input.height, sel.model.info.input.width)
    label = sel.model.info.labels[results[0].target]
    st.caption(f"Explaining class **{label}**. Red raises the score, blue lowers it.")
    for e in results:
        method = METHODS[e.method]
        picture, scale = explanation_picture(sel.raw, e.map, size)
        left, right = st.columns([1, 2])
        with left:
            st.image(picture, caption=method.name, width="stretch")
        with right:
            st.subheader(method.name)
            st.write(method.what_it_shows)
            st.write(f"**{e.seconds:.3f} s**, {e.passes} passes ({e.cost.forward} forward, "
                     f"{e.cost.backward} backward); colour scale ±{scale:.3g}.")
            st.json(e.summary(), expanded=False)
            stem = f"{sel.input_name}_{e.method}"
            a, b = st.columns(2)
            a.download_button("Raw map (.npy)", _npy_bytes(e.map), f"{stem}.npy", key=f"npy:{e.method}",
                              help="float32 at the model's input size, not normalised")
            b.download_button("Overlay (.png)", png_bytes(picture), f"{stem}.png", key=f"png:{e.method}")


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()
