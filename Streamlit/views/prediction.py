"""Prediction tab: the model's class probabilities for the current input."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from views.sidebar import Selection


def render(sel: Selection) -> None:
    pred = sel.prediction
    left, right = st.columns([1, 2])
    with left:
        st.image(sel.raw, caption=f"{sel.input_name} (as uploaded)", clamp=True, width="stretch")
    with right:
        st.metric("Predicted class", pred.label, f"p = {pred.probabilities[pred.label]:.3f}")
        table = pd.DataFrame({"class": list(pred.probabilities),
                              "probability": list(pred.probabilities.values())})
        st.bar_chart(table, x="class", y="probability", horizontal=True)
        st.dataframe(table, hide_index=True, width="stretch")
        info = sel.model.info
        st.caption(f"Model `{info.id}` ({info.framework}, {info.architecture}), revision "
                   f"`{info.revision[:12]}`, {info.source}. Input: {info.input.height}×{info.input.width}, "
                   f"{info.input.channels} channel(s).")
    if info.card:
        with st.expander("Model card"):
            st.markdown(info.card)
