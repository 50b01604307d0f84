"""Models: the loader (bundled, folder, offline Hub cache), configs, the adapter, targets and predictions."""

from __future__ import annotations

import json
import shutil
import threading
import time

import huggingface_hub.constants
import numpy as np
import pytest
import torch

from workbench.errors import InputError, ModelError
from workbench.methods import METHODS
from workbench.models import (
    OUTPUTS,
    ClassPrediction,
    SegmentationPrediction,
    Target,
    TorchAdapter,
    list_models,
    load_model,
    predict,
)
from workbench.paths import MODELS_DIR
from workbench.service import check_model_task, explain_request
from workbench.specs import InputSpec, SignalSpec
from workbench.tasks import TASKS
from workbench.training.recipes import RECIPES

from .conftest import BUNDLED, SEG_LABELS, SEG_TASK, model_input, tiny_adapter, tiny_info

COMMIT = "0123456789abcdef0123456789abcdef01234567"


# -- loading ------------------------------------------------------------------------------------

def test_every_bundled_model_loads_and_fits_its_task():
    infos = list_models()
    assert infos, "models/ holds at least one model"
    for info in infos:
        model = load_model(info.id)
        task = TASKS[info.task]
        assert info.labels == task.labels and info.output in OUTPUTS and info.output_kind == task.output_kind
        assert model.layers()[0] == info.target_layer
        recipe = RECIPES[info.id]  # the card says what its data is: generated here, or real and credited
        assert ("real-data" in info.card and recipe.data_credit in info.card) if recipe.data_credit else (
            "synthetic" in info.card.lower() or "generated" in info.card.lower())
        assert model.feature_stats is not None, f"{info.id} ships no out-of-distribution statistics"
        assert len(info.revision) == 12  # a digest of the weights: content-addressed caches


def test_bundled_model_classifies_the_samples(bundled, lung_task):
    """The phantom model on the repository's phantom samples (the real films listed beside them, when the
    shared folder is here, are not what it was trained on)."""
    for sample in (s for s in lung_task.samples() if s.path.is_relative_to(MODELS_DIR.parent)):
        pred = predict(bundled, model_input(lung_task, bundled, sample.path.read_bytes()))
        assert pred.label == sample.label, sample.name


def test_config_without_output_field_loads_as_logits(tmp_path, bundled):
    folder = tmp_path / "old"
    shutil.copytree(MODELS_DIR / BUNDLED, folder)
    config = json.loads((folder / "config.json").read_text())
    for key in ("output", "output_kind"):
        config.pop(key, None)
    (folder / "config.json").write_text(json.dumps(config))
    old = load_model(str(folder))
    assert old.info.output == "logits" and old.info.source == "local"
    x = np.random.default_rng(1).normal(0, 1, (2, 1, 128, 128)).astype(np.float32)
    np.testing.assert_allclose(old.predict(x), bundled.predict(x), atol=1e-6)


def test_invalid_output_field_is_refused(tmp_path):
    folder = tmp_path / "bad"
    shutil.copytree(MODELS_DIR / BUNDLED, folder)
    config = json.loads((folder / "config.json").read_text()) | {"output": "probabilities"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="output must be one of"):
        load_model(str(folder))


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
    assert load_model("testorg/lung-model", revision=COMMIT).info.revision == COMMIT
    x = model_input(lung_task, hub, lung_task.samples()[0].path.read_bytes())
    np.testing.assert_allclose(hub.predict(x), bundled.predict(x), atol=1e-6)
    assert predict(hub, x).in_distribution is True, "the OOD statistics travel with the Hub files"


def test_hub_repo_missing_from_cache_gives_a_clear_error(tmp_path, monkeypatch):
    _hub_cache(tmp_path, monkeypatch)
    with pytest.raises(ModelError, match="not in the local Hub cache"):
        load_model("testorg/absent-model")


def test_pickled_weights_are_refused(tmp_path, monkeypatch):
    snapshot = _hub_cache(tmp_path, monkeypatch)
    (snapshot / "model.safetensors").unlink()
    torch.save({"x": torch.zeros(1)}, snapshot / "pytorch_model.bin")
    with pytest.raises(ModelError, match=r"only pickled weights \(pytorch_model.bin\)"):
        load_model("testorg/lung-model")


def test_unknown_model_task_and_wrong_task_are_reported(bundled):
    with pytest.raises(ModelError, match="unknown model"):
        load_model("no-such-model")
    with pytest.raises(InputError, match="unknown task"):
        TASKS["nope"]
    with pytest.raises(InputError, match="is for task 'lung_xray', not 'tiny_segmentation'"):
        check_model_task(bundled, SEG_TASK)


