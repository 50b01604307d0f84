"""Comparison tab: every method side by side on one colour scale, with the ground truth."""

from __future__ import annotations

import streamlit as st

from views.services import get_scores
from views.sidebar import Selection
from workbench.arrays import content_hash
from workbench.methods import METHODS, Explanation
from workbench.metrics import METRICS
from workbench.render import base_picture, colourbar, explanation_picture, with_axes
from workbench.service import explain_request

PER_ROW = 4


def render(sel: Selection, results: list[Explanation]) -> None:
    if not results:
        st.info("Choose methods in the sidebar and press **Run**.")
        return
    axes = sel.picture.axes
    tiles = [(with_axes(base_picture(sel.picture, sel.truth), axes),
              "Input" + (" + ground truth" if sel.truth is not None else ""))]
    for e in results:
        picture, scale = explanation_picture(sel.picture, e.map, sel.truth)
        scores = "".join(f" · {METRICS[m].name} {'↑' if METRICS[m].higher_is_better else '↓'} {value:.2f}"
                         for m, value in get_scores(sel.model_id, sel.revision, _request_key(sel, e),
                                                    content_hash(sel.truth), e, sel.x, sel.truth).items())
        tiles.append((with_axes(picture, axes),
                      f"{METHODS[e.method].name} · {e.seconds:.2f} s · ±{scale:.3g}{scores}"))
    for start in range(0, len(tiles), PER_ROW):
        for col, (picture, caption) in zip(st.columns(PER_ROW), tiles[start:start + PER_ROW]):
            col.image(picture, caption=caption, width="stretch")
    st.image(colourbar(), caption="Shared scale: −1 (lowers the score) … 0 … +1 (raises it), "
             "each map divided by its ±value above", width=320)
    if sel.truth is not None:
        st.caption("Green outline: ground truth. " + " ".join(
            f"{m.name}: {m.what_it_measures}" for m in METRICS.values() if "ground_truth" in m.needs))


def _request_key(sel: Selection, e: Explanation) -> str:
    """The explanation's own cache key: what made it (model revision, input, method, parameters, seed, target)."""
    return explain_request(sel.model, sel.x, e.method, e.target, e.params, e.seed).key
