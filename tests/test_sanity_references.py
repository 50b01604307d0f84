"""The three model-randomisation checks (`workbench.metrics.sanity`) against Quantus 0.6's `MPRT`, `SmoothMPRT` and
`EfficientMPRT` on the tiny PyTorch model, at matched settings: the same cascading copies, the same explainer, the
same similarity (Spearman) or complexity (100-bin discrete entropy), the same noise draws.

Where Quantus cannot be matched as it ships, the test makes it use what we use, and docs/evaluation.md says so:
- its copies come from each layer's `reset_parameters` (PyTorch's initialiser, BN statistics reset too, reseeded
  seed + 1 per layer); ours draw Gaussian weights at each tensor's own spread. The test pins that it randomises the
  same layers in the same order as ours, then gives its loop our copies (a patched `get_random_layer_generator`).
- `SmoothMPRT` calls `quantus.explain` (its own Captum/Zennit wrappers) instead of the metric's `explain_func`, and
  draws fresh noise from numpy's global generator for every model; the test routes `quantus.explain` to our
  method and feeds `np.random.randn` our draws (we reuse one set of draws for every model: common random numbers).
- it ranks |map| by default (`abs=True`) where we rank the signed map: `abs=False` here."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch._dynamo  # noqa: F401 - triton before TensorFlow, which Quantus imports past our guard

from workbench.methods import METHODS
from workbench.metrics import sanity
from workbench.metrics.sanity import SANITY_CHECKS
from workbench.models import Target

quantus = pytest.importorskip("quantus")
PyTorchModel = pytest.importorskip("quantus.helpers.model.pytorch_model").PyTorchModel
METHOD = "saliency"  # continuous maps: no ties for the two Spearman implementations to order differently


@pytest.fixture
def matched(tiny, tiny_input, monkeypatch):
    """Quantus's randomisation loop on our cascading copies (every layer one at a time, top down), and an
    explain_func that runs our method on whichever copy Quantus hands it."""
    layers = tiny.weighted_layers()
    adapters = {id(tiny.module): tiny}

    def our_copies(self, order="top_down", seed=42):
        for k in range(1, len(layers) + 1):
            damaged = tiny.randomised(layers[:k], 0)
            adapters[id(damaged.module)] = damaged
            yield layers[k - 1], damaged.module

    def explain(model, inputs, targets, **kwargs):
        adapter = adapters[id(model)]
        return np.stack([METHODS[METHOD].explain(adapter, np.asarray(one[None], np.float32), Target(int(t))).map
                         for one, t in zip(inputs, targets)])[:, None]

    monkeypatch.setattr(PyTorchModel, "get_random_layer_generator", our_copies)
    monkeypatch.setattr(PyTorchModel, "random_layer_generator_length", property(lambda self: len(layers)))
    warnings.filterwarnings("ignore")
    e = METHODS[METHOD].explain(tiny, tiny_input, Target(1))
    return {"layers": layers, "explain": explain, "e": e,
            "call": dict(model=tiny.module, x_batch=tiny_input, y_batch=np.array([1]), a_batch=None,
                         explain_func=explain, device="cpu")}


def test_quantus_randomises_the_layers_we_randomise_in_our_order(tiny):
    """The one thing not shared in the tests below: which layers, in which order. Quantus takes every module with
    `reset_parameters`, top down; we take every module with weights of its own, output first: on this network the
    same list."""
    names = [n for n, _ in PyTorchModel(tiny.module, channel_first=True).get_random_layer_generator("top_down")]
    assert names == tiny.weighted_layers()


def test_cascading_check_equals_quantus_mprt_layer_by_layer(matched, tiny, tiny_input):
    ours = sanity.model_randomisation(tiny, tiny_input, matched["e"], steps=len(matched["layers"]), seed=0)
    theirs = quantus.MPRT(similarity_func=quantus.similarity_func.correlation_spearman, layer_order="top_down",
                          abs=False, normalise=False, disable_warnings=True)(**matched["call"])
    assert theirs.pop("original") == [pytest.approx(1.0)]
    assert list(theirs) == [s["down_to"] for s in ours["steps"]]
    np.testing.assert_allclose([v[0] for v in theirs.values()], [s["spearman"] for s in ours["steps"]], atol=1e-9)


def test_smooth_check_equals_quantus_smooth_mprt_with_the_same_noise(matched, tiny, tiny_input, monkeypatch):
    samples, noise = 3, 0.1
    draws = sanity.noise_draws(tiny_input.shape, samples, 0)
    calls = []

    def randn(*shape):  # Quantus's draws, one per noisy copy: ours, in our order, for every model
        calls.append(shape)
        return draws[(len(calls) - 1) % len(draws)].reshape(shape)

    monkeypatch.setattr(np.random, "randn", randn)
    monkeypatch.setattr(quantus, "explain", matched["explain"])
    ours = sanity.smooth_model_randomisation(tiny, tiny_input, matched["e"], steps=len(matched["layers"]), seed=0,
                                             samples=samples, noise=noise)
    theirs = quantus.SmoothMPRT(similarity_func=quantus.similarity_func.correlation_spearman, layer_order="top_down",
                                abs=False, normalise=False, nr_samples=samples, noise_magnitude=noise,
                                disable_warnings=True)(**matched["call"])
    assert len(calls) % (samples - 1) == 0 and calls, "Quantus drew the noise we gave it"
    theirs.pop("original")
    np.testing.assert_allclose([v[0] for v in theirs.values()], [s["spearman"] for s in ours["steps"]], atol=1e-6)
    assert ours["samples"] == samples and ours["passed"] == (abs(ours["steps"][-1]["spearman"]) < sanity.PASS_BELOW)


def test_efficient_check_equals_quantus_efficient_mprt(matched, tiny, tiny_input):
    """Quantus reports the relative rise in entropy, (after - before) / before: our ratio minus one."""
    ours = sanity.efficient_model_randomisation(tiny, tiny_input, matched["e"], seed=0)
    metric = quantus.EfficientMPRT(layer_order="top_down", complexity_func_kwargs={"n_bins": sanity.ENTROPY_BINS},
                                   disable_warnings=True)
    theirs = metric(**matched["call"])
    assert theirs[0] == pytest.approx(ours["complexity_ratio"] - 1, abs=1e-9)
    by_layer = metric.explanation_scores_by_layer
    assert by_layer["orig"][0] == pytest.approx(ours["entropy_before"])
    assert by_layer[matched["layers"][-1]][0] == pytest.approx(ours["entropy_after"])
    m = np.random.default_rng(1).normal(size=(16, 16))
    assert sanity.discrete_entropy(m) == pytest.approx(quantus.complexity_func.discrete_entropy(m, m, n_bins=100))


def test_each_check_is_in_the_registry_with_its_rule_and_leaves_the_shared_model_alone(tiny, tiny_input):
    """One contract for the three: a name, what it measures, how it decides, what it costs, and a result with a
    verdict, a summary and its steps. No check writes a random weight into the model it is given."""
    assert SANITY_CHECKS.ids()[0] == sanity.DEFAULT_CHECK == "mprt"
    assert set(SANITY_CHECKS.ids()) == {"mprt", "smprt", "emprt"}
    before = {k: v.clone() for k, v in tiny.module.state_dict().items()}
    e = METHODS[METHOD].explain(tiny, tiny_input, Target(1))
    for check in SANITY_CHECKS.values():
        assert check.name and check.what_it_measures and check.passes_when and check.cost
        result = check.run(tiny, tiny_input, e, seed=0)
        assert result["check"] == check.id and isinstance(result["passed"], bool) and result["summary"]
        assert result["steps"] and result["steps"][-1]["layers_randomised"] == len(tiny.weighted_layers())
    assert all(torch.equal(before[k], v) for k, v in tiny.module.state_dict().items())


def test_the_smooth_check_removes_noise_driven_dissimilarity(tiny, tiny_input):
    """Why sMPRT exists: a noisy method differs from itself on the unchanged model, and averaging over noisy copies
    brings two runs with different noise closer. Here: the smoothed maps of two draws of noise agree better than
    two single noisy maps do."""
    e = METHODS[METHOD].explain(tiny, tiny_input, Target(1))
    method = METHODS[METHOD]

    def smoothed(seed: int, samples: int) -> np.ndarray:
        draws = sanity.noise_draws(tiny_input.shape, samples + 1, seed)
        return sanity.smoothed_map(method, tiny, tiny_input, e, draws[:samples], 0.2,
                                   plain=np.zeros_like(e.map))  # noise only: the plain map is left out
    single = sanity.spearman(smoothed(1, 1), smoothed(2, 1))
    averaged = sanity.spearman(smoothed(1, 4), smoothed(2, 4))
    assert averaged > single


def test_the_efficient_check_passes_a_map_that_gains_entropy_and_fails_a_constant_one():
    """The verdict rule on maps made by hand: entropy of a two-value map is log 2; a uniform spread over 100 bins
    is log 100; a constant map has none."""
    two = np.zeros((10, 10))
    two[:5] = 1.0
    assert sanity.discrete_entropy(two) == pytest.approx(np.log(2))
    assert sanity.discrete_entropy(np.arange(100.0).reshape(10, 10)) == pytest.approx(np.log(100))
    assert sanity.discrete_entropy(np.ones((4, 4))) == 0.0
