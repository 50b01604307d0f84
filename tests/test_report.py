"""Reports (issue 19): the ZIP, its manifest, `xai_models.py reproduce`, and the grounded text.

Oracles: the maps the CLI wrote (reproduction must give them back bit for bit, stochastic methods included),
a map changed on purpose by a known amount, sha256 computed here with hashlib, and small cases worked by hand.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import numpy as np
import pytest

import xai_models
from workbench.methods import METHODS
from workbench.models import ClassPrediction, Target
from workbench.report.text import agreement_sentence, distribution_sentence, grounded_text, mass_in_region

from .conftest import BUNDLED, ROOT

SAMPLE = ROOT / "sample_files" / "lung_xray" / "affected_01.png"
ALL = "gradcam,gradcam_pp,normgrad_o0,normgrad_o1,saliency,integrated_gradients,smoothgrad,occlusion,lime,kernel_shap"
# Every method, the costly ones at small settings: the settings are recorded and reproduced as they are.
CHEAP = ["--param", "lime.samples=40", "--param", "kernel_shap.samples=40", "--param", "smoothgrad.samples=4",
         "--param", "integrated_gradients.steps=8", "--param", "occlusion.stride_height=16",
         "--param", "occlusion.stride_width=16"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    path = folder / "report.zip"
    assert xai_models.main(["--task", "lung_xray", "--model", BUNDLED, "--input", str(SAMPLE), "--methods",
                            ALL,
                            "--truth", str(SAMPLE.with_name("affected_01_mask.png")), "--zip", str(path),
                            "--seed", "3", *CHEAP]) == 0
    return path


def read(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_zip_holds_every_map_overlay_the_metrics_the_text_and_a_manifest_that_checks_them(report):
    files = read(report)
    manifest = json.loads(files["manifest.json"])
    methods = [m["method"] for m in manifest["maps"]]
    assert len(methods) == 10
    for m in methods:
        values = np.load(io.BytesIO(files[f"maps/{BUNDLED}__{m}.npy"]))
        entry = next(e for e in manifest["maps"] if e["method"] == m)
        assert entry["map"]["sha256"] == hashlib.sha256(values.astype(np.float32).tobytes()).hexdigest()
        assert entry["map"]["max"] == pytest.approx(float(values.max()))
        assert entry["map"]["sum"] == pytest.approx(float(values.astype(np.float64).sum()), rel=1e-6)
        assert files[f"overlays/{BUNDLED}__{m}.png"].startswith(b"\x89PNG")
        # the seed asked for, or 0 for a method that draws nothing from it (the same map, served from one request)
        assert entry["seed"] == (3 if METHODS[entry["method"]].stochastic else 0)
        assert entry["passes"] == entry["forward"] + entry["backward"] > 0
    assert next(e for e in manifest["maps"] if e["method"] == "lime")["params"]["samples"] == 40
    assert manifest["input"] == {"name": SAMPLE.name, "sha256": hashlib.sha256(SAMPLE.read_bytes()).hexdigest(),
                                 "window": None}
    (model,) = manifest["models"]
    weights = ROOT / "models" / BUNDLED / "model.safetensors"
    assert model["weights"] == {"file": "model.safetensors", "sha256": hashlib.sha256(weights.read_bytes()).hexdigest()}
    assert manifest["versions"]["numpy"] == np.__version__ and manifest["trusted"] == []
    rows = files["metrics.csv"].decode().splitlines()
    assert rows[0].startswith("model,method,seconds,passes,pointing_game") and len(rows) == 11
    assert f"`{BUNDLED}` predicts affected" in files["explanation.txt"].decode()


def test_reproduce_gives_every_map_back_exactly_stochastic_ones_included(report, capsys):
    assert xai_models.main(["reproduce", str(report), "--input", str(SAMPLE), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["max_difference"] == 0.0 and len(result["maps"]) == 10
    assert all(m["identical"] and m["same_target"] and m["compared_with"] == "map" for m in result["maps"])


def test_a_changed_map_shows_its_difference_and_the_manifest_alone_checks_by_digest(report, tmp_path, capsys):
    """A report whose LIME map was changed by 0.5 at one point: that map's difference is 0.5. The manifest
    without the maps beside it is checked against each map's digest: identical, difference 0."""
    files = read(report)
    name = f"maps/{BUNDLED}__lime.npy"
    changed = np.load(io.BytesIO(files[name]))
    changed[5, 7] += 0.5
    buf = io.BytesIO()
    np.save(buf, changed)
    files[name] = buf.getvalue()
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(tampered, "w") as archive:
        for n, data in files.items():
            archive.writestr(n, data)
    assert xai_models.main(["reproduce", str(tampered), "--input", str(SAMPLE), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    lime = next(m for m in result["maps"] if m["method"] == "lime")
    assert lime["max_difference"] == pytest.approx(0.5, abs=1e-6) and result["max_difference"] == lime["max_difference"]
    (tmp_path / "manifest.json").write_bytes(files["manifest.json"])
    assert xai_models.main(["reproduce", str(tmp_path / "manifest.json"), "--input", str(SAMPLE), "--json"]) == 0
    alone = json.loads(capsys.readouterr().out)
    assert alone["max_difference"] == 0.0 and {m["compared_with"] for m in alone["maps"]} == {"summary"}


def test_an_audio_report_holds_what_each_map_keeps_and_leaves_as_sound(audio_model_dir, tmp_path):
    """The top 20% and the rest of each map's window as WAVs, and a PDF with the spectrogram."""
    import soundfile

    clip = ROOT / "sample_files" / "audio_deepfake" / "spoof_tts_01.wav"
    path = tmp_path / "audio.zip"
    assert xai_models.main(["--task", "audio_deepfake", "--model", str(audio_model_dir), "--input", str(clip),
                            "--methods", "gradcam", "--zip", str(path), "--report", str(tmp_path / "a.pdf")]) == 0
    assert (tmp_path / "a.pdf").read_bytes().startswith(b"%PDF")
    files = read(path)
    manifest = json.loads(files["manifest.json"])
    assert manifest["input"]["window"] is not None
    stem = f"audio/{manifest['maps'][0]['model']}__gradcam"
    top, rate = soundfile.read(io.BytesIO(files[f"{stem}_top20%.wav"]), dtype="float32")
    rest, _ = soundfile.read(io.BytesIO(files[f"{stem}_rest.wav"]), dtype="float32")
    assert rate == 16_000 and top.shape == rest.shape and np.abs(top).max() > 0 and np.abs(rest).max() > 0
    assert xai_models.main(["reproduce", str(path), "--input", str(clip)]) == 0


# -- the grounded text: every sentence from its numbers ------------------------------------------------------

def test_the_mass_of_the_top_tenth_on_a_region_by_hand():
    """10 x 10 map: its top 10 points are 5 inside the region at 3.0 and 5 outside at 1.0, so 15 of 20."""
    values = np.zeros((10, 10))
    region = np.zeros((10, 10), bool)
    region[0, :5] = True
    values[0, :5] = 3.0
    values[9, :5] = 1.0
    assert mass_in_region(values, region) == pytest.approx(0.75)
    assert mass_in_region(-np.ones((10, 10)), region) == 0.0, "no positive mass: none of it is on the region"


def _explanation(method: str, values: np.ndarray):
    from workbench.methods import Explanation
    from workbench.models import PassCount

    return Explanation(method, values.astype(np.float32), False, Target(1), "affected", {}, 0, PassCount(), 0.1,
                       "m", "r", "h")


def test_a_changed_number_changes_its_sentence():
    a = np.arange(16.0).reshape(4, 4)
    truth = np.zeros((4, 4), bool)
    truth[3] = True  # the top 10% (2 points, 15 and 14) lie on it
    for p, ood in ((0.91, 0.62), (0.67, 1.7)):
        prediction = ClassPrediction({"normal": 1 - p, "affected": p}, ood <= 1, ood, 1)
        sentences = grounded_text("m", prediction, [_explanation("gradcam", a), _explanation("saliency", -a)],
                                  truth, {"gradcam": True, "saliency": p > 0.8})
        text = " ".join(s.text for s in sentences)
        assert f"predicts affected with probability {p:.2f}" in text
        assert f"score {ood:.2f}" in text and ("unlike" in text) == (ood > 1)
        assert "Grad-CAM: 100% of the mass of its top 10% lies on the ground truth." in text
        assert "Saliency: 0% of the mass" in text
        assert "rank the input's points with a Spearman correlation of -1.00" in text
        assert ("Saliency failed the sanity check" in text) == (p < 0.8)
    assert distribution_sentence(ClassPrediction({"a": 1.0}, None, None, 0)).numbers == {}
    three = agreement_sentence([_explanation("gradcam", a), _explanation("saliency", 2 * a),
                                _explanation("smoothgrad", -a)])
    assert three.numbers == {"spearman_max": pytest.approx(1.0), "spearman_min": pytest.approx(-1.0)}


# -- the PDF: rendered to pictures and read back as text ------------------------------------------------------

LONG = "a-lung-model-folder-whose-name-is-far-too-long-to-fit-on-one-line-of-the-report-heading-at-all"


@pytest.fixture(scope="module")
def pdf_pages(tmp_path_factory):
    """A PDF report of four methods on a local copy of the bundled model under a very long name, its pages
    rendered at 40 dpi by pdftoppm and its text read by pdftotext (Debian poppler-utils)."""
    import shutil
    import subprocess

    from PIL import Image

    folder = tmp_path_factory.mktemp("pdf")
    model = folder / LONG
    shutil.copytree(ROOT / "models" / BUNDLED, model)
    pdf = folder / "report.pdf"
    assert xai_models.main(["--task", "lung_xray", "--model", str(model), "--input", str(SAMPLE), "--methods",
                            "gradcam,saliency,integrated_gradients,smoothgrad", "--truth",
                            str(SAMPLE.with_name("affected_01_mask.png")), "--report", str(pdf), "--sanity", "emprt",
                            "--param", "integrated_gradients.steps=8", "--param", "smoothgrad.samples=4"]) == 0
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(folder / "page")], check=True)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    pages = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.glob("page-*.png"))]
    return pages, text


