"""The real Streamlit app, driven through AppTest: every tab, the cache, bad uploads."""

from __future__ import annotations

import io
import json
import re
import sys

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from workbench.methods import FAMILIES, METHODS

from .conftest import BURST, ROOT, burst_clip, needs_speech

APP = str(ROOT / "Streamlit" / "app.py")


def new_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    return at


def tab(at: AppTest, label: str):
    return next(t for t in at.tabs if t.label == label)


def images(block) -> list[str]:
    return [caption for img in block.image for caption in img.captions]


def press_run(at: AppTest) -> AppTest:
    next(b for b in at.sidebar.button if b.label == "Run").click().run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="module")
def ran() -> AppTest:
    """The app on its defaults (first task, bundled model, first sample), Run pressed once."""
    at = new_app()
    return press_run(at)


def test_sidebar_is_built_from_the_registries(ran):
    sidebar_labels = [w.label for w in ran.sidebar.selectbox]
    assert {"Task", "Model", "Sample", "Explain"} <= set(sidebar_labels)
    methods = next(m for m in ran.sidebar.multiselect if m.label == "XAI methods")
    assert set(methods.options) >= {"Grad-CAM", "Integrated Gradients", "Occlusion"}
    assert methods.value == ["gradcam", "integrated_gradients", "saliency"], "the lung X-ray task's defaults"
    # widgets from each selected method's parameter spec
    numbers = {w.label for w in ran.sidebar.number_input}
    assert "steps" in numbers
    hidden = ("step_scores", "deeplift", "lrp")  # the ResNet runs a ReLU twice and has Identity shortcuts
    assert set(methods.options) == {m.name for m in METHODS.values() if m.id not in hidden}
    by_name = {m.name: m for m in METHODS.values()}
    families = [by_name[name].family for name in methods.options]
    assert families == sorted(families, key=FAMILIES.index), "listed by family"
    not_offered = [c.value for c in ran.sidebar.caption if c.value.startswith("Not offered:")]
    assert not_offered[0] == (f"Not offered: {METHODS['step_scores'].name}: the model has no per-step head: its "
                              "config names no step-score layer."), "a hidden method says why, in one line"
    assert [c.split(":")[1].strip() for c in not_offered] == [METHODS[m].name for m in hidden]


def test_prediction_tab_shows_probabilities(ran):
    pred = tab(ran, "Prediction")
    metric = pred.get("metric")[0]
    assert metric.proto.label == "Predicted class" and metric.proto.body in ("normal", "affected")
    assert pred.get("arrow_data_frame") or pred.dataframe


def test_explanations_tab_shows_each_method_with_its_time(ran):
    expl = tab(ran, "Explanations")
    assert images(expl) == ["Grad-CAM", "Integrated Gradients", "Saliency"]
    text = " ".join(m.value for m in expl.markdown)
    assert " s**" in text and "passes" in text


def test_each_result_and_each_settings_panel_says_what_the_method_shows_and_what_to_watch_out_for(ran):
    expl = tab(ran, "Explanations")
    shown = [m.value for m in expl.markdown]
    sidebar = [c.value for c in ran.sidebar.caption]
    for mid in ("gradcam", "integrated_gradients", "saliency"):
        method = METHODS[mid]
        assert method.what_it_shows in shown and f"**Watch out:** {method.watch_out}" in shown, mid
        assert method.what_it_shows in sidebar and f"Watch out: {method.watch_out}" in sidebar, mid