# -- the adapter ----------------------------------------------------------------------------------

def test_adapter_restores_state_and_removes_hooks(tiny, tiny_input):
    tiny.module.train()
    acts, grads = tiny.activations_and_gradients(tiny_input, Target(1), "layer2")
    assert acts.shape == grads.shape and acts.shape[:2] == (1, 8)
    assert tiny.module.training, "train mode restored"
    assert not tiny.module.layer2._forward_hooks and not tiny.module.layer2._backward_hooks
    assert all(p.requires_grad for p in tiny.module.parameters())
    with pytest.raises(ValueError, match="no layer"):
        tiny.activations_and_gradients(tiny_input, Target(1), "nope")
    assert not tiny.module.layer2._forward_hooks


def test_adapter_gradients_match_autograd(tiny, tiny_input):
    x = torch.from_numpy(tiny_input).requires_grad_(True)
    tiny.module.eval()
    tiny.module(x)[0, 1].backward()
    np.testing.assert_allclose(tiny.input_gradients(tiny_input, Target(1)), x.grad.numpy(), rtol=1e-5, atol=1e-7)
    batch = np.repeat(tiny_input, 70, axis=0)  # more than one internal chunk
    assert tiny.target_scores(batch, Target(0)).shape == (70,)
    np.testing.assert_allclose(tiny.predict(batch).sum(1), 1, rtol=1e-5)


class CountingHooks:
    """Counts the items that really pass forward and backward through a module (the oracle)."""

    def __init__(self, module: torch.nn.Module) -> None:
        self.forward = self.backward = 0
        self.handles = [module.register_forward_pre_hook(self._on_forward),
                        module.register_full_backward_pre_hook(self._on_backward)]

    def _on_forward(self, _module, args):
        self.forward += len(args[0])

    def _on_backward(self, _module, grad_output):
        self.backward += len(grad_output[0])

    def remove(self):
        for h in self.handles:
            h.remove()


@pytest.mark.parametrize("method_id", [m.id for m in METHODS.values()
                                       if m.is_compatible(TASKS["lung_xray"], tiny_adapter())])
def test_reported_passes_are_the_passes_the_model_ran(method_id, tiny_input):
    model = tiny_adapter()
    method = METHODS[method_id]
    params = method.resolve_params(model, method.quick_params(model))
    with torch.enable_grad():
        hooks = CountingHooks(model.module)
        try:
            e = method.explain(model, tiny_input, Target(1), params)
        finally:
            hooks.remove()
    assert (hooks.forward > 0) == (method.family != "baseline"), "only the trivial baselines run no pass"
    assert (e.counted.forward, e.counted.backward) == (hooks.forward, hooks.backward)
    estimate = method.cost(model, tiny_input, params)
    assert (estimate.forward, estimate.backward) == (hooks.forward, hooks.backward)


def test_lock_keeps_concurrent_requests_apart(tiny):
    """Four threads, each with its own input and target, share one model: each gets its own answer,
    and any exception raised in a thread reaches the test."""
    rng = np.random.default_rng(3)
    jobs = [(rng.normal(0, 1, (1, 1, 32, 32)).astype(np.float32), Target(k % 2)) for k in range(4)]
    expected = [tiny.activations_and_gradients(x, t, "layer2")[1] for x, t in jobs]
    assert not np.allclose(expected[0], expected[1])
    errors: list[BaseException] = []
    mismatches: list[int] = []

    def work(k: int) -> None:
        try:
            x, target = jobs[k]
            for _ in range(15):
                got = tiny.activations_and_gradients(x, target, "layer2")[1]
                if not np.allclose(got, expected[k], rtol=1e-5, atol=1e-7):
                    mismatches.append(k)
                with tiny.counting() as count:
                    tiny.target_scores(np.repeat(x, k + 1, axis=0), target)
                if count.forward != k + 1:
                    mismatches.append(k)
        except BaseException as err:  # noqa: BLE001  (handed to the main thread)
            errors.append(err)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert not mismatches
    assert not tiny.module.layer2._forward_hooks


def test_layers_lists_the_default_cam_layer_first(bundled):
    assert bundled.layers()[0] == "layer4" and "layer3" in bundled.layers()


