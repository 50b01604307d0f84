"""The methods of issue 42, proven by what does not depend on calling Captum again where that exists: Input x
Gradient by hand, DeepLIFT's and GradientSHAP's sums against the scores' gap, LRP's relevance by hand on a small
network; the portable three equal on the Keras and PyTorch twins and equal to Captum's; Captum's runs counted,
stoppable and leaving the model as it was; hidden, with the reason, where they do not apply."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import FeatureAblation, GradientShap, InputXGradient
from torch import nn

from workbench.interrupt import interruptible
from workbench.methods import METHODS
from workbench.models import Target, TorchAdapter
from workbench.specs import InputSpec
from workbench.tasks import TASKS

from .conftest import tiny_adapter, tiny_info
from .test_parity import SPEC, keras_twin, torch_net

LUNG = TASKS["lung_xray"]
CAPTUM = ("deeplift", "guided_backprop", "guided_gradcam", "lrp")
PORTABLE = {"input_x_gradient": {}, "gradient_shap": {"samples": 8, "noise": 0.1, "baseline": "mean"},
            "feature_ablation": {"superpixels": "grid", "superpixel_size": 4}}


def assert_same_map(ours: np.ndarray, reference: np.ndarray) -> None:
    scale = float(np.abs(reference).max())
    assert scale > 0, "a reference map of zeros proves nothing"
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-4 * scale)


class SmallCNN(nn.Module):
    """Convolutions, ReLU modules each run once, max- and average pooling, a linear head, a functional flatten (a
    view): every layer has a rule in Captum's LRP, so every method of this issue applies."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(5)
        self.conv1, self.relu1, self.pool = nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)
        self.conv2, self.relu2, self.gap = nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(6, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu2(self.conv2(self.pool(self.relu1(self.conv1(x)))))
        return self.head(self.gap(x).flatten(1))


class Residual(SmallCNN):
    """SmallCNN with a residual add around its second convolution."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.pool(self.relu1(self.conv1(x)))
        x = self.relu2(self.conv2(h) + h.repeat(1, 2, 1, 1)[:, :6])
        return self.head(self.gap(x).flatten(1))


def adapter(module: nn.Module, **info) -> TorchAdapter:
    return TorchAdapter(module, tiny_info(id=type(module).__name__.lower(), input=SPEC, target_layer="conv2", **info))


def sample(seed: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 1, (1, 1, 16, 16)).astype(np.float32)


def scores(module: nn.Module, batch: np.ndarray, c: int = 1) -> np.ndarray:
    with torch.no_grad():
        return module(torch.from_numpy(batch))[:, c].double().numpy()


def test_input_x_gradient_is_the_input_times_its_gradient_by_hand(tiny, tiny_input):
    x = torch.from_numpy(tiny_input).requires_grad_(True)
    (grad,) = torch.autograd.grad(tiny.module(x)[0, 1], x)
    e = METHODS["input_x_gradient"].explain(tiny, tiny_input, Target(1))
    assert_same_map(e.map, (tiny_input * grad.numpy())[0].sum(axis=0))
    assert (e.counted.forward, e.counted.backward) == (1, 1)


@pytest.mark.parametrize("baseline", ["black", "mean"])
def test_deeplift_sums_to_the_score_gap_within_captums_convergence_delta(baseline):
    model = adapter(SmallCNN())
    x = sample()
    e = METHODS["deeplift"].explain(model, x, Target(1), {"baseline": baseline})
    reference = np.full_like(x, -2.0) if baseline == "black" else np.full_like(x, x.mean())
    gap = float(np.diff(scores(model.module, np.concatenate([reference, x])))[0])
    delta = e.meta["convergence_delta"]
    assert abs(float(e.map.sum(dtype=np.float64)) - gap) <= delta + 1e-5 * abs(gap)
    assert delta < 0.05 * abs(gap), "near complete on a net of ReLUs and pools (Captum's max-pool rule is not exact)"


def gradient_shap_draws(x: np.ndarray, params: dict, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The points on the path and the noisy baselines the method draws from its seed, in its order."""
    rng = np.random.default_rng(seed)
    alphas = rng.uniform(0.0, 1.0, params["samples"])
    sigma = params["noise"] * float(x.max() - x.min())
    reference = np.full_like(x, x.mean()) if params["baseline"] == "mean" else np.full_like(x, -2.0)
    return alphas, reference + rng.normal(0.0, sigma, (params["samples"], *x.shape[1:])).astype(np.float32)


def captum_gradient_shap(module: nn.Module, x: np.ndarray, params: dict, seed: int, monkeypatch):
    """Captum's GradientShap given the method's draws: baseline i and point i for sample i."""
    import captum._utils.common as common
    import captum.attr._core.gradient_shap as gradient_shap

    alphas, baselines = gradient_shap_draws(x, params, seed)
    monkeypatch.setattr(common.np.random, "choice", lambda n, size: np.arange(size) % n)
    monkeypatch.setattr(gradient_shap.np.random, "uniform", lambda low, high, size: alphas[:size])
    attribution, delta = GradientShap(module).attribute(
        torch.from_numpy(x), torch.from_numpy(baselines), target=1, n_samples=params["samples"], stdevs=0.0,
        return_convergence_delta=True)
    return attribution[0].sum(0).detach().numpy(), delta.detach().numpy(), baselines


def test_gradient_shap_sums_to_the_mean_score_gap_within_captums_convergence_delta(monkeypatch):
    model, x, params = adapter(SmallCNN()), sample(), {"samples": 16, "noise": 0.2, "baseline": "black"}
    e = METHODS["gradient_shap"].explain(model, x, Target(1), params, seed=3)
    _, delta, baselines = captum_gradient_shap(model.module, x, params, 3, monkeypatch)
    gap = float(scores(model.module, x)[0] - scores(model.module, baselines).mean())
    assert abs(float(e.map.sum(dtype=np.float64)) - gap) <= abs(float(delta.mean())) + 1e-5 * abs(gap)
    assert e.counted.forward == e.counted.backward == 16


class Linear(nn.Module):
    """Two linear layers with a ReLU between, no biases: relevance has nowhere to go but the input."""

    def __init__(self) -> None:
        super().__init__()
        self.first, self.relu, self.second = nn.Linear(16, 5, bias=False), nn.ReLU(), nn.Linear(5, 2, bias=False)
        with torch.no_grad():
            self.first.weight.copy_(torch.from_numpy(np.random.default_rng(0).normal(0, 1, (5, 16))))
            self.second.weight.copy_(torch.tensor([[1.0, -1.0, 0.5, 0.2, 0.0], [0.7, 1.2, -0.6, 0.4, 1.1]]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.second(self.relu(self.first(x.flatten(1))))


def test_lrp_conserves_relevance_through_a_small_linear_network_and_equals_a_hand_computation():
    module = Linear()
    model = TorchAdapter(module, tiny_info(id="linear", input=InputSpec(4, 4, 1, (0.0,), (1.0,)), target_layer=""))
    assert METHODS["lrp"].is_compatible(LUNG, model)
    x = np.random.default_rng(1).normal(0, 1, (1, 1, 4, 4)).astype(np.float32)
    e = METHODS["lrp"].explain(model, x, Target(1))
    # by hand, the z-rule layer by layer: R_i = sum_j (a_i w_ji / z_j) R_j, starting from the logit; ReLU passes it on
    w1, w2 = module.first.weight.detach().double().numpy(), module.second.weight.detach().double().numpy()
    a0 = x.reshape(16).astype(np.float64)
    z1 = w1 @ a0
    a1 = np.maximum(z1, 0)
    logit = w2[1] @ a1
    r1 = a1 * w2[1] / logit * logit
    r0 = (a0[None, :] * w1 / np.where(z1 == 0, 1, z1)[:, None] * r1[:, None]).sum(axis=0)
    assert_same_map(e.map, r0.reshape(4, 4))
    assert float(e.map.sum(dtype=np.float64)) == pytest.approx(logit, rel=1e-5), "relevance conserved"
    assert e.meta["convergence_delta"] < 1e-5 * abs(logit)


@pytest.fixture(scope="module")
def twins():
    from workbench.models.keras_adapter import KerasAdapter

    module = torch_net()
    info = dict(input=SPEC, target_layer="conv3", arch_params={})
    return (TorchAdapter(module, tiny_info(id="twin-torch", **info)),
            KerasAdapter(keras_twin(module), tiny_info(id="twin-keras", framework="keras", **info)))


@pytest.mark.parametrize("method_id", PORTABLE)
def test_the_portable_three_equal_on_the_keras_twin_and_equal_captum_on_the_pytorch_twin(twins, method_id,
                                                                                        monkeypatch):
    pt, tf = twins
    x, params = sample(), PORTABLE[method_id]
    ours, keras = (METHODS[method_id].explain(model, x, Target(1), params, seed=11).map for model in twins)
    assert_same_map(keras, ours)
    inputs = torch.from_numpy(x)
    if method_id == "input_x_gradient":
        reference = InputXGradient(pt.module).attribute(inputs, target=1)[0].sum(0).detach().numpy()
    elif method_id == "gradient_shap":
        reference = captum_gradient_shap(pt.module, x, params, 11, monkeypatch)[0]
    else:
        segments = (np.arange(16)[:, None] // 4) * 4 + np.arange(16)[None, :] // 4
        reference = FeatureAblation(pt.module).attribute(inputs, target=1, baselines=-2.0,
                                                         feature_mask=torch.from_numpy(segments)[None, None])[0, 0]
        reference = reference.numpy()
    assert_same_map(ours, reference)


def hooks_and_attributes(module: nn.Module) -> list:
    return [(name, len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks),
             len(m._backward_pre_hooks), sorted(vars(m))) for name, m in module.named_modules()]


@pytest.mark.parametrize("method_id", CAPTUM)
def test_a_captum_run_is_counted_removes_its_hooks_and_restores_the_shared_model(method_id):
    model = adapter(SmallCNN())
    module = model.module.train()
    assert METHODS[method_id].is_compatible(LUNG, model)
    before, weights = hooks_and_attributes(module), {k: v.clone() for k, v in module.state_dict().items()}
    method, x = METHODS[method_id], sample()
    params = method.resolve_params(model, None)
    seen = []
    e = method.explain(model, x, Target(1), params, progress=seen.append)
    cost = method.cost(model, x, params)
    assert (e.counted.forward, e.counted.backward) == (cost.forward, cost.backward) and seen[-1] == 1.0
    assert hooks_and_attributes(module) == before, "Captum's hooks and attributes taken off"
    assert all(torch.equal(v, weights[k]) for k, v in module.state_dict().items())
    assert module.training and all(p.requires_grad for p in module.parameters())
    assert model.lock.waiting() == 0 and np.abs(e.map).max() > 0


class Stopped(Exception):
    """What Streamlit's StopException is to the app."""


def test_a_stop_ends_a_captum_run_at_its_first_pass_and_leaves_the_model_as_it_was():
    model = adapter(SmallCNN())
    before = hooks_and_attributes(model.module)

    def stop() -> None:
        raise Stopped

    with interruptible(stop), pytest.raises(Stopped):
        METHODS["lrp"].explain(model, sample(), Target(1))
    assert hooks_and_attributes(model.module) == before
    assert METHODS["lrp"].explain(model, sample(), Target(1)).passes == 3, "the model still works, lock free"


def test_lrp_is_hidden_with_its_reason_on_a_residual_model_found_by_a_probe():
    residual, plain = adapter(Residual()), adapter(SmallCNN())
    reason = METHODS["lrp"].incompatibility(LUNG, residual)
    assert "residual add" in reason and "'relu2'" in reason and "\n" not in reason
    assert METHODS["lrp"].is_compatible(LUNG, plain), "the same layers without the add: offered"
    assert METHODS["deeplift"].is_compatible(LUNG, residual), "DeepLIFT's rule needs no more than its ReLUs"
    assert "Flatten" in METHODS["lrp"].incompatibility(LUNG, adapter(torch_net())), "a layer without a rule"
    assert "runs 'layer1.0.relu' twice" in METHODS["deeplift"].incompatibility(LUNG, tiny_adapter())


def test_captum_methods_are_hidden_on_keras_models_with_the_reason_and_the_portable_three_offered(twins):
    keras = twins[1]
    for method_id in CAPTUM:
        reason = METHODS[method_id].incompatibility(LUNG, keras)
        assert reason.startswith("runs through Captum") and "\n" not in reason, method_id
    assert all(METHODS[m].is_compatible(LUNG, keras) for m in PORTABLE)


def test_the_command_line_names_each_refused_method_with_its_reason(twins):
    from workbench.errors import InputError
    from workbench.service import check_methods

    with pytest.raises(InputError, match=r"\['lrp'\] do not apply .* lrp: runs through Captum, which explains PyTorch"):
        check_methods(LUNG, twins[1], ["input_x_gradient", "lrp"])