def test_the_cost_before_a_run_is_the_passes_then_counted_and_seconds_from_the_pass_time(ran):
    """The settings panel's estimate (passes, and seconds = passes x the pass time) against what the adapter
    counted when the method ran."""
    panel = next(e for e in ran.sidebar.expander if e.label == "Integrated Gradients settings")
    caption = next(c.value for c in panel.caption if c.value.startswith("Cost: "))
    found = re.fullmatch(r"Cost: (\d+) forward \+ (\d+) backward passes, about ([\d.]+) s here "
                         r"\(([\d.]+) ms a pass, (learned from its runs|one pass timed) on this model\)\.", caption)
    assert found, caption
    forward, backward, seconds, per_pass_ms = int(found[1]), int(found[2]), float(found[3]), float(found[4])
    counted = next(json.loads(j.proto.body) for j in tab(ran, "Explanations").get("json")
                   if json.loads(j.proto.body)["method"] == "integrated_gradients")
    assert (forward, backward) == (counted["forward"], counted["backward"])
    assert per_pass_ms > 0
    assert abs(seconds - (forward + backward) * per_pass_ms / 1000) <= 0.005 + 0.0005 * (forward + backward)


def test_after_one_run_the_estimate_is_that_runs_time_per_pass():
    """A seeded method run once, from a forgotten estimate: the sidebar's seconds a pass become the run's own
    (its record's seconds over its counted passes), where before they came from one timed pass."""
    from workbench.service import RATES

    RATES.forget()
    at = new_app()
    next(m for m in at.sidebar.multiselect if m.label == "XAI methods").set_value(["smoothgrad"]).run()
    panel = next(e for e in at.sidebar.expander if e.label == "SmoothGrad settings")
    assert any("one pass timed on this model" in c.value for c in panel.caption)
    next(n for n in at.sidebar.number_input if n.label == "Seed").set_value(48_611).run()
    press_run(at)
    record = json.loads(tab(at, "Explanations").get("json")[0].proto.body)
    panel = next(e for e in at.sidebar.expander if e.label == "SmoothGrad settings")
    caption = next(c.value for c in panel.caption if c.value.startswith("Cost: "))
    found = re.search(r"\(([\d.]+) ms a pass, learned from its runs on this model\)", caption)
    assert found, caption
    passes = record["forward"] + record["backward"]
    assert float(found[1]) == pytest.approx(1000 * record["seconds"] / passes, abs=0.006 + 0.1 / passes)


def test_comparison_tab_puts_methods_side_by_side(ran):
    """One model: its maps in one row of columns, each on its own colour scale by default."""
    names = ("Grad-CAM", "Integrated Gradients", "Saliency")
    rows = [block for block in tab(ran, "Comparison").columns
            if any(c.split(" · ")[0] in names for c in images(block))]
    assert len(rows) == 3 and [images(r)[0].split(" · ")[0] for r in rows] == list(names), "one place a map"
    assert next(r for r in ran.radio if r.label == "Colour scale").value == "Each map its own scale"


def test_rerun_with_same_request_is_served_from_cache(ran):
    """Nothing computed again: no cache missed, and (counted where they happen) no model pass and no decode."""
    from workbench import events

    caches = sys.modules["views.caches"]
    before, counted = dict(caches.COMPUTED), events.snapshot()
    ran.run()
    press_run(ran)
    assert caches.COMPUTED["explanations"] == before["explanations"]
    assert caches.COMPUTED["scores"] == before["scores"], "the maps' scores (deletion, insertion...) are cached too"
    happened = events.since(counted)
    assert (happened["passes"], happened["decodes"]) == (0, 0), happened
    assert images(tab(ran, "Explanations")) == ["Grad-CAM", "Integrated Gradients", "Saliency"]
    table = next(d.value for d in tab(ran, "Comparison").dataframe if "deletion_auc" in d.value.columns)
    assert table[["deletion_auc", "insertion_auc"]].notna().all().all()


def test_changing_a_parameter_recomputes_only_that_method_and_not_the_prediction():
    """Its own app (the module's `ran` stays on the defaults for the tests after this one); the first Run is
    served from the caches `ran` filled, then only Integrated Gradients runs again, with its new steps."""
    from workbench import events

    at = press_run(new_app())
    caches = sys.modules["views.caches"]
    before, counted = dict(caches.COMPUTED), events.snapshot()
    steps = next(w for w in at.sidebar.number_input if w.label == "steps")
    steps.set_value(8).run()
    press_run(at)
    assert caches.COMPUTED["explanations"] == before["explanations"] + 1
    assert caches.COMPUTED["predictions"] == before["predictions"], "the prediction comes from its cache"
    records = {r["method"]: r for r in (json.loads(j.proto.body) for j in tab(at, "Explanations").get("json"))}
    assert records["integrated_gradients"]["params"]["steps"] == 8
    happened = events.since(counted)
    assert happened["decodes"] == 0 and happened["passes"] >= records["integrated_gradients"]["passes"] > 0


