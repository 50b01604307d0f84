"""Hub models in other libraries' formats (transformers ResNet and ViT, timm, Keras), their safety, and the download
path, all offline: tiny real models saved by each library, laid out as a Hugging Face cache or served by a local
stand-in for the Hub (tests/hub_server.py).

Oracles: each library's own preprocessing and forward pass, pytorch-grad-cam with a token reshape for the ViT's CAM,
the files a request log shows were fetched, and the shared method contract (tests/test_methods.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import huggingface_hub.constants
import numpy as np
import pytest
import torch
from PIL import Image

import xai_models
from workbench.errors import InputError, ModelError
from workbench.methods import METHODS, compatible_methods, hidden_methods
from workbench.models import Target, load_model, parse_model_ref
from workbench.service import check_model_task
from workbench.tasks import TASKS

from . import hub_repos
from .conftest import ROOT
from .hub_server import FakeHub
from .test_methods import assert_contract

HUB = TASKS["hub_image"]
KINDS = {"resnet": hub_repos.transformers_resnet, "vit": hub_repos.transformers_vit, "timm": hub_repos.timm_model,
         "keras": hub_repos.keras_model, "pickled": hub_repos.pickle_only}


@pytest.fixture(scope="module")
def repos(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("repos")
    return {name: make(root / name) for name, make in KINDS.items()}


@pytest.fixture
def cache(tmp_path, monkeypatch, repos):
    """Every repo cached as org/<kind> at COMMIT; the Hub unreachable (offline)."""
    for name, folder in repos.items():
        hub_repos.cache_repo(tmp_path / "hub", f"org/{name}", folder)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    return tmp_path / "hub"


def picture_input(model, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 picture at the model's size, the model input the hub_image task makes of it)."""
    h, w = model.info.input.size
    pixels = hub_repos.image(h, w, seed)
    return pixels, HUB.preprocess(pixels.astype(np.float32) / 255, model.info.input)


def test_model_references_parse():
    assert parse_model_ref("hub:org/name@v1.0") == ("org/name", "v1.0")
    assert parse_model_ref("hub:org/name", "main") == ("org/name", "main")
    assert parse_model_ref("lung_xray-resnet-compact") == ("lung_xray-resnet-compact", None)
    with pytest.raises(InputError, match="hub:ORG/NAME"):
        parse_model_ref("hub:not a repo")


def test_a_transformers_classifier_predicts_as_its_own_processor_and_model_do(cache, repos):
    from transformers import AutoImageProcessor, AutoModelForImageClassification

    model = load_model("hub:org/resnet")
    info = model.info
    assert (info.source, info.revision, info.task) == ("hub", hub_repos.COMMIT, "hub_image")
    assert info.labels == ("cat", "dog")
    assert info.target_layer == "model.resnet.encoder.stages.1", "the last feature map the score depends on"
    assert "<script>" in info.card and not info.card.startswith("---"), "the card without its YAML header"
    pixels, x = picture_input(model)
    processor = AutoImageProcessor.from_pretrained(repos["resnet"])
    reference_x = processor(images=Image.fromarray(pixels), return_tensors="pt")["pixel_values"]
    np.testing.assert_allclose(x, reference_x.numpy(), atol=1e-5)
    reference = AutoModelForImageClassification.from_pretrained(repos["resnet"]).eval()
    with torch.no_grad():
        probs = reference(pixel_values=reference_x).logits.softmax(-1).numpy()
    np.testing.assert_allclose(model.predict(x), probs, atol=1e-5)


