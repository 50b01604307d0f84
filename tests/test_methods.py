"""Every registered method passes one contract; where Captum has the method, ours matches it."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients, LayerAttribution, LayerGradCam, Occlusion

from workbench import device
from workbench.errors import InputError
from workbench.methods import FAMILIES, METHODS, PARAM_KINDS, Explanation, Param
from workbench.models import StepScores, Target, list_models, load_model, predict
from workbench.service import run_methods, target_for
from workbench.specs import InputSpec, SignalSpec
from workbench.tasks import TASKS, Axes

from .conftest import SEG_TASK, TINY_KERAS, tiny_adapter, tiny_info, tiny_segmenter

KERAS_SPEC = InputSpec(32, 48, 1, (0.5,), (0.25,), SignalSpec(seconds=0.75, n_mels=32))


def tiny_keras_steps():
    """A tiny Keras audio model with the bundled detectors' per-step head and its config entry."""
    from workbench.models.keras_adapter import KerasAdapter, keras_module
    from workbench.training.keras_nets import FRAME_LAYER, KERAS_ARCHITECTURES

    keras_module().utils.set_random_seed(0)
    net = KERAS_ARCHITECTURES["keras_compact_resnet"]((KERAS_SPEC.height, KERAS_SPEC.width, 1), 2, **TINY_KERAS)
    return KerasAdapter(net, tiny_info(id="tiny-keras-steps", task="audio_deepfake", framework="keras",
                                       architecture="keras_compact_resnet", arch_params=TINY_KERAS,
                                       labels=("bonafide", "spoof"), input=KERAS_SPEC, target_layer="layer4",
                                       step_scores=StepScores(FRAME_LAYER, "spoof")))


# Each kind of model the contract runs on: how to build it, the task it serves, and its input.
MODELS = {"classifier": (tiny_adapter, TASKS["lung_xray"], (1, 1, 32, 32)),
          "segmenter": (tiny_segmenter, SEG_TASK, (1, 1, 32, 32)),
          "keras_steps": (tiny_keras_steps, TASKS["audio_deepfake"], (1, 1, 32, 48))}
# Every method on every kind of model it declares itself compatible with (none may be left out, below).
CONTRACT = [(method.id, kind) for kind, (make, task, _) in MODELS.items() for model in [make()]
            for method in METHODS.values() if method.is_compatible(task, model)]


def assert_contract(method, model, x: np.ndarray) -> None:
    """Shape, dtype, finite, not all zero, same seed same map, a full record, the counted passes as declared,
    model state restored: what every method owes on every model it declares itself compatible with."""
    params = method.quick_params(model)
    torch_model = getattr(model, "module", None)
    if torch_model is not None:
        torch_model.train()
    first = method.explain(model, x, Target(1), params, seed=7)
    second = method.explain(model, x, Target(1), params, seed=7)
    if not method.stochastic:  # the app serves a new seed from the cache on this flag's word
        np.testing.assert_array_equal(method.explain(model, x, Target(1), params, seed=8).map, first.map)

    assert isinstance(first, Explanation)
    assert first.map.shape == x.shape[-2:] and first.map.dtype == np.float32
    assert np.isfinite(first.map).all() and np.abs(first.map).max() > 0, "a map of zeros explains nothing"
    np.testing.assert_array_equal(first.map, second.map)
    summary = json.loads(json.dumps(first.summary()))  # serialisable for reports and caches
    assert summary["seed"] == 7 and summary["target"]["class_index"] == 1
    assert summary["model"] == model.info.id and summary["revision"] == model.info.revision
    assert summary["params"] == method.resolve_params(model, params)
    assert len(summary["input_hash"]) == 16
    cost = method.cost(model, x, method.resolve_params(model, params))
    assert (first.counted.forward, first.counted.backward) == (cost.forward, cost.backward)
    if torch_model is not None:
        assert torch_model.training, "train mode restored"
        assert all(p.requires_grad for p in torch_model.parameters()), "weights' grad flags restored"


@pytest.mark.parametrize("method_id,kind", CONTRACT)
def test_method_contract(method_id, kind):
    make, task, shape = MODELS[kind]
    assert_contract(METHODS[method_id], make(), np.random.default_rng(0).normal(0, 1, shape).astype(np.float32))


def test_every_method_runs_under_the_contract_somewhere():
    assert {m for m, _ in CONTRACT} == set(METHODS.ids())


