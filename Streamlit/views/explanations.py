"""Explanations tab: each method's overlay, with what it shows, its pitfall, its time and the passes it ran."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import streamlit as st

from views.caches import cost_of, get_explanation, get_pass_seconds
from views.sidebar import STOP, Selection, seconds_text
from workbench.errors import InputError, ModelError, user_message
from workbench.io.writers import npy_bytes
from workbench.jobs import CHEAP_SECONDS
from workbench.methods import METHODS, Explanation
from workbench.models import ModelAdapter, Target
from workbench.render import encode_png, explanation_picture, with_axes
from workbench.service import RATES, check_budget, explain_request, target_for
from workbench.settings import server_settings
from workbench.tasks.listening import listen

SLOW_SECONDS = 1.0  # a method estimated to take longer shows a progress bar while it runs


def results_for(sel: Selection) -> list[Explanation]:
    """Explanations for the last Run (from the cache when the same request was made before)."""
    if sel.request is None:
        return []
    target = target_for(sel.model, sel.prediction, sel.request.label, sel.request.component)
    return explain_all(sel.model_id, sel.revision, sel.model, sel.x, target, sel.request.methods, sel.request.seed)[0]


def explain_all(model_id: str, revision: str | None, model: ModelAdapter, x: np.ndarray, target: Target,
                methods: Sequence[tuple[str, dict]], seed: int, who: str = "") -> tuple[list[Explanation], dict]:
    """Each (method, parameters) through the explanation cache, inside a status that says the passes and seconds
    expected; a slow method shows a progress bar. `who` names a model other than the sidebar's. A method that
    fails (a model raising mid-run) gets a message and no map; the others stand, and as a failure is not cached,
    the next Run tries it again. Returns the explanations and, by method id, why each failed one failed."""
    timed = get_pass_seconds(model_id, revision, model.key, x)
    runs = [(explain_request(model, x, m, target, params, seed), cost_of(model, x, m, params).passes)
            for m, params in methods]
    expected = {r.method: p * RATES.seconds_per_pass(model.key, r.method, timed) for r, p in runs}
    passes = sum(p for _, p in runs)
    out, failed = [], {}
    try:
        check_budget(x, passes, server_settings().max_passes)
    except InputError as err:
        st.error(f"{who}Not run: {err}")
        return out, {request.method: str(err) for request, _ in runs}
    slow = any(s > SLOW_SECONDS for s in expected.values())
    stop = st.empty()
    if slow:  # pressed, it reruns the page: the run ends at its next batch and the sidebar drops the request
        stop.button("Stop", key=f"{STOP}{who}", help="Ends this run within a batch of model passes; the maps "
                    "finished so far are kept, and Run computes only the rest.")
    with st.status(f"{who}Explaining with {len(runs)} method(s), {passes:,} model passes, "
                   f"{seconds_text(sum(expected.values()))}…", expanded=slow) as status:
        for request, method_passes in runs:
            name, seconds = METHODS[request.method].name, expected[request.method]
            # `expanded` again: an update without it folds a fresh status away, progress bar and all
            status.update(label=f"{who}{name}: {method_passes:,} passes, {seconds_text(seconds)}…", expanded=slow)
            label = f"{name}: {method_passes:,} passes, {seconds_text(seconds)};" if seconds > SLOW_SECONDS else None
            try:
                out.append(get_explanation(model_id, revision, request.key, request, x, target, label,
                                           seconds > CHEAP_SECONDS))
            except (InputError, ModelError) as err:
                failed[request.method] = str(err)
            except Exception as err:  # noqa: BLE001 - a model or library failing mid-run ends this map, not the page
                failed[request.method] = user_message(err)
        status.update(label=f"{who}{len(out)} explanation(s) ready" + (f", {len(failed)} failed" if failed else ""),
                      state="error" if failed else "complete", expanded=False)
    stop.empty()
    for method_id, why in failed.items():
        st.error(f"{who}{METHODS[method_id].name} failed: {why.rstrip('.')}. The other maps are shown; press Run to "
                 "try it again.")
    return out, failed


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
            st.markdown(f"**Watch out:** {method.watch_out}")
            st.write(f"**{e.seconds:.3f} s**, {e.passes} passes ({e.counted.forward} forward, "
                     f"{e.counted.backward} backward); colour scale ±{scale:.3g}.")
            if fraction is not None:
                _listen(sel, e, fraction)
            st.json(e.summary(), expanded=False)
            stem = f"{sel.input_name}_{e.method}"
            a, b = st.columns(2)
            a.download_button("Raw map (.npy)", npy_bytes(e.map), f"{stem}.npy", key=f"npy:{e.method}",
                              help="float32 at the model's input size, not normalised")
            b.download_button("Overlay (.png)", encode_png(picture), f"{stem}.png", key=f"png:{e.method}")


def _listen(sel: Selection, e: Explanation, fraction: float) -> None:
    top, rest = listen(sel.raw, e.map, sel.model.info.input, fraction)
    a, b = st.columns(2)
    a.caption(f"Only the top {fraction:.0%} of bins")
    a.audio(top, sample_rate=sel.task.sample_rate)
    b.caption(f"Everything but those {fraction:.0%}")
    b.audio(rest, sample_rate=sel.task.sample_rate)

