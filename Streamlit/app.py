"""XAI workbench: pick a task, a model, an input and methods; compare explanations side by side.

Layout and session state only; each tab is a module in views/, computation lives in the root
modules (inference.py, xai_models.py) behind the caches in views/services.py.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for path in (HERE.parent, HERE):  # the repo root (contracts) and this folder (views)
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import streamlit as st
import torch  # noqa: F401  (torch before TensorFlow, see environment.md)
import torch._dynamo  # noqa: F401
from views import comparison, explanations, prediction, sidebar

st.set_page_config(page_title="XAI Workbench", page_icon="🔬", layout="wide")
st.title("XAI Workbench")

selection = sidebar.render()
if selection is None:
    st.stop()

results = explanations.results_for(selection)
tab_pred, tab_expl, tab_cmp = st.tabs(["Prediction", "Explanations", "Comparison"])
with tab_pred:
    prediction.render(selection)
with tab_expl:
    explanations.render(selection, results)
with tab_cmp:
    comparison.render(selection, results)