def test_layer_choices_are_feature_maps_not_the_classifier_head():
    """AlexNet's `classifier` is a Sequential of Linear layers: a CAM cannot read it, so it is not offered."""
    alexnet = load_model("lung_xray-alexnet-compact")
    names = alexnet.layers()
    assert "classifier" not in names and {"conv5", "conv4.0"} <= set(names)
    x = np.zeros((1, 1, *alexnet.info.input.size), np.float32)
    for name, (acts, _grads) in zip(names, alexnet.layer_gradients(x, Target(0), names)):
        assert acts.ndim == 4, name


def test_a_segmentation_head_is_no_cam_layer():
    """The head's output is the model's: a CAM of it would only show the prediction back."""
    names = load_model("iqa_segmentation-deeplabv3plus-compact").layers()
    assert "segmentation_head" not in names and {"decoder.block2", "segmentation_head.0"} <= set(names)


# -- targets and the score operator ---------------------------------------------------------------

def test_target_equality_and_keys_include_the_region():
    a = np.zeros((4, 4), bool)
    a[1, 1] = True
    b = a.copy()
    b[2, 2] = True
    assert Target(1, a) == Target(1, a.copy()) and hash(Target(1, a)) == hash(Target(1, a.copy()))
    assert Target(1, a) != Target(1, b) and Target(1, a) != Target(1) and Target(1) != Target(0)
    assert len({Target(1, a).key, Target(1, b).key, Target(1).key}) == 3
    assert Target(1, a).record("coin") == {"class_index": 1, "label": "coin", "region": Target(1, a).region_hash,
                                           "region_pixels": 1}


def test_classification_score_is_the_class_logit(tiny, tiny_input):
    with torch.no_grad():
        logits = tiny.module(torch.from_numpy(tiny_input)).numpy()
    assert tiny.target_scores(tiny_input, Target(1))[0] == pytest.approx(logits[0, 1], rel=1e-6)
    with pytest.raises(InputError, match="segmentation models only"):
        tiny.resolve_target(tiny_input, Target(1, np.ones((32, 32), bool)))


class WithHead(torch.nn.Module):
    def __init__(self, body: torch.nn.Module, head: str) -> None:
        super().__init__()
        self.body, self.head = body, head

    def forward(self, x):
        out = self.body(x)
        return torch.softmax(out, 1) if self.head == "softmax" else torch.sigmoid(out)


def test_sigmoid_head_is_explained_through_its_exact_logit(tiny, tiny_input):
    sigmoid = TorchAdapter(WithHead(tiny.module, "sigmoid"), tiny_info(output="sigmoid"))
    for method_id in ("gradcam", "integrated_gradients"):
        params = {"layer": "body.layer2"} if method_id == "gradcam" else {"steps": 8}
        plain = {"layer": "layer2"} if method_id == "gradcam" else {"steps": 8}
        np.testing.assert_allclose(METHODS[method_id].explain(sigmoid, tiny_input, Target(1), params).map,
                                   METHODS[method_id].explain(tiny, tiny_input, Target(1), plain).map,
                                   rtol=2e-3, atol=1e-5)
    with torch.no_grad():
        want = torch.sigmoid(tiny.module(torch.from_numpy(tiny_input))).numpy()
    np.testing.assert_allclose(sigmoid.predict(tiny_input), want, rtol=1e-6)


def test_softmax_head_is_explained_through_the_log_probability(tiny, tiny_input):
    softmax = TorchAdapter(WithHead(tiny.module, "softmax"), tiny_info(output="softmax"))
    with torch.no_grad():
        want = torch.log_softmax(tiny.module(torch.from_numpy(tiny_input)), 1)[0, 1].item()
    assert softmax.target_scores(tiny_input, Target(1))[0] == pytest.approx(want, rel=1e-5)
    np.testing.assert_allclose(softmax.predict(tiny_input), tiny.predict(tiny_input), rtol=1e-5)


def test_segmentation_score_sums_the_class_logits_inside_the_region(segmenter, tiny_input):
    region = np.zeros((32, 32), bool)
    region[4:12, 20:30] = True
    with torch.no_grad():
        logits = segmenter.module(torch.from_numpy(tiny_input))[0, 2].numpy()
    score = segmenter.target_scores(tiny_input, Target(2, region))[0]
    assert score == pytest.approx(float(logits[region].sum()), rel=1e-5)


