"""Tasks, the model loader (bundled, local folder and offline Hub cache) and the adapter."""

from __future__ import annotations

import shutil
import threading

import huggingface_hub.constants
import numpy as np
import pytest
import torch

from inference import (
    MODELS_DIR,
    TASKS,
    InputError,
    ModelError,
    Target,
    check_model_task,
    list_models,
    load_model,
    predict_input,
)

from .conftest import BUNDLED

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_lung_task_describes_its_input(lung_task):
    assert lung_task.labels == ("normal", "affected")
    assert lung_task.modality == "image" and lung_task.output_kind == "classification"
    samples = lung_task.samples()
    assert {s.label for s in samples} == {"normal", "affected"}
    for s in samples:
        assert (s.mask_path is not None) == (s.label == "affected")


def test_bundled_model_is_listed_with_its_card(bundled):
    listed = {m.id: m for m in list_models("lung_xray")}
    assert BUNDLED in listed
    info = listed[BUNDLED]
    assert info.framework == "pytorch" and info.labels == ("normal", "affected")
    assert "not for diagnosis" in info.card.lower()
    assert len(info.revision) == 12  # a digest of the weights: content-addressed caches


def test_bundled_model_classifies_the_samples(bundled, lung_task):
    for sample in lung_task.samples():
        x = lung_task.preprocess(lung_task.decode(sample.path.read_bytes()), bundled.info.input)
        assert predict_input(bundled, x).label == sample.label, sample.name


def _hub_cache(tmp_path, monkeypatch):
    """A hand-made Hub cache holding a copy of the bundled model as testorg/lung-model."""
    repo = tmp_path / "hub" / "models--testorg--lung-model"
    snapshot = repo / "snapshots" / COMMIT
    shutil.copytree(MODELS_DIR / BUNDLED, snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return snapshot


def test_hub_repo_loads_offline_through_the_same_path(tmp_path, monkeypatch, bundled, lung_task):
    _hub_cache(tmp_path, monkeypatch)
    hub = load_model("testorg/lung-model")
    assert hub.info.source == "hub" and hub.info.revision == COMMIT
    pinned = load_model("testorg/lung-model", revision=COMMIT)
    assert pinned.info.revision == COMMIT
    x = lung_task.preprocess(lung_task.decode(lung_task.samples()[0].path.read_bytes()))
    np.testing.assert_allclose(hub.predict(x), bundled.predict(x), atol=1e-6)


def test_hub_repo_missing_from_cache_gives_a_clear_error(tmp_path, monkeypatch):
    _hub_cache(tmp_path, monkeypatch)
    with pytest.raises(ModelError, match="not in the local Hub cache"):
        load_model("testorg/absent-model")


def test_pickled_weights_are_refused(tmp_path, monkeypatch):
    snapshot = _hub_cache(tmp_path, monkeypatch)
    (snapshot / "model.safetensors").unlink()
    torch.save({"x": torch.zeros(1)}, snapshot / "pytorch_model.bin")
    with pytest.raises(ModelError, match="safetensors"):
        load_model("testorg/lung-model")


def test_unknown_model_and_task_are_reported():
    with pytest.raises(ModelError, match="unknown model"):
        load_model("no-such-model")
    with pytest.raises(InputError, match="unknown task"):
        from inference import get_task
        get_task("nope")


def test_model_for_another_task_is_refused(bundled):
    from dataclasses import replace

    from inference import Task

    other = replace(TASKS["lung_xray"], id="histopathology")
    assert isinstance(other, Task)
    with pytest.raises(InputError, match="is for task"):
        check_model_task(bundled, other)


def test_adapter_restores_state_and_removes_hooks(tiny, tiny_input):
    tiny.module.train()
    layer = tiny.module.layer2
    acts, grads = tiny.activations_and_gradients(tiny_input, Target(1), "layer2")
    assert acts.shape == grads.shape and acts.shape[:2] == (1, 8)
    assert tiny.module.training, "train mode restored"
    assert not layer._forward_hooks and not layer._backward_hooks
    assert all(p.requires_grad for p in tiny.module.parameters())
    with pytest.raises(ValueError, match="no layer"):
        tiny.activations_and_gradients(tiny_input, Target(1), "nope")


def test_adapter_gradients_match_autograd(tiny, tiny_input):
    x = torch.from_numpy(tiny_input).requires_grad_(True)
    tiny.module.eval()
    tiny.module(x)[0, 1].backward()
    np.testing.assert_allclose(tiny.input_gradients(tiny_input, Target(1)), x.grad.numpy(), rtol=1e-5, atol=1e-7)
    batch = np.repeat(tiny_input, 70, axis=0)  # more than one internal chunk
    assert tiny.target_scores(batch, Target(0)).shape == (70,)
    np.testing.assert_allclose(tiny.predict(batch).sum(1), 1, rtol=1e-5)


def test_adapter_lock_serialises_concurrent_use(tiny, tiny_input):
    """Two threads explaining through one shared model get the same answers as one thread."""
    expected = tiny.activations_and_gradients(tiny_input, Target(1), "layer2")[1]
    errors = []

    def work():
        for _ in range(20):
            got = tiny.activations_and_gradients(tiny_input, Target(1), "layer2")[1]
            if not np.allclose(got, expected):
                errors.append("mismatch")

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert not tiny.module.layer2._forward_hooks


def test_layers_lists_the_default_cam_layer_first(bundled):
    layers = bundled.layers()
    assert layers[0] == "layer4" and "layer3" in layers
