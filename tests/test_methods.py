"""Every registered method passes one contract; where Captum has the method, ours matches it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients, LayerAttribution, LayerGradCam, Occlusion

from inference import TASKS, InputError, Target
from xai_models import METHODS, Explanation, compatible_methods, run_methods


@pytest.mark.parametrize("method_id", list(METHODS))
def test_method_contract(method_id, tiny, tiny_input):
    method = METHODS[method_id]
    params = method.quick_params(tiny)
    module_was_training = tiny.module.training
    first = method.explain(tiny, tiny_input, Target(1), params, seed=7)
    second = method.explain(tiny, tiny_input, Target(1), params, seed=7)

    assert isinstance(first, Explanation)
    assert first.map.shape == tiny_input.shape[-2:]
    assert first.map.dtype == np.float32
    assert np.isfinite(first.map).all()
    assert np.abs(first.map).max() > 0, "a map of zeros explains nothing"
    np.testing.assert_array_equal(first.map, second.map)
    expected = method.cost(tiny, tiny_input, method.resolve_params(tiny, params))
    assert first.passes == expected.passes > 0
    assert first.seconds > 0
    assert first.seed == 7 and first.target == 1
    json.dumps(first.summary())  # serialisable for reports and caches
    assert tiny.module.training == module_was_training
    assert all(p.requires_grad for p in tiny.module.parameters()), "weights' grad flags restored"


@pytest.mark.parametrize("method_id", list(METHODS))
def test_method_metadata_and_param_spec(method_id, tiny):
    method = METHODS[method_id]
    assert method.name and method.what_it_shows and method.family in {"gradient", "cam", "perturbation"}
    spec = method.params(tiny)
    defaults = method.resolve_params(tiny, None)
    assert set(defaults) == {p.name for p in spec}
    for p in spec:
        assert p.help
        if p.kind in ("int", "float"):
            assert p.min <= p.default <= p.max
            with pytest.raises(InputError):
                method.resolve_params(tiny, {p.name: p.max + 1})
    with pytest.raises(InputError):
        method.resolve_params(tiny, {"no_such_parameter": 1})


def test_every_method_applies_to_lung_xray_pytorch(tiny):
    assert {m.id for m in compatible_methods(TASKS["lung_xray"], tiny)} == set(METHODS)


def test_run_methods_rejects_unknown_ids(tiny, tiny_input):
    with pytest.raises(InputError, match="unknown method"):
        run_methods(tiny, tiny_input, ["gradcam", "nope"], TASKS["lung_xray"], Target(0))


def test_gradcam_matches_captum(tiny, tiny_input):
    ours = METHODS["gradcam"].explain(tiny, tiny_input, Target(1), {"layer": "layer2"}).map
    x = torch.from_numpy(tiny_input)
    ref = LayerGradCam(tiny.module, tiny.module.layer2).attribute(x, target=1, relu_attributions=True)
    ref = LayerAttribution.interpolate(ref, tuple(x.shape[-2:]), "bilinear")[0, 0].detach().numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("baseline", ["black", "mean"])
def test_integrated_gradients_matches_captum(tiny, tiny_input, baseline):
    ours = METHODS["integrated_gradients"].explain(tiny, tiny_input, Target(0),
                                                   {"steps": 32, "baseline": baseline})
    x = torch.from_numpy(tiny_input)
    base = -2.0 if baseline == "black" else float(tiny_input.mean())
    ref = IntegratedGradients(tiny.module).attribute(x, baselines=base, target=0, n_steps=32,
                                                     method="gausslegendre")
    np.testing.assert_allclose(ours.map, ref[0].sum(0).detach().numpy(), rtol=1e-3, atol=1e-5)


def test_integrated_gradients_is_complete(tiny, tiny_input):
    """Attributions sum to score(input) - score(baseline): the (x - baseline) factor is there."""
    e = METHODS["integrated_gradients"].explain(tiny, tiny_input, Target(1), {"steps": 64})
    scores = tiny.target_scores(np.concatenate([np.full_like(tiny_input, -2.0), tiny_input]), Target(1))
    assert e.map.sum() == pytest.approx(scores[1] - scores[0], rel=0.02, abs=1e-3)
    assert e.meta["completeness_error"] < 0.02 * max(abs(scores[1] - scores[0]), 0.05)


@pytest.mark.parametrize("window,stride", [(8, 4), (8, 8), (16, 8)])
def test_occlusion_matches_captum(tiny, tiny_input, window, stride):
    ours = METHODS["occlusion"].explain(tiny, tiny_input, Target(1), {"window": window, "stride": stride,
                                                                       "baseline": "black"})
    ref = Occlusion(tiny.module).attribute(torch.from_numpy(tiny_input), target=1, baselines=-2.0,
                                           sliding_window_shapes=(1, window, window),
                                           strides=(1, stride, stride))
    np.testing.assert_allclose(ours.map, ref[0, 0].numpy(), rtol=1e-4, atol=1e-5)
    assert ours.passes == ((32 - window) // stride + 1) ** 2 + 1