def test_a_vit_grad_cam_equals_pytorch_grad_cams_with_a_token_reshape(cache):
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    model = load_model("hub:org/vit")
    layer = model.info.target_layer
    assert layer == "model.vit.layers.1.layernorm_before", "the last block's input, where patches still count"
    _, x = picture_input(model)
    ours = METHODS["gradcam"].explain(model, x, Target(2), {"layer": layer}).map

    def tokens_to_grid(t: torch.Tensor) -> torch.Tensor:  # pytorch-grad-cam's documented ViT recipe
        return t[:, 1:, :].reshape(t.size(0), 4, 4, t.size(2)).permute(0, 3, 1, 2)

    target_layer = dict(model.module.named_modules())[layer]
    with GradCAM(model=model.module, target_layers=[target_layer], reshape_transform=tokens_to_grid) as cam:
        ref = cam(input_tensor=torch.from_numpy(x), targets=[ClassifierOutputTarget(2)])[0]
    (scale, offset), *_ = np.linalg.lstsq(np.stack([ours.ravel(), np.ones(ours.size)], 1), ref.ravel(), rcond=None)
    assert scale > 0 and np.abs(ref).max() > 0
    np.testing.assert_allclose(scale * ours + offset, ref, atol=1e-4)


def test_a_timm_model_predicts_as_timm_builds_it(cache, repos):
    import timm
    from safetensors.torch import load_file

    model = load_model("hub:org/timm")
    assert model.info.labels == ("a", "b", "c", "d") and model.info.input.size == (32, 32)
    assert model.info.target_layer == "layer3", "the last stage with more than one cell (layer4 is 1 x 1 at 32 px)"
    reference = timm.create_model("test_resnet", pretrained=False, num_classes=4).eval()
    reference.load_state_dict(load_file(str(repos["timm"] / "model.safetensors")))
    pixels, x = picture_input(model)
    config = timm.data.resolve_data_config({}, model=reference)
    expected = (pixels.astype(np.float32) / 255 - np.array(config["mean"])) / np.array(config["std"])
    np.testing.assert_allclose(x[0], expected.transpose(2, 0, 1), atol=1e-5)
    with torch.no_grad():
        np.testing.assert_allclose(model.predict(x), reference(torch.from_numpy(x)).softmax(-1).numpy(), atol=1e-5)


def test_a_keras_file_predicts_as_keras_does(cache, repos):
    from workbench.models.keras_adapter import keras_module

    model = load_model("hub:org/keras")
    info = model.info
    assert (info.framework, info.labels, info.output, info.target_layer) == ("keras", ("left", "right"), "softmax",
                                                                             "conv")
    _, x = picture_input(model)
    reference = keras_module().saving.load_model(repos["keras"] / "classifier.keras")
    np.testing.assert_allclose(model.predict(x), reference.predict(x.transpose(0, 2, 3, 1), verbose=0), atol=1e-5)


@pytest.mark.parametrize("kind", ["resnet", "vit", "timm", "keras"])
def test_every_method_keeps_the_contract_on_hub_models(cache, kind):
    model = load_model(f"hub:org/{kind}")
    methods = compatible_methods(HUB, model)
    hidden = {m.id for m in METHODS.values() if m.supports_task(HUB)} - {m.id for m in methods}
    assert all(METHODS[m].family == "propagation" or m == "guided_gradcam" for m in hidden), hidden_methods(HUB, model)
    _, x = picture_input(model)
    for method in methods:
        assert_contract(method, model, x)


def test_pickled_weights_are_refused_unless_the_repo_is_trusted(cache):
    with pytest.raises(ModelError, match=r"only pickled weights \(pytorch_model.bin\).*--trust-pickle"):
        load_model("hub:org/pickled")
    trusted, safe = load_model("hub:org/pickled", trust_pickle=True), load_model("hub:org/resnet")
    assert trusted.info.trusted and not safe.info.trusted
    _, x = picture_input(safe)
    np.testing.assert_allclose(trusted.predict(x), safe.predict(x), atol=1e-6)


def test_a_hub_model_serves_a_task_whose_labels_it_shares(tmp_path, cache):
    lung = TASKS["lung_xray"]
    with pytest.raises(InputError, match="choose the task 'hub_image'"):
        check_model_task(load_model("hub:org/resnet"), lung)
    model = load_model(str(hub_repos.transformers_resnet(tmp_path / "lung", labels=("Normal", "Affected"))))
    check_model_task(model, lung)
    check_model_task(model, HUB)
    assert model.info.source == "local"


