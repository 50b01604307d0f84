"""XAI workbench: pick a task, a model, an input and methods; compare explanations side by side.

Layout and session state only: each tab is a module in views/, computation lives in the
`workbench` library behind the caches in views/caches.py.
"""

import streamlit as st
from views import caches, sidebar

from workbench.interrupt import interruptible
from workbench.settings import configure_logging

configure_logging()  # the `workbench` logger to the server's stderr, at WORKBENCH_LOG_LEVEL (warnings)
st.set_page_config(page_title="XAI Workbench", page_icon="🔬", layout="wide")
st.title("XAI Workbench")

# Stop, a closed tab or a newer rerun ends a run between batches; at DEBUG the server logs what each rerun cost
with interruptible(caches.stop_point), caches.logged("rerun"):
    selection = sidebar.render()
    sidebar.show_server_settings()
    if selection is None:
        st.stop()

    # Imported once the sidebar is drawn: it appears without waiting for what only the tabs use (pandas,
    # matplotlib, scipy); benchmarks/bench_startup.py measures that wait.
    from views import comparison, evaluation, explanations, performance, prediction  # noqa: E402

    if selection.model.info.notice:
        st.warning(selection.model.info.notice)
    for note in selection.notes:
        st.info(f"Input changed to fit the model: {note}")
    results = explanations.results_for(selection)
    tab_pred, tab_expl, tab_cmp, tab_eval, tab_perf = st.tabs(
        ["Prediction", "Explanations", "Comparison", "Evaluation", "Model performance"])
    with tab_pred:
        prediction.render(selection)
    with tab_expl:
        explanations.render(selection, results)
    with tab_cmp:
        comparison.render(selection, results)
    with tab_eval:
        evaluation.render(selection)
    with tab_perf:
        performance.render(selection)
    sidebar.show_costs(selection)  # last: it times a model pass the first time
