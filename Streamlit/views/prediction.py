"""Prediction tab: the model's class probabilities, and whether the input is like its training data."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from views.sidebar import Selection
from workbench.models import OOD_MESSAGE, ClassPrediction


def render(sel: Selection) -> None:
    pred = sel.prediction
    info = sel.model.info
    left, right = st.columns([1, 2])
    with left:
        st.image(sel.raw if sel.task.modality == "image" else sel.picture.rgb,
                 caption=f"{sel.input_name} (as uploaded)", clamp=True, width="stretch")
    with right:
        shares = pred.probabilities if isinstance(pred, ClassPrediction) else pred.class_share
        st.metric("Predicted class", pred.label, f"p = {shares[pred.label]:.3f}")
        if pred.in_distribution is False:
            st.warning(f"{OOD_MESSAGE} (OOD score {pred.ood_score:.2f}; above 1 is out of distribution.)")
        elif pred.in_distribution is None:
            st.caption("This model ships no training statistics, so nothing tells whether the input is "
                       "like its training data.")
        else:
            st.caption(f"Input resembles the training data (OOD score {pred.ood_score:.2f} ≤ 1).")
        column = "probability" if isinstance(pred, ClassPrediction) else "pixel share"
        table = pd.DataFrame({"class": list(shares), column: list(shares.values())})
        st.bar_chart(table, x="class", y=column, horizontal=True)
        st.dataframe(table, hide_index=True, width="stretch")
        st.caption(f"Model `{info.id}` ({info.framework}, {info.architecture}), revision "
                   f"`{info.revision[:12]}`, {info.source}. Input: {info.input.height}×{info.input.width}, "
                   f"{info.input.channels} channel(s).")
    if info.card:
        with st.expander("Model card"):
            st.markdown(info.card)