@pytest.mark.parametrize("method_id", METHODS.ids())
def test_method_metadata_and_param_spec(method_id, tiny):
    method = METHODS[method_id]
    assert method.name and method.what_it_shows and method.family in FAMILIES
    spec = method.params(tiny)
    defaults = method.resolve_params(tiny, None)
    assert set(defaults) == {p.name for p in spec}
    for p in spec:
        assert p.help and p.kind in PARAM_KINDS
        if p.kind in ("int", "float"):
            assert p.min <= p.default <= p.max
            with pytest.raises(InputError):
                method.resolve_params(tiny, {p.name: p.max + 1})
    with pytest.raises(InputError):
        method.resolve_params(tiny, {"no_such_parameter": 1})


def test_param_kinds_validate_what_the_cli_and_widgets_send():
    flag = Param("smooth", "bool", False, "h")
    assert flag.validate("true") is True and flag.validate("0") is False and flag.validate(np.bool_(True)) is True
    with pytest.raises(InputError, match="true or false"):
        flag.validate("maybe")
    steps = Param("steps", "int", 4, "h", 1, 10)
    assert steps.validate("8") == 8 and steps.validate(8.0) == 8
    with pytest.raises(InputError, match="an integer"):
        steps.validate(2.5)
    layer = Param("layer", "layer", "a", "h", choices=("a", "b"))
    with pytest.raises(InputError, match="one of"):
        layer.validate("c")
    with pytest.raises(ValueError):
        Param("x", "colour", 0, "h")


# What the tiny ResNet's layers rule out, found by the probe of its layer flow: it runs each block's ReLU twice
# (DeepLIFT's rule keeps one record per module) and its shortcuts are Identity layers LRP has no rule for.
NOT_ON_THE_TINY_RESNET = {"deeplift", "lrp"}


def test_methods_apply_by_declared_compatibility(tiny):
    """Every method applies to every task it declares; none claims a framework it lacks; the model's
    own step scores only where its config names them."""
    stepped = tiny_adapter(step_scores=StepScores("layer2", "affected"))
    for task in [*TASKS.values(), SEG_TASK]:
        for method in METHODS.values():
            expected = task.modality in method.modalities and task.output_kind in method.output_kinds
            expected = expected and method.id not in NOT_ON_THE_TINY_RESNET
            assert method.is_compatible(task, stepped) == expected
            assert method.is_compatible(task, tiny) == (expected and method.family != "intrinsic")


def test_run_methods_rejects_unknown_ids(tiny, tiny_input):
    with pytest.raises(InputError, match="unknown method"):
        run_methods(TASKS["lung_xray"], tiny, tiny_input, ["gradcam", "nope"], Target(0))


def test_gradcam_matches_captum(tiny, tiny_input):
    ours = METHODS["gradcam"].explain(tiny, tiny_input, Target(1), {"layer": "layer2"}).map
    x = torch.from_numpy(tiny_input)
    ref = LayerGradCam(tiny.module, tiny.module.layer2).attribute(x, target=1, relu_attributions=True)
    ref = LayerAttribution.interpolate(ref, tuple(x.shape[-2:]), "bilinear")[0, 0].detach().numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("baseline", ["black", "mean"])
def test_integrated_gradients_matches_captum(tiny, tiny_input, baseline):
    ours = METHODS["integrated_gradients"].explain(tiny, tiny_input, Target(0), {"steps": 32, "baseline": baseline})
    x = torch.from_numpy(tiny_input)
    base = -2.0 if baseline == "black" else float(tiny_input.mean())
    ref = IntegratedGradients(tiny.module).attribute(x, baselines=base, target=0, n_steps=32, method="gausslegendre")
    np.testing.assert_allclose(ours.map, ref[0].sum(0).detach().numpy(), rtol=1e-3, atol=1e-5)


def test_integrated_gradients_is_complete(tiny, tiny_input):
    """Attributions sum to score(input) - score(baseline): the (x - baseline) factor is there."""
    e = METHODS["integrated_gradients"].explain(tiny, tiny_input, Target(1), {"steps": 64})
    with torch.no_grad():
        scores = tiny.module(torch.from_numpy(np.concatenate([np.full_like(tiny_input, -2.0), tiny_input])))[:, 1]
    assert e.map.sum() == pytest.approx(float(scores[1] - scores[0]), rel=0.02, abs=1e-3)


def _captum_occlusion(model, x, wh, ww, sh, sw):
    return Occlusion(model.module).attribute(torch.from_numpy(x), target=1, baselines=-2.0,
                                             sliding_window_shapes=(1, wh, ww), strides=(1, sh, sw))[0, 0].numpy()


