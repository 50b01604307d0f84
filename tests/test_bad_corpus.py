"""Every file of the bad-input corpus (tests/bad_corpus.py) through the CLI and the app: one clear line and exit
code 2 in the CLI, never a traceback and nothing written; in the app the same message, and the next good input
works with the user's choices kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import xai_models

from .bad_corpus import AUDIO_SAMPLE, LUNG_SAMPLE, PATHS, Bad, corpus, listing, png
from .conftest import BUNDLED, ROOT
from .test_app import images, new_app, tab

CORPUS = corpus()
AUDIO_MODEL = "audio_deepfake-resnet-compact"


def cli_args(bad: Bad, file, folder) -> list[str]:
    out = ["--out", str(folder / "out")]
    if bad.path in ("image", "dicom"):
        return ["--task", "lung_xray", "--model", BUNDLED, "--input", str(file), "--methods", "gradcam", *out]
    if bad.path == "audio":
        return ["--task", "audio_deepfake", "--model", AUDIO_MODEL, "--input", str(file), "--methods", "step_scores",
                *out]
    if bad.path == "truth":
        given = (["--task", "lung_xray", "--model", BUNDLED, "--input", str(LUNG_SAMPLE), "--methods", "gradcam"]
                 if bad.against == "lung" else ["--task", "audio_deepfake", "--model", AUDIO_MODEL, "--input",
                                                str(AUDIO_SAMPLE), "--methods", "step_scores"])
        return [*given, "--truth", str(file), *out]
    if bad.path == "npz":
        return ["evaluate", "--task", "lung_xray", "--model", BUNDLED, "--methods", "gradcam", "--n", "2", "--npz",
                str(file), "--csv", str(folder / "out")]
    if bad.path == "request":
        return [arg.replace("{file}", str(file)) for arg in bad.argv]
    if bad.path == "manifest":
        return ["reproduce", str(file), "--input", str(LUNG_SAMPLE)]
    picture = folder / "photo.png"
    picture.write_bytes(png(np.full((30, 40, 3), 120, np.uint8)))
    return ["--task", "hub_image", "--model", str(file), "--input", str(picture), "--methods", "gradcam", *out]


def test_the_corpus_holds_every_input_path_and_its_listing_is_current():
    assert len(CORPUS) >= 60 and {b.path for b in CORPUS} == set(PATHS)
    assert len({(b.path, b.name) for b in CORPUS}) == len(CORPUS)
    assert (ROOT / "docs" / "bad_input.md").read_text() == listing() + "\n", "run: python -m tests.bad_corpus"


def use_speech_folder(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Read real speech from `folder`, as WORKBENCH_SPEECH_DIR sets it at start-up (the recordings are cached per
    folder, so what an earlier test of this process read is not served for this one)."""
    monkeypatch.setattr("workbench.data.speech.SPEECH_DIR", folder)


@pytest.mark.parametrize("path", PATHS)
def test_every_bad_file_exits_2_with_one_line_and_writes_nothing(path, tmp_path, capsys, monkeypatch):
    wrong = []
    for k, bad in enumerate(b for b in CORPUS if b.path == path):
        folder = tmp_path / str(k)
        folder.mkdir()
        made = bad.make(folder)
        if bad.speech:
            use_speech_folder(monkeypatch, made)
        args = cli_args(bad, made, folder)
        capsys.readouterr()  # what making the file printed (a library's progress bar)
        code = xai_models.main(args)
        out, err = capsys.readouterr()
        lines = err.strip().splitlines()
        if not (code == 2 and out == "" and len(lines) == 1 and bad.message in lines[0]):
            wrong.append((bad.name, code, err))
        if (folder / "out").exists():
            wrong.append((bad.name, "wrote output"))
    assert not wrong, wrong


def _upload(at: AppTest, label: str, name: str, data: bytes) -> AppTest:
    next(u for u in at.file_uploader if u.label == label).set_value((name, data, "application/octet-stream")).run()
    assert not at.exception, (name, at.exception)
    return at


def _app_with_upload(task: str) -> AppTest:
    at = new_app()
    if task != "lung_xray":
        next(s for s in at.sidebar.selectbox if s.label == "Task").set_value(task).run()
    next(r for r in at.sidebar.radio if r.label == "Input").set_value("Upload").run()
    return at