def test_an_uncached_repo_offline_fails_with_a_clear_message(cache):
    with pytest.raises(ModelError, match="not in the local Hub cache and HF_HUB_OFFLINE is set"):
        load_model("hub:org/absent")


def test_download_through_a_hub_stand_in_then_offline_from_the_cache(tmp_path, repos):
    """The CLI in a fresh process, as a user runs it: HF_ENDPOINT and HF_HUB_CACHE are read by huggingface_hub,
    the download lands in the standard cache layout, and the same command works offline afterwards."""
    picture = tmp_path / "photo.png"
    Image.fromarray(hub_repos.image(40, 50)).save(picture)
    cache_dir = tmp_path / "cache"
    command = [sys.executable, str(ROOT / "inference.py"), "--task", "hub_image", "--model", "hub:org/resnet@main",
               "--input", str(picture), "--json"]
    with FakeHub({"org/resnet": repos["resnet"]}, hub_repos.COMMIT) as hub:
        env = {**_env(), "HF_ENDPOINT": hub.url, "HF_HUB_CACHE": str(cache_dir)}
        online = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
        fetched = sorted(path.rsplit("/", 1)[-1] for method, path in hub.requests if method == "GET" and
                         "/resolve/" in path)
    assert online.returncode == 0, online.stderr
    assert json.loads(online.stdout)["revision"] == hub_repos.COMMIT
    assert fetched == ["README.md", "config.json", "model.safetensors", "preprocessor_config.json"]
    storage = cache_dir / "models--org--resnet"
    assert (storage / "refs" / "main").read_text() == hub_repos.COMMIT
    assert (storage / "snapshots" / hub_repos.COMMIT / "model.safetensors").is_file()
    offline = subprocess.run(command, capture_output=True, text=True, timeout=300,
                             env={**env, "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"})
    assert offline.returncode == 0, offline.stderr
    assert json.loads(offline.stdout)["probabilities"] == json.loads(online.stdout)["probabilities"]


