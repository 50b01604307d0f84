"""XAI workbench: pick a task, a model, an input and methods; compare explanations side by side.

Layout and session state only: each tab is a module in views/, computation lives in the
`workbench` library behind the caches in views/services.py.
"""

import workbench  # noqa: F401  (first: torch before anything that may load TensorFlow)

# isort: split
import streamlit as st
from views import comparison, explanations, prediction, sidebar

st.set_page_config(page_title="XAI Workbench", page_icon="🔬", layout="wide")
st.title("XAI Workbench")

selection = sidebar.render()
if selection is None:
    st.stop()

if selection.model.info.notice:
    st.warning(selection.model.info.notice)
for note in selection.notes:
    st.info(f"Input changed to fit the model: {note}")
results = explanations.results_for(selection)
tab_pred, tab_expl, tab_cmp = st.tabs(["Prediction", "Explanations", "Comparison"])
with tab_pred:
    prediction.render(selection)
with tab_expl:
    explanations.render(selection, results)
with tab_cmp:
    comparison.render(selection, results)