def _messages(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def _in_the_app(path: str) -> list[Bad]:
    return [b for b in CORPUS if b.path == path and b.app != "CLI only"]


def _uploaded(at: AppTest, label: str, bad: Bad, folder) -> list[str] | None:
    """The app's messages after the file is uploaded; None when the upload field does not take its type
    (the browser refuses it: AppTest would raise instead)."""
    uploader = next(u for u in at.file_uploader if u.label == label)
    accepted = {t.lstrip(".") for t in uploader.proto.type}
    if bad.app == "uploader":
        assert bad.name.rsplit(".", 1)[-1] not in accepted, bad.name
        return None
    _upload(at, label, bad.name, bad.make(folder).read_bytes())
    return _messages(at)


@pytest.mark.parametrize("path,task,good", [("image", "lung_xray", LUNG_SAMPLE), ("dicom", "lung_xray", LUNG_SAMPLE),
                                            ("audio", "audio_deepfake", AUDIO_SAMPLE)])
def test_every_bad_upload_gets_its_message_and_the_user_keeps_their_choices(path, task, good, tmp_path):
    at = _upload(_app_with_upload(task), "Input file", good.name, good.read_bytes())
    next(m for m in at.sidebar.multiselect if m.label == "XAI methods").set_value(["gradcam"]).run()
    wrong = []
    for bad in _in_the_app(path):
        shown = _uploaded(at, "Input file", bad, tmp_path)
        if not any("Cannot use this file: " in m and bad.message in m for m in shown):
            wrong.append((bad.name, shown))
    assert not wrong, wrong
    _upload(at, "Input file", good.name, good.read_bytes())
    assert not at.error and tab(at, "Prediction").get("metric"), "the good file is read and predicted"
    assert next(m for m in at.sidebar.multiselect if m.label == "XAI methods").value == ["gradcam"], "choice kept"


@pytest.mark.parametrize("against,task,given,good", [
    ("lung", "lung_xray", LUNG_SAMPLE, LUNG_SAMPLE.with_name("affected_01_mask.png")),
    ("audio", "audio_deepfake", AUDIO_SAMPLE, None)])
def test_every_bad_ground_truth_upload_gets_its_message_and_the_maps_still_run(against, task, given, good,
                                                                               tmp_path):
    at = _upload(_app_with_upload(task), "Input file", given.name, given.read_bytes())
    wrong = []
    for bad in (b for b in _in_the_app("truth") if b.against == against):
        shown = _uploaded(at, "Ground truth (optional)", bad, tmp_path)
        if shown is not None and not any("Cannot use this ground truth: " in m and bad.message in m for m in shown):
            wrong.append((bad.name, shown))
    assert not wrong, wrong
    run = next(b for b in at.sidebar.button if b.label == "Run")
    run.click().run()
    assert not at.exception and images(tab(at, "Comparison"))[0] == "Input", "the maps run, unscored"
    if good is not None:
        _upload(at, "Ground truth (optional)", good.name, good.read_bytes())
        assert not at.error
        next(b for b in at.sidebar.button if b.label == "Run").click().run()
        assert images(tab(at, "Comparison"))[0] == "Input + ground truth", "a good mask is drawn and scored"


def test_every_bad_medmnist_upload_gets_its_message(tmp_path):
    at = new_app()
    evaluation = tab(at, "Evaluation")
    next(r for r in evaluation.radio if r.label == "Cases").set_value("MedMNIST .npz file").run()
    next(m for m in tab(at, "Evaluation").multiselect if m.label == "Methods").set_value(["gradcam"]).run()
    wrong = []
    for bad in _in_the_app("npz"):
        _upload(at, "MedMNIST file (.npz)", bad.name, bad.make(tmp_path).read_bytes())
        next(b for b in tab(at, "Evaluation").button if b.label == "Run evaluation").click().run()
        assert not at.exception, (bad.name, at.exception)
        if not any(bad.message in e.value for e in tab(at, "Evaluation").error):
            wrong.append((bad.name, [e.value for e in tab(at, "Evaluation").error]))
    assert not wrong, wrong


def test_every_damaged_model_repo_gets_its_message_in_the_sidebar(tmp_path, server_env):
    server_env(WORKBENCH_LOCAL_MODELS="1", WORKBENCH_TRUST_PICKLE="1")  # the folders typed in; the pickle message
    at = new_app()
    next(s for s in at.sidebar.selectbox if s.label == "Task").set_value("hub_image").run()
    wrong = []
    for bad in _in_the_app("repo"):
        next(t for t in at.sidebar.text_input if t.label == "Hub repo id").input(str(bad.make(tmp_path))).run()
        assert not at.exception, (bad.name, at.exception)
        if not any("Could not load the model: " in m and bad.message in m for m in _messages(at)):
            wrong.append((bad.name, _messages(at)))
    assert not wrong, wrong


def test_a_missing_or_damaged_speech_folder_gets_its_message_in_the_evaluation_tab(tmp_path, monkeypatch):
    """The real speech the audio evaluation reads from ../shared, gone or damaged: a message, no traceback."""
    at = new_app()
    next(s for s in at.sidebar.selectbox if s.label == "Task").set_value("audio_deepfake").run()
    wrong = []
    for k, bad in enumerate(b for b in CORPUS if b.speech and b.app == "message"):
        (tmp_path / str(k)).mkdir()
        use_speech_folder(monkeypatch, bad.make(tmp_path / str(k)))
        next(n for n in tab(at, "Evaluation").number_input if n.label == "Number of cases (N)").set_value(1).run()
        next(b for b in tab(at, "Evaluation").button if b.label == "Run evaluation").click().run()
        assert not at.exception, (bad.name, at.exception)
        if not any(bad.message in e.value for e in tab(at, "Evaluation").error):
            wrong.append((bad.name, [e.value for e in tab(at, "Evaluation").error]))
    assert not wrong, wrong