def test_a_download_reports_its_bytes_as_they_arrive(tmp_path, monkeypatch, repos):
    """The progress callback (the app's bar) ends at the sum of the fetched files' sizes, never going back."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    calls = []
    with FakeHub({"org/vit": repos["vit"]}, hub_repos.COMMIT) as hub:
        _serve(monkeypatch, hub)
        model = load_model("hub:org/vit@main", progress=lambda done, total: calls.append((done, total)))
    total = sum((repos["vit"] / f).stat().st_size for f in ("config.json", "preprocessor_config.json",
                                                            "model.safetensors"))
    assert calls[-1] == (total, total) and {t for _, t in calls} == {total}
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert model.info.revision == hub_repos.COMMIT


def test_a_repo_over_the_size_limit_is_refused_before_any_download(tmp_path, monkeypatch, repos):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    sizes = {("org/resnet", "model.safetensors"): 3 * 1024**3}
    with FakeHub({"org/resnet": repos["resnet"]}, hub_repos.COMMIT, sizes) as hub:
        _serve(monkeypatch, hub)
        with pytest.raises(ModelError, match=r"3\.00 GB .* over the limit of 2\.00 GB"):
            load_model("hub:org/resnet")
    assert not [path for _, path in hub.requests if "/resolve/" in path], "nothing fetched, only the listing read"
    assert not (tmp_path / "cache").exists()


def test_a_hub_that_does_not_answer_is_reported_not_waited_on(tmp_path, monkeypatch, repos):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    with FakeHub({}, hub_repos.COMMIT, silent=True) as hub:
        _serve(monkeypatch, hub)
        with pytest.raises(ModelError, match=r"not in the local Hub cache and the Hub \(http://127\.0\.0\.1:\d+\) "
                                             "cannot be reached"):
            load_model("hub:org/resnet")


def test_the_cli_refuses_a_pickle_with_exit_2_and_records_the_trust_when_given(tmp_path, cache, capsys):
    """In one process, as a script calling the CLI four times would: a pickle trusted once is not trusted by the
    next command that does not say so."""
    picture = tmp_path / "photo.png"
    Image.fromarray(hub_repos.image(32, 32)).save(picture)
    command = ["--task", "hub_image", "--model", "hub:org/pickled", "--input", str(picture), "--methods", "gradcam",
               "--json", "--out", str(tmp_path / "out")]
    assert xai_models.main(command) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "pickled weights" in err and "--trust-pickle" in err
    report = tmp_path / "report.zip"
    assert xai_models.main([*command, "--trust-pickle", "--zip", str(report)]) == 0
    [record] = json.loads(capsys.readouterr().out)
    assert record["trusted"] == ["org/pickled"] and record["revision"] == hub_repos.COMMIT
    with zipfile.ZipFile(report) as bundle:
        manifest = json.loads(bundle.read("manifest.json"))
    assert manifest["trusted"] == ["org/pickled"] and manifest["maps"][0]["trusted"] == "pickled weights"
    again = ["reproduce", str(report), "--input", str(picture), "--json"]
    assert xai_models.main(again) == 2
    assert "only pickled weights" in capsys.readouterr().err, "a report grants no trust"
    assert xai_models.main([*again, "--trust-pickle"]) == 0
    assert json.loads(capsys.readouterr().out)["max_difference"] == 0.0


def _serve(monkeypatch, hub: FakeHub) -> None:
    """Point this process's huggingface_hub at the stand-in, as HF_ENDPOINT does when the library is imported."""
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", hub.url)
    monkeypatch.setattr(huggingface_hub.constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                        hub.url + "/{repo_id}/resolve/{revision}/{filename}")


def _env() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("HF_")}


def test_the_app_explains_a_cached_hub_model_and_asks_before_loading_a_pickle(cache, server_env):
    """On a server that offers the trust switch (WORKBENCH_TRUST_PICKLE=1)."""
    from streamlit.testing.v1 import AppTest

    server_env(WORKBENCH_TRUST_PICKLE="1")
    at = AppTest.from_file(str(ROOT / "Streamlit" / "app.py"), default_timeout=180)
    at.run()
    next(s for s in at.sidebar.selectbox if s.label == "Task").set_value("hub_image").run()
    assert next(r for r in at.sidebar.radio if r.label == "Model source").value == "Hugging Face Hub", \
        "no bundled model takes this task: the Hub is the default"
    next(t for t in at.sidebar.text_input if t.label == "Hub repo id").input("hub:org/resnet").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any(f"at commit `{hub_repos.COMMIT}`" in c.value for c in at.sidebar.caption)
    card = next(m for m in at.markdown if "A tiny test model" in m.value)
    assert not card.allow_html and not card.value.startswith("---"), "the card as markdown, its HTML shown as text"
    assert next(s for s in at.sidebar.selectbox if s.label == "Sample").value.startswith("photo: ")
    next(b for b in at.sidebar.button if b.label == "Run").click().run()
    assert not at.exception and not at.error
    assert any(f"`{hub_repos.COMMIT}`" in c.value for c in at.caption), "the commit shown beside the prediction"

    next(t for t in at.sidebar.text_input if t.label == "Hub repo id").input("hub:org/pickled").run()
    assert any("only pickled weights" in e.value for e in at.error) and not at.exception
    next(c for c in at.sidebar.checkbox if c.label == "Trust pickled weights from this repo").check().run()
    assert not at.exception and not at.error
    assert at.session_state["trusted_repos"] == {"org/pickled"}
    assert any("Pickled weights loaded on your trust" in w.value for w in at.sidebar.warning)