def test_prediction_says_the_sample_is_like_the_training_data(ran):
    pred = tab(ran, "Prediction")
    assert not pred.warning
    assert any("resembles the training data" in c.value for c in pred.caption)


def test_an_input_unlike_the_training_data_is_flagged_beside_the_prediction(samples_dir):
    inverted = 255 - np.asarray(Image.open(samples_dir / "normal_01.png"))
    buf = io.BytesIO()
    Image.fromarray(inverted).save(buf, "PNG")
    at = _upload(new_app(), "inverted.png", buf.getvalue())
    warnings = [w.value for w in tab(at, "Prediction").warning]
    assert any("This input is unlike the data the model was trained on; its prediction and explanations "
               "mean little." in w for w in warnings)


def test_sample_with_ground_truth_draws_its_outline():
    at = new_app()
    sample = next(s for s in at.sidebar.selectbox if s.label == "Sample")
    sample.set_value("affected_01").run()
    press_run(at)
    cmp = tab(at, "Comparison")
    assert any("Green outline: ground truth" in c.value for c in cmp.caption)
    assert images(tab(at, "Prediction"))[0].startswith("affected_01")


def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    next(r for r in at.sidebar.radio if r.label == "Input").set_value("Upload").run()
    at.file_uploader[0].set_value((name, data, "image/png")).run()
    assert not at.exception, at.exception
    return at


