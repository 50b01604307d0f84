"""Prediction tab: the model's class probabilities, and whether the input is like its training data."""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from views.caches import bundled_models, get_model, get_prediction, get_window
from views.sidebar import Selection
from workbench.errors import InputError, ModelError
from workbench.models import OOD_MESSAGE, ClassPrediction
from workbench.render import base_picture, class_colours, segmentation_picture, with_axes
from workbench.service import input_hash


def render(sel: Selection) -> None:
    pred = sel.prediction
    info = sel.model.info
    left, right = st.columns([1, 2])
    with left:
        if sel.task.modality == "image":
            st.image(sel.raw, caption=f"{sel.input_name} (as uploaded)", clamp=True, width="stretch")
        else:
            _audio(sel)
        if not isinstance(pred, ClassPrediction):
            st.image(segmentation_picture(sel.picture, pred.mask, truth=sel.truth), width="stretch",
                     caption="Predicted classes" + (" (green outline: ground truth)" if sel.truth is not None
                                                    else ""))
            # a repo's labels are its author's text: escaped, so no HTML of theirs runs in the page
            st.markdown(" ".join(f"<span style='color:rgb{c}'>■</span> {html.escape(label)}" for label, c in
                                 list(zip(info.labels, class_colours(len(info.labels))))[1:]),
                        unsafe_allow_html=True)
    with right:
        shares = pred.probabilities if isinstance(pred, ClassPrediction) else pred.class_share
        if sel.windows is not None:  # the clip rule decides however many windows there are
            st.metric("Clip verdict", sel.windows.label, f"decided by window {sel.windows.deciding}",
                      delta_color="off")
            st.caption(f"Rule: {sel.windows.rule}. This clip: {sel.windows.reason}.")
        if isinstance(pred, ClassPrediction):
            st.metric("Predicted class" if sel.windows is None else f"Window {sel.window}", pred.label,
                      f"p = {shares[pred.label]:.3f}")
            if info.threshold is not None:
                st.caption(f"Operating point: `{info.threshold.label}` from p ≥ {info.threshold.probability:.3f}, "
                           f"chosen on validation data; probabilities calibrated (temperature "
                           f"{info.temperature:.2f}).")
        else:
            read_outs = sel.task.assess(pred.mask)
            for column, (name, value) in zip(st.columns(max(len(read_outs), 1)), read_outs.items()):
                column.metric(name.capitalize(), value)
        if pred.in_distribution is False:
            st.warning(f"{OOD_MESSAGE} (OOD score {pred.ood_score:.2f}; above 1 is out of distribution.)")
            for model_id, score in _in_distribution_elsewhere(sel):
                st.info(f"`{model_id}` finds this input like its training data (OOD score {score:.2f}): choose "
                        "it under **Model** in the sidebar.")
        elif pred.in_distribution is None:
            st.caption("This model ships no training statistics, so nothing tells whether the input is "
                       "like its training data.")
        else:
            st.caption(f"Input resembles the training data (OOD score {pred.ood_score:.2f} ≤ 1).")
        column = "probability" if isinstance(pred, ClassPrediction) else "pixel share"
        table = pd.DataFrame({"class": list(shares), column: list(shares.values())})
        st.bar_chart(table, x="class", y=column, horizontal=True)
        st.dataframe(table, hide_index=True, width="stretch")
        revision = info.revision if info.source == "hub" else info.revision[:12]  # a Hub commit in full
        st.caption(f"Model `{info.id}` ({info.framework}, {info.architecture}), revision "
                   f"`{revision}`, {info.source}. Input: {info.input.height}×{info.input.width}, "
                   f"{info.input.channels} channel(s).")
    if info.card:
        with st.expander("Model card"):
            st.markdown(info.card, unsafe_allow_html=False)  # a repo's HTML is shown as text, never run


def _in_distribution_elsewhere(sel: Selection) -> list[tuple[str, float]]:
    """The task's other bundled models that find this input like their training data, with their OOD scores:
    where the chosen model says its answer means little, one that has seen such inputs may not. Each model
    scores the input once (the app's caches); a model that cannot take it is passed over."""
    found = []
    for info in bundled_models(sel.task.id):
        if info.id == sel.model_id:
            continue
        try:
            model = get_model(info.id, None)
            _, x, _ = get_window(sel.task, info.id, None, model, sel.clip, sel.clip_hash,
                                 None if sel.windows is None else sel.window)
            pred = get_prediction(info.id, None, model.key, input_hash(x), x)
        except (InputError, ModelError):
            continue
        if pred.in_distribution:
            found.append((info.id, pred.ood_score))
    return found


def _audio(sel: Selection) -> None:
    """The window as a spectrogram with real axes (and the spoofed span when known), and as sound."""
    span = " (green: the spoofed span)" if sel.truth is not None else ""
    st.image(with_axes(base_picture(sel.picture, sel.truth), sel.picture.axes),
             caption=f"{sel.input_name}: log-mel spectrogram of the window{span}", width="stretch")
    st.audio(sel.raw, sample_rate=sel.task.sample_rate)
    if sel.windows is not None and len(sel.windows.spans) > 1:
        labels = sel.model.info.labels
        st.dataframe(pd.DataFrame([{"window": k, "start (s)": a, "end (s)": b,
                                    **{lab: float(p) for lab, p in zip(labels, probs)}}
                                   for k, ((a, b), probs) in enumerate(zip(sel.windows.spans,
                                                                           sel.windows.probabilities))]),
                     hide_index=True, width="stretch")