def test_the_pdf_shows_the_maps_and_figures_and_no_text_runs_off_the_page(pdf_pages):
    """A4 at 40 dpi is 331 x 468 px; the 10 mm margins are 16 px. Every page's right margin stays white
    (nothing cut or overflowing); the pages hold coloured pixels (the overlays, the colour bar, the curves)."""
    pages, _ = pdf_pages
    assert 1 <= len(pages) <= 4
    for page in pages:
        assert page.shape[:2] == (468, 331)
        assert (page[:, -14:] > 245).all(), "the right margin is blank"
    coloured = sum(int((np.ptp(page.astype(int), axis=2) > 60).sum()) for page in pages)
    assert coloured > 2000, "the overlays, colour bar and figures are drawn"


def test_the_pdf_says_what_the_numbers_say_and_wraps_a_long_model_id(pdf_pages):
    _, text = pdf_pages
    flat = "".join(text.split())
    assert LONG in flat, "the whole id is there, over several lines"
    assert LONG not in text, "it did not fit on one line: it wrapped"
    for phrase in ("predicts affected with probability", "Metrics", "Deletion AUC (↓)", "Insertion AUC (↑)",
                   "sanity check (eMPRT)", "the sanity check (Efficient MPRT (eMPRT))",
                   "Deletion and insertion", "Agreement between the methods",
                   "What the numbers say", "of the mass of its top 10% lies on the ground truth"):
        assert "".join(phrase.split()) in flat, phrase