@pytest.mark.parametrize("wh,ww,sh,sw", [(8, 8, 4, 4), (8, 8, 8, 8), (16, 4, 8, 2), (4, 12, 2, 6)])
def test_occlusion_matches_captum_with_rectangular_windows(tiny, tiny_input, wh, ww, sh, sw):
    params = {"window_height": wh, "window_width": ww, "stride_height": sh, "stride_width": sw, "baseline": "black"}
    ours = METHODS["occlusion"].explain(tiny, tiny_input, Target(1), params)
    np.testing.assert_allclose(ours.map, _captum_occlusion(tiny, tiny_input, wh, ww, sh, sw), rtol=1e-4, atol=1e-5)
    assert ours.passes == (math.ceil((32 - wh) / sh) + 1) * (math.ceil((32 - ww) / sw) + 1) + 1


def test_occlusion_in_small_chunks_gives_the_same_map(tiny, tiny_input, monkeypatch):
    """A memory budget of three copies: 49 patches in 17 chunks, still Captum's map."""
    monkeypatch.setitem(device.CHUNK_BYTES, "cpu", 3 * tiny_input.nbytes)
    params = {"window_height": 8, "window_width": 8, "stride_height": 4, "stride_width": 4, "baseline": "black"}
    e = METHODS["occlusion"].explain(tiny, tiny_input, Target(1), params)
    assert e.meta["chunk"] == 3 and e.meta["patches"] == 49
    np.testing.assert_allclose(e.map, _captum_occlusion(tiny, tiny_input, 8, 8, 4, 4), rtol=1e-4, atol=1e-5)


def test_pixel_axes_describe_an_image():
    axes = Axes.pixels(32, 48)
    assert axes.x_range == (0.0, 48.0) and axes.y_range == (0.0, 32.0) and axes.origin == "upper"


def test_registry_refuses_a_second_entry_with_the_same_id_and_names_the_known_ones():
    with pytest.raises(ValueError, match="registered twice"):
        METHODS.register(METHODS["gradcam"])
    with pytest.raises(InputError, match="unknown method 'nope'; available: gradcam, "):
        METHODS["nope"]


@pytest.mark.parametrize("model_id", [m.id for m in list_models()])
def test_every_method_works_on_every_bundled_model(model_id):
    """The contract on the real models: its sample input, each compatible method's cheapest settings."""
    model = load_model(model_id)
    task = TASKS[model.info.task]
    samples = task.samples()
    sample = next((s for s in samples if s.truth_path is not None), samples[0])  # something to segment
    x = task.preprocess(task.decode(sample.path.read_bytes()), model.info.input)
    target = model.resolve_target(x, target_for(model, predict(model, x)))
    methods = [m for m in METHODS.values() if m.is_compatible(task, model)]
    hidden = {m.id for m in METHODS.values() if m.supports_task(task)} - {m.id for m in methods}
    assert all(METHODS[m].family == "propagation" or m == "guided_gradcam" for m in hidden), "only Captum's hide"
    assert (model.info.step_scores is not None) == (task.modality == "audio")  # every audio detector has them
    for method in methods:
        params = method.resolve_params(model, method.quick_params(model))
        e = method.explain(model, x, target, params, seed=3)
        assert e.map.shape == model.info.input.size and np.isfinite(e.map).all() and np.abs(e.map).max() > 0
        cost = method.cost(model, x, params)
        assert (e.counted.forward, e.counted.backward) == (cost.forward, cost.backward)


def test_a_method_that_does_not_apply_says_why_in_one_line(tiny):
    """The lung model has no step head: step scores are hidden with the reason; every other method applies."""
    from workbench.methods import hidden_methods

    hidden = hidden_methods(TASKS["lung_xray"], tiny)
    assert list(hidden) == [METHODS[m].name for m in ("step_scores", "deeplift", "lrp")]
    assert "no per-step head" in hidden[METHODS["step_scores"].name] and "\n" not in hidden[METHODS["step_scores"].name]
    stepped = tiny_adapter(step_scores=StepScores("layer2", "affected"))
    assert "audio" in hidden_methods(TASKS["lung_xray"], stepped)[METHODS["step_scores"].name]
    assert list(hidden_methods(TASKS["audio_deepfake"], stepped)) == [METHODS["deeplift"].name, METHODS["lrp"].name]


def test_progress_follows_the_counted_passes_and_the_record_keeps_no_callback(tiny, tiny_input):
    """Occlusion with 9 patches + 1 reference pass in chunks: progress rises to 1 with the counted passes, and the
    explanation pickles (the app caches it) because the callback is not kept."""
    import pickle

    seen = []
    params = {"window_height": 16, "window_width": 16, "stride_height": 8, "stride_width": 8}
    e = METHODS["occlusion"].explain(tiny, tiny_input, Target(1), params, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and e.passes == 10
    assert pickle.loads(pickle.dumps(e)).counted.on_change is None
