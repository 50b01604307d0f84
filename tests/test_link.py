"""A link to a view: the query string selects task, model, sample, methods, settings and seed when a session opens
on it (AppTest, the real app), bad values are left out with one note, and the address follows the choices."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from workbench.methods import METHODS

from .test_app import APP, images, tab

TASK, MODEL = "histopathology", "histopathology-resnet18-compact"


def opened(query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params.update(query)
    at.run()
    assert not at.exception, at.exception
    return at


def widget(elements, label: str):
    return next(w for w in elements if w.label == label)


def test_a_link_selects_the_view_and_runs_it():
    samples = widget(opened({"task": TASK}).sidebar.selectbox, "Sample").options
    at = opened({"task": TASK, "model": MODEL, "sample": samples[1], "methods": "saliency,integrated_gradients",
                 "integrated_gradients.steps": "16", "seed": "7", "run": "1"})
    assert widget(at.sidebar.selectbox, "Task").value == TASK
    assert widget(at.sidebar.selectbox, "Model").value == MODEL
    assert widget(at.sidebar.selectbox, "Sample").value == samples[1]
    assert widget(at.sidebar.multiselect, "XAI methods").value == ["saliency", "integrated_gradients"]
    assert widget(at.sidebar.number_input, "steps").value == 16
    assert widget(at.sidebar.number_input, "Seed").value == 7
    assert not any("left out" in i.value for i in at.info), [i.value for i in at.info]
    names = [c.split(" · ")[0] for c in images(tab(at, "Comparison")) if " · " in c]
    assert names[:2] == [METHODS["saliency"].name, METHODS["integrated_gradients"].name], "run at once, in order"
    want = {"task": TASK, "model": MODEL, "sample": samples[1], "methods": "saliency,integrated_gradients",
            "integrated_gradients.steps": "16", "seed": "7"}
    assert dict(at.query_params) == want, "the address holds the view (run=1 only in the offered link)"


def test_bad_values_are_left_out_with_one_note_and_the_rest_applies():
    at = opened({"task": TASK, "model": "no-such-model", "methods": "gradcam,nope", "seed": "-3",
                 "integrated_gradients.steps": "9999", "lime.samples": "ten", "colour": "red"})
    assert widget(at.sidebar.selectbox, "Task").value == TASK, "the good part applies"
    assert widget(at.sidebar.multiselect, "XAI methods").value == ["gradcam"]
    assert widget(at.sidebar.number_input, "Seed").value == 0
    notes = [i.value for i in at.info if i.value.startswith("Parts of the link were left out")]
    assert len(notes) == 1, [i.value for i in at.info]
    for part in ("model=no-such-model", "nope", "seed=-3", "colour"):
        assert part in notes[0], (part, notes[0])
    assert not at.error, [e.value for e in at.error]
    assert not any("left out" in i.value for i in opened({"task": TASK}).info), "a good link: no note"


def test_an_unknown_task_opens_the_first_with_a_note():
    at = opened({"task": "<script>alert(1)</script>"})
    assert widget(at.sidebar.selectbox, "Task").value == "lung_xray"
    assert any("task=<script>alert(1)</script> is not offered here" in i.value for i in at.info)