def test_hub_model_that_cannot_be_fetched_is_explained(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    at = new_app()
    next(r for r in at.sidebar.radio if r.label == "Model source").set_value("Hugging Face Hub").run()
    next(t for t in at.sidebar.text_input if t.label == "Hub repo id").input("someone/absent-model").run()
    assert not at.exception
    assert any("Could not load the model" in e.value for e in at.error)


def test_explanations_can_be_downloaded_as_raw_maps(ran):
    labels = [b.label for b in tab(ran, "Explanations").get("download_button")]
    assert labels.count("Raw map (.npy)") == 3 and labels.count("Overlay (.png)") == 3


def test_upload_accepts_every_listed_type_and_a_dicom_film_works():
    from .corpus import ok_cases

    at = new_app()
    next(r for r in at.sidebar.radio if r.label == "Input").set_value("Upload").run()
    accepted = {t.lstrip(".") for t in at.file_uploader[0].proto.type}
    assert accepted >= {"png", "jpg", "jpeg", "tif", "tiff", "bmp", "gif", "webp", "dcm", "dicom"}
    dicom = next(c for c in ok_cases() if c.name == "ct_window.dcm")
    at.file_uploader[0].set_value(("film.dcm", dicom.data, "application/dicom")).run()
    assert not at.exception and not at.error
    assert tab(at, "Prediction").get("metric")[0].proto.body in ("normal", "affected")


def test_histopathology_task_runs_end_to_end_with_its_ground_truth():
    at = new_app()
    next(s for s in at.sidebar.selectbox if s.label == "Task").set_value("histopathology").run()
    assert not at.exception
    model = next(s for s in at.sidebar.selectbox if s.label == "Model")
    assert model.value == "histopathology-resnet18-compact"
    methods = next(m for m in at.sidebar.multiselect if m.label == "XAI methods")
    assert methods.value == ["gradcam", "integrated_gradients", "saliency"], "the task's defaults"
    next(s for s in at.sidebar.selectbox if s.label == "Sample").set_value("LYM_01").run()
    press_run(at)
    assert tab(at, "Prediction").get("metric")[0].proto.body == "LYM"
    assert images(tab(at, "Comparison"))[0] == "Input + ground truth"
    assert images(tab(at, "Explanations")) == ["Grad-CAM", "Integrated Gradients", "Saliency"]


def test_iqa_segmentation_shows_mask_quality_and_explains_one_region():
    at = new_app()
    next(s for s in at.sidebar.selectbox if s.label == "Task").set_value("iqa_segmentation").run()
    assert not at.exception
    next(s for s in at.sidebar.selectbox if s.label == "Sample").set_value("chest_04").run()
    pred = tab(at, "Prediction")
    metrics = {m.proto.label: m.proto.body for m in pred.get("metric")}
    assert set(metrics) == {"Quality score", "Grade"} and metrics["Grade"] in ("good", "acceptable", "poor")
    assert any(c.startswith("Predicted classes (green outline: ground truth)") for c in images(pred))
    region = next(s for s in at.sidebar.selectbox if s.label == "Region")
    assert region.options[0].startswith("all predicted 'object_over_lungs' pixels")
    assert len(region.options) >= 3, "chest_04 has two separate objects over the lungs"
    methods = next(m for m in at.sidebar.multiselect if m.label == "XAI methods")
    assert methods.value == ["gradcam", "integrated_gradients"], "the segmentation task's defaults"
    methods.set_value(["gradcam"]).run()
    press_run(at)
    whole = json.loads(tab(at, "Explanations").get("json")[0].proto.body)["target"]
    assert whole["label"] == "object_over_lungs"
    next(s for s in at.sidebar.selectbox if s.label == "Region").set_value(0).run()
    press_run(at)
    expl = tab(at, "Explanations")
    assert "region 1" in " ".join(c.value for c in expl.caption)
    one = json.loads(expl.get("json")[0].proto.body)["target"]
    assert 0 < one["region_pixels"] < whole["region_pixels"] and one["region"] != whole["region"]


def test_shortcut_model_is_labelled_as_a_model_that_cheats():
    at = new_app()
    next(s for s in at.sidebar.selectbox if s.label == "Model").set_value("lung_xray-resnet-shortcut").run()
    assert not at.exception
    assert any("cheats, on purpose" in w.value for w in at.warning)


def _audio_app(sample: str, model_dir, server_env) -> AppTest:
    """The audio task with a model folder typed where a Hub repo id goes (a tiny random Keras model), on a server
    that allows model folders (WORKBENCH_LOCAL_MODELS=1)."""
    server_env(WORKBENCH_LOCAL_MODELS="1")
    at = new_app()
    next(s for s in at.sidebar.selectbox if s.label == "Task").set_value("audio_deepfake").run()
    assert not at.exception
    next(r for r in at.sidebar.radio if r.label == "Model source").set_value("Hugging Face Hub").run()
    next(t for t in at.sidebar.text_input if t.label == "Hub repo id").input(str(model_dir)).run()
    assert not at.exception and not at.error
    next(s for s in at.sidebar.selectbox if s.label == "Sample").set_value(sample).run()
    assert not at.exception
    return at


def test_audio_clip_is_scored_window_by_window_explained_and_can_be_listened_to(audio_model_dir, server_env):
    at = _audio_app("spoof_tts_long_04", audio_model_dir, server_env)
    radio = next(r for r in at.sidebar.radio if r.label == "Input")
    assert "Microphone" in radio.options
    window = next(s for s in at.sidebar.selectbox if s.label == "Window")
    assert len(window.options) == 4, "a 15.7 s clip is four 4 s windows"
    pred = tab(at, "Prediction")
    metrics = {m.proto.label: m.proto.body for m in pred.get("metric")}
    assert metrics["Clip verdict"] in ("bonafide", "spoof")
    assert len(pred.get("audio")) == 1 and pred.dataframe[0].value.shape[0] == 4
    next(m for m in at.sidebar.multiselect if m.label == "XAI methods").set_value(["gradcam", "saliency"]).run()
    press_run(at)
    expl = tab(at, "Explanations")
    assert images(expl) == ["Grad-CAM", "Saliency"]
    assert len(expl.get("audio")) == 4, "each method: the top bins and the rest"
    next(s for s in at.sidebar.selectbox if s.label == "Window").set_value(0).run()
    assert not at.exception


def test_an_uploaded_bad_audio_clip_gets_a_message_and_a_stereo_one_a_note(audio_model_dir, server_env):
    at = _audio_app("spoof_tts_01", audio_model_dir, server_env)
    next(r for r in at.sidebar.radio if r.label == "Input").set_value("Upload").run()
    silent = io.BytesIO()
    import soundfile

    soundfile.write(silent, np.zeros(8000, np.float32), 16000, format="WAV")
    at.file_uploader[0].set_value(("silent.wav", silent.getvalue(), "audio/wav")).run()
    assert not at.exception and any("is silent" in e.value for e in at.error)
    stereo = io.BytesIO()
    t = np.arange(44100 * 2) / 44100
    soundfile.write(stereo, np.stack([0.3 * np.sin(2 * np.pi * 200 * t)] * 2, 1), 44100, format="FLAC")
    at.file_uploader[0].set_value(("stereo.flac", stereo.getvalue(), "audio/flac")).run()
    assert not at.exception and not at.error
    assert any("mixed down to mono" in i.value for i in at.info)


def test_an_uploaded_span_is_moved_into_the_chosen_window_or_noted_and_left_out(audio_model_dir, server_env):
    """The CLI's rule in the app (docs/inputs.md): a span in clip seconds is scored in the chosen window's time, and
    one that misses the window gets one visible note and the maps run unscored. The input-intensity map peaks on
    the burst (5-5.5 s, window 1), so window 1's hit needs the span moved by the window's start."""
    at = _audio_app("spoof_tts_01", audio_model_dir, server_env)
    next(r for r in at.sidebar.radio if r.label == "Input").set_value("Upload").run()
    at.file_uploader[0].set_value(("clip.wav", burst_clip(), "audio/wav")).run()
    truth = json.dumps({"span": list(BURST)}).encode()
    next(u for u in at.file_uploader if u.label == "Ground truth (optional)").set_value(
        ("span.json", truth, "application/json")).run()
    assert not at.exception and not at.error
    next(m for m in at.sidebar.multiselect if m.label == "XAI methods").set_value(["baseline_intensity"]).run()
    note = ("The ground-truth span 5-5.5 s lies outside the explained window 0 (0-4 s of the clip), so the maps are "
            "scored without ground truth.")
    for window in (1, 0):
        next(s for s in at.sidebar.selectbox if s.label == "Window").set_value(window).run()
        press_run(at)
        tables = [d.value for d in tab(at, "Comparison").dataframe if "method" in d.value.columns]
        assert len(tables) == 1, "the scores table"
        notes = [i.value for i in at.info if "ground-truth span" in i.value]
        if window == 1:
            assert not notes and tables[0]["pointing_game"].tolist() == [1.0], tables[0]
        else:
            assert notes == [note]
            assert "pointing_game" not in tables[0].columns and "deletion_auc" in tables[0].columns, tables[0]


@needs_speech
def test_a_generated_partial_spoof_shows_its_span_and_every_map_is_scored_against_it():
    """The bundled ResNet on a held-out partial spoof generated in memory: the span is drawn, the
    default methods include the model's own step scores, and each map gets its localisation scores.
    The step scores were trained to mark the span, so they rank it well (at least 0.75 rank accuracy, the peak
    inside); a span-blind map would score the span's share of the window (0.36)."""
    at = new_app()
    next(s for s in at.sidebar.selectbox if s.label == "Task").set_value("audio_deepfake").run()
    next(s for s in at.sidebar.selectbox if s.label == "Model").set_value("audio_deepfake-resnet-compact").run()
    sample = next(s for s in at.sidebar.selectbox if s.label == "Sample")
    case = next(o for o in sample.options if o.startswith("spoof_partial_1"))
    assert any(o.startswith("bonafide_twin_1") for o in sample.options)
    sample.set_value(case).run()
    assert not at.exception and any("nothing is saved" in c.value for c in at.sidebar.caption)
    assert any("green: the spoofed span" in c for c in images(tab(at, "Prediction")))
    methods = next(m for m in at.sidebar.multiselect if m.label == "XAI methods")
    assert methods.value == ["step_scores", "gradcam", "integrated_gradients"], "the audio task's defaults"
    methods.set_value(["gradcam", "step_scores"]).run()
    press_run(at)
    captions = images(tab(at, "Comparison"))
    scored = {c.split(" · ")[0]: c for c in captions if " · " in c}
    assert set(scored) == {"Grad-CAM", "Step scores (the model's own)"}
    assert all("Pointing game ↑" in c for c in scored.values())
    table = next(d.value for d in tab(at, "Comparison").dataframe if "rank_accuracy" in d.value.columns)
    assert table[["pointing_game", "rank_accuracy"]].notna().all().all(), "every map scored against the span"
    steps = table.set_index("method").loc["Step scores (the model's own)"]
    assert steps["rank_accuracy"] >= 0.75 and steps["pointing_game"] == 1.0


def test_several_layers_are_chosen_in_a_multiselect_and_explained_together():
    """NormGrad's "layers" parameter: a multiselect of the model's layers, its default preselected; the run
    combines the chosen ones (the explanation's record), and another model offers its own layers."""
    at = new_app()
    next(m for m in at.sidebar.multiselect if m.label == "XAI methods").set_value(["normgrad_o0"]).run()
    layers = next(m for m in at.sidebar.multiselect if m.label == "layers")
    model = next(s for s in at.sidebar.selectbox if s.label == "Model").value
    from workbench.models import load_model

    names = load_model(model).layers()
    stages = list(load_model(model).info.stages)
    assert layers.options == names and layers.value == (stages or [names[0]])
    layers.set_value(names[:2]).run()
    press_run(at)
    record = json.loads(tab(at, "Explanations").get("json")[0].proto.body)
    assert record["params"]["layers"] == names[:2] and record["combined_layers"] == 2
    next(s for s in at.sidebar.selectbox if s.label == "Model").set_value("lung_xray-resnet-compact").run()
    layers = next(m for m in at.sidebar.multiselect if m.label == "layers")
    assert layers.value == ["layer1", "layer2", "layer3", "layer4"], "the config's stages after the stem"


def test_a_slow_method_runs_with_its_progress_bar_and_a_cache_hit_replays_cleanly():
    """Occlusion at its defaults (31 x 31 positions) is estimated at seconds: the run's status holds the progress
    bar, drawn inside the cached computation and emptied when it ends. Streamlit replays it on the next, cached
    rerun: no error, nothing recomputed, nothing left over."""
    at = new_app()
    next(m for m in at.sidebar.multiselect if m.label == "XAI methods").set_value(["occlusion"]).run()
    from workbench import events

    caches = sys.modules["views.caches"]
    before = caches.COMPUTED["explanations"]
    for _ in range(2):
        counted = events.snapshot()
        press_run(at)
        status = next(n for n in at.main.children.values() if n.type == "status")
        assert status.proto.label == "1 explanation(s) ready"
        assert [c.type for c in status.children.values()] == ["empty"], "the bar, emptied"
        assert images(tab(at, "Explanations")) == ["Occlusion"]
    assert caches.COMPUTED["explanations"] == before + 1
    assert events.since(counted)["passes"] == 0, "the cached rerun ran no model pass"


def test_a_model_that_fails_mid_run_gets_a_message_and_the_next_run_works(monkeypatch):
    """The model raises in the middle of the Run, in Integrated Gradients' gradients (Grad-CAM done): that map gets a
    message, the other two stand, nothing is cached for it, and the next Run (the model well again)
    makes all three. The second run taking the model's lock at all shows the failed one left it free."""
    from workbench.models import TorchAdapter

    real, calls = TorchAdapter.input_gradients, []

    def fails_once_mid_run(self, batch, target):
        if len(batch) > 1:  # Integrated Gradients' batch of path points (Saliency's has one input)
            calls.append(len(batch))
            if len(calls) == 1:
                raise RuntimeError("injected fault: the model failed mid-run")
        return real(self, batch, target)

    at = new_app()  # the page drawn (its pass timing uses a gradient too), then the fault armed
    # 40 steps: a request no other test makes, so it is computed here, not served from the cache
    next(n for n in at.sidebar.number_input if n.key == "param:integrated_gradients:steps").set_value(40).run()
    monkeypatch.setattr(TorchAdapter, "input_gradients", fails_once_mid_run)
    press_run(at)
    assert [e.value for e in at.error] == ["Integrated Gradients failed: RuntimeError: injected fault: the model "
                                           "failed mid-run. The other maps are shown; press Run to try it again."]
    assert images(tab(at, "Explanations")) == ["Grad-CAM", "Saliency"]
    assert any("failed in this run" in i.value for i in tab(at, "Comparison").info), "its grid cell says why"
    press_run(at)
    assert not at.error and images(tab(at, "Explanations")) == ["Grad-CAM", "Integrated Gradients", "Saliency"]


@needs_speech
def test_held_out_speakers_recorded_by_microphone_phone_or_browser_are_called_bona_fide_by_the_default_detector():
    """Real read speech of LibriSpeech speakers training never heard, sent through the upload path as a user's
    recording arrives: the browser's microphone (a 48 kHz 16-bit WAV), a phone's voice memo (AAC in M4A at
    44.1 kHz) or a browser's recorder (Opus in WebM), to the task's default detector: the clip verdict is bona fide
    for at least four of the first five held-out speakers (on all 56 held-out recordings the card reports the
    rate, `benchmarks/formats.py` per format)."""
    import soundfile

    from workbench.data import speech
    from workbench.io.audio import encode_ffmpeg, resample

    from .bad_corpus import encode

    senders = [("wav", lambda x: encode(resample(x, 16_000, 48_000), 48_000, subtype="PCM_16")),
               ("m4a", lambda x: encode_ffmpeg(resample(x, 16_000, 44_100), 44_100, "ipod", "aac")),
               ("webm", lambda x: encode_ffmpeg(resample(x, 16_000, 48_000), 48_000, "webm", "libopus"))]
    at = new_app()
    next(s for s in at.sidebar.selectbox if s.label == "Task").set_value("audio_deepfake").run()
    next(r for r in at.sidebar.radio if r.label == "Input").set_value("Upload").run()
    accepted = {t.lstrip(".") for t in at.file_uploader[0].proto.type}
    assert accepted >= {"wav", "flac", "ogg", "opus", "mp3", "m4a", "aac", "webm"}, "the browser lets them through"
    verdicts = []
    for i, reader in enumerate(speech.librispeech_speakers("test")[:5]):
        path = next(speech.LIBRISPEECH_DIR.glob(f"{reader}-*.flac"))
        signal, rate = soundfile.read(path, dtype="float32")
        extension, send = senders[i % len(senders)]
        at.file_uploader[0].set_value((f"{reader}.{extension}", send(resample(signal, rate, 16_000)),
                                       f"audio/{extension}")).run()
        assert not at.exception and not at.error
        metrics = {m.proto.label: m.proto.body for m in tab(at, "Prediction").get("metric")}
        verdicts.append(metrics["Clip verdict"])
        assert any("Rule: a clip is spoof when its windows' pooled p(spoof)" in c.value and "This clip: pooled"
                   in c.value for c in tab(at, "Prediction").caption), "the rule and its numbers under the verdict"
    assert verdicts.count("bonafide") >= 4, verdicts