def test_segmentation_target_defaults_to_the_predicted_region(segmenter, tiny_input):
    predicted = segmenter.predict(tiny_input)[0].argmax(0) == 1
    assert 0 < predicted.sum() < predicted.size, "the fixture predicts class 1 on part of the image"
    resolved = segmenter.resolve_target(tiny_input, Target(1))
    np.testing.assert_array_equal(resolved.region, predicted)
    default = METHODS["gradcam"].explain(segmenter, tiny_input, Target(1))
    whole = METHODS["gradcam"].explain(segmenter, tiny_input, Target(1, np.ones((32, 32), bool)))
    assert default.target == resolved and default.summary()["target"]["region_pixels"] == predicted.sum()
    assert np.abs(default.map - whole.map).max() > 0.05 * np.abs(whole.map).max(), \
        "explaining the predicted region is not explaining the whole image"
    keys = {explain_request(segmenter, tiny_input, "gradcam", t).key
            for t in (Target(1), Target(1, predicted), Target(1, np.ones((32, 32), bool)))}
    assert len(keys) == 3, "the cache keeps a region apart from the whole image and from the default"


def test_segmentation_region_must_fit_the_output(segmenter, tiny_input):
    with pytest.raises(InputError, match="output is 32x32"):
        segmenter.resolve_target(tiny_input, Target(1, np.ones((16, 16), bool)))
    with pytest.raises(InputError, match="empty"):
        segmenter.resolve_target(tiny_input, Target(1, np.zeros((32, 32), bool)))


def test_typed_predictions(segmenter, tiny, tiny_input):
    seg = predict(segmenter, tiny_input)
    assert isinstance(seg, SegmentationPrediction) and seg.mask.shape == (32, 32)
    counts = np.bincount(seg.mask.ravel(), minlength=3) / seg.mask.size
    assert seg.class_share == pytest.approx(dict(zip(SEG_LABELS, counts)))
    assert seg.label == SEG_LABELS[1 + int(np.argmax(counts[1:]))]
    assert seg.in_distribution is None, "a model without statistics makes no OOD claim"
    cls = predict(tiny, tiny_input)
    assert isinstance(cls, ClassPrediction) and sum(cls.probabilities.values()) == pytest.approx(1)
    assert cls.label == max(cls.probabilities, key=cls.probabilities.get)
    assert set(json.loads(json.dumps(cls.to_json()))) == {"label", "probabilities", "in_distribution", "ood_score"}


def test_input_specs_round_trip_through_config_json():
    image = InputSpec(64, 48, 3, (0.1, 0.2, 0.3), (0.4, 0.5, 0.6))
    audio = InputSpec(128, 251, 1, (0.5,), (0.25,), SignalSpec(sample_rate=22050, seconds=2.5))
    for spec in (image, audio):
        assert InputSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    assert "signal" not in image.to_dict()


def test_one_forward_pass_gives_the_prediction_and_its_ood_score(bundled, lung_task):
    x = model_input(lung_task, bundled, lung_task.samples()[0].path.read_bytes())
    with bundled.counting() as count:
        pred = predict(bundled, x)
    assert count.forward == 1
    stats = bundled.feature_stats
    assert pred.ood_score == pytest.approx(float(stats.scores(bundled.features(x, stats.layers))[0]))
    np.testing.assert_allclose(list(pred.probabilities.values()), bundled.predict(x)[0], rtol=1e-6)


def test_a_layer_named_twice_gives_its_activations_twice_not_a_doubled_batch(tiny, tiny_input):
    batch = np.concatenate([tiny_input, -tiny_input])
    _, (once,) = tiny.outputs_and_activations(batch, ["layer2"])
    _, (first, second) = tiny.outputs_and_activations(batch, ["layer2", "layer2"])
    assert first.shape == once.shape == second.shape and first.shape[0] == 2
    np.testing.assert_array_equal(first, once)


def test_the_model_lock_is_granted_in_the_order_it_was_asked_for():
    """The holder releases and at once asks again while three threads queue: each queued thread gets the lock
    before the holder gets it back (a plain lock lets the releasing thread barge in first), and reentry nests."""
    from workbench.models.adapter import FairLock

    lock, order = FairLock(), []

    def queued(k: int) -> None:
        with lock:
            order.append(k)

    with lock:
        with lock:  # reentrant
            pass
        threads = []
        for k in range(3):
            threads.append(threading.Thread(target=queued, args=(k,)))
            threads[-1].start()
            while lock.waiting() < k + 1:  # queued in this order
                time.sleep(0.001)
    with lock:  # released and asked for again at once
        order.append("holder")
    for t in threads:
        t.join(timeout=10)
    assert order == [0, 1, 2, "holder"]
    with pytest.raises(RuntimeError, match="does not hold"):
        lock.release()
