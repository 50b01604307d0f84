"""Each method against an independent reference, on a tiny model built here and on a bundled model.

References: Captum (Saliency, NoiseTunnel, Integrated Gradients, Occlusion, LayerGradCam), pytorch-grad-cam
(GradCAM, GradCAMPlusPlus), the `lime` package called the usual way on full images, Shapley values and
NormGrad computed by hand. "Equal" means within 1e-4 of the reference map's largest magnitude.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients, NoiseTunnel, Occlusion
from captum.attr import Saliency as CaptumSaliency
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn

from workbench.methods import METHODS
from workbench.methods.superpixels import segment
from workbench.methods.surrogate import library_seed
from workbench.models import Target, TorchAdapter, nets
from workbench.specs import InputSpec

from .conftest import tiny_adapter, tiny_info

TOLERANCE = 1e-4


def assert_same_map(ours: np.ndarray, reference: np.ndarray) -> None:
    scale = float(np.abs(reference).max())
    assert scale > 0, "a reference map of zeros proves nothing"
    np.testing.assert_allclose(ours, reference, rtol=0, atol=TOLERANCE * scale)


def sample_input(model: TorchAdapter) -> np.ndarray:
    h, w = model.info.input.size
    return np.random.default_rng(1).normal(0, 1, (1, model.info.input.channels, h, w)).astype(np.float32)


@pytest.fixture(params=["tiny", "bundled"])
def case(request):
    """(model, input, class) on the tiny random ResNet and on the bundled lung model with a real sample."""
    if request.param == "tiny":
        model = tiny_adapter()
        return model, sample_input(model), 1
    model = request.getfixturevalue("bundled")
    task = request.getfixturevalue("lung_task")
    sample = next(s for s in task.samples() if s.truth_path is not None)
    return model, task.preprocess(task.decode(sample.path.read_bytes()), model.info.input), 1


def test_saliency_equals_captum(case):
    model, x, c = case
    ours = METHODS["saliency"].explain(model, x, Target(c)).map
    ref = CaptumSaliency(model.module).attribute(torch.from_numpy(x), target=c, abs=True)
    assert_same_map(ours, ref[0].max(dim=0).values.numpy())


def test_saliency_takes_the_largest_channel_magnitude_of_a_colour_input():
    arch = {**tiny_info().arch_params, "in_channels": 3}
    torch.manual_seed(0)
    model = TorchAdapter(nets.build("compact_resnet", **arch),
                         tiny_info(arch_params=arch, input=InputSpec(32, 32, 3, (0.5,) * 3, (0.25,) * 3)))
    x = sample_input(model)
    ours = METHODS["saliency"].explain(model, x, Target(0)).map
    ref = CaptumSaliency(model.module).attribute(torch.from_numpy(x), target=0, abs=True)[0]
    assert_same_map(ours, ref.max(dim=0).values.numpy())


def test_smoothgrad_equals_captums_noise_tunnel_with_the_same_noise(case, monkeypatch):
    model, x, c = case
    samples, noise_level, seed = 6, 0.2, 7
    sigma = noise_level * float(x.max() - x.min())
    noise = np.random.default_rng(seed).normal(0.0, sigma, (samples, *x.shape[1:])).astype(np.float32)
    ours = METHODS["smoothgrad"].explain(model, x, Target(c), {"samples": samples, "noise": noise_level}, seed)

    def same_noise(mean, std):  # Captum draws its noise with torch.normal(0, stdev expanded to the batch)
        assert mean == 0 and tuple(std.shape) == noise.shape and float(std[0, 0, 0, 0]) == pytest.approx(sigma)
        return torch.from_numpy(noise)

    monkeypatch.setattr(torch, "normal", same_noise)
    ref = NoiseTunnel(CaptumSaliency(model.module)).attribute(
        torch.from_numpy(x), nt_type="smoothgrad", nt_samples=samples, stdevs=sigma, target=c, abs=False)
    assert_same_map(ours.map, ref[0].abs().max(dim=0).values.numpy())


def test_integrated_gradients_equals_captum(case):
    model, x, c = case
    ours = METHODS["integrated_gradients"].explain(model, x, Target(c), {"steps": 32, "baseline": "black"}).map
    black = float(model.info.input.normalize(np.zeros((1, 1, 1)))[0, 0, 0])
    ref = IntegratedGradients(model.module).attribute(torch.from_numpy(x), baselines=black, target=c, n_steps=32,
                                                      method="gausslegendre")
    assert_same_map(ours, ref[0].sum(0).detach().numpy())


def test_occlusion_equals_captum(case):
    model, x, c = case
    params = {"window_height": 16, "window_width": 8, "stride_height": 8, "stride_width": 8, "baseline": "black"}
    ours = METHODS["occlusion"].explain(model, x, Target(c), params).map
    black = float(model.info.input.normalize(np.zeros((1, 1, 1)))[0, 0, 0])
    ref = Occlusion(model.module).attribute(torch.from_numpy(x), target=c, baselines=black,
                                            sliding_window_shapes=(1, 16, 8), strides=(1, 8, 8))
    assert_same_map(ours, ref[0, 0].numpy())


@pytest.mark.parametrize("method_id,reference", [("gradcam", GradCAM), ("gradcam_pp", GradCAMPlusPlus)])
def test_cams_equal_pytorch_grad_cam(case, method_id, reference):
    """pytorch-grad-cam scales each map to [0, 1] before resizing it (both steps linear), so ours must equal
    it up to one positive scale and offset: fitted here, then checked pixel by pixel."""
    model, x, c = case
    layer = model.info.target_layer
    ours = METHODS[method_id].explain(model, x, Target(c), {"layer": layer}).map
    with reference(model=model.module, target_layers=[dict(model.module.named_modules())[layer]]) as cam:
        ref = cam(input_tensor=torch.from_numpy(x), targets=[ClassifierOutputTarget(c)])[0]
    (scale, offset), *_ = np.linalg.lstsq(np.stack([ours.ravel(), np.ones(ours.size)], 1), ref.ravel(), rcond=None)
    assert scale > 0
    assert_same_map(scale * ours + offset, ref)


def lime_reference(model: TorchAdapter, x: np.ndarray, c: int, segments: np.ndarray, samples: int, seed: int):
    """lime_image as its documentation uses it: full H x W x C images, lime masking them, batches of 10."""
    from lime import lime_image

    def classifier(images: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            logits = model.module(torch.from_numpy(np.moveaxis(images, -1, 1).astype(np.float32)))
        return logits[:, c:c + 1].numpy()

    black = float(model.info.input.normalize(np.zeros((1, 1, 1)))[0, 0, 0])
    result = lime_image.LimeImageExplainer(kernel_width=0.25, random_state=seed).explain_instance(
        np.moveaxis(x[0], 0, -1).astype(np.float64), classifier, labels=(0,), hide_color=black, top_labels=None,
        num_samples=samples, segmentation_fn=lambda _image: segments, random_seed=seed)
    weights = np.zeros(int(segments.max()) + 1)
    for feature, weight in result.local_exp[0]:
        weights[feature] = weight
    return weights[segments]


@pytest.mark.parametrize("superpixels", ["slic", "grid"])
def test_lime_equals_the_lime_library_called_directly(case, superpixels):
    model, x, c = case
    params = {"samples": 150, "superpixels": superpixels, "superpixel_size": 8, "kernel_width": 0.25,
              "baseline": "black"}
    ours = METHODS["lime"].explain(model, x, Target(c), params, seed=5)
    segments = segment(model, x, superpixels, 8)
    assert ours.meta["superpixels"] == segments.max() + 1 > 4
    ref = lime_reference(model, x, c, segments, 150, library_seed(np.random.default_rng(5)))
    assert_same_map(ours.map, ref)


def linear_model() -> TorchAdapter:
    """A model whose class-1 score is w . x + b: linear in the input, so in every superpixel too."""
    torch.manual_seed(3)
    module = nn.Sequential(nn.Flatten(), nn.Linear(16 * 16, 2))
    return TorchAdapter(module, tiny_info(id="linear", input=InputSpec(16, 16, 1, (0.5,), (0.25,))))


@pytest.mark.parametrize("samples", [40, 400])
def test_kernel_shap_gives_exact_shapley_values_on_a_model_linear_in_the_superpixels(samples):
    """By hand: for f(z) = f(baseline) + sum_i z_i c_i, feature i's Shapley value is c_i, the sum of w_p (x_p - b_p)
    over its pixels. Exact with fewer samples than the 2^16 - 2 coalitions too: the regression is exact."""
    model = linear_model()
    x = sample_input(model)
    e = METHODS["kernel_shap"].explain(model, x, Target(1), {"samples": samples, "superpixels": "grid",
                                                             "superpixel_size": 4, "baseline": "black"})
    w = model.module[1].weight[1].detach().numpy().reshape(16, 16)
    contribution = w * (x[0, 0] - (-2.0))  # black is (0 - 0.5) / 0.25 = -2 in the model's scale
    segments = (np.arange(16)[:, None] // 4) * 4 + np.arange(16)[None, :] // 4
    by_hand = np.array([contribution[segments == k].sum() for k in range(16)])[segments]
    assert_same_map(e.map, by_hand)


def test_kernel_shap_values_add_up_to_the_score_gap_on_the_bundled_model(bundled, lung_task):
    sample = next(s for s in lung_task.samples() if s.truth_path is not None)
    x = lung_task.preprocess(lung_task.decode(sample.path.read_bytes()), bundled.info.input)
    e = METHODS["kernel_shap"].explain(bundled, x, Target(1), {"samples": 200, "superpixel_size": 24}, seed=2)
    segments = segment(bundled, x, "slic", 24)
    values = np.array([e.map[segments == k][0] for k in range(segments.max() + 1)])
    with torch.no_grad():
        black = np.full_like(x, -float(bundled.info.input.mean[0]) / bundled.info.input.std[0])
        scores = bundled.module(torch.from_numpy(np.concatenate([x, black])))[:, 1].numpy()
    assert values.sum() == pytest.approx(float(scores[0] - scores[1]), abs=1e-4 * float(abs(scores).max()))


class OneConv(nn.Module):
    """conv (1 -> 2 channels, 3 x 3, padding 1) -> ReLU -> mean over the map -> a weighted sum of the channels."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1, bias=False)
        self.v = torch.tensor([[0.0, 0.0], [1.5, -0.5]])  # class 1's weight on each channel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x)).mean(dim=(2, 3)) @ self.v.T


@pytest.mark.parametrize("method_id", ["normgrad_o0", "normgrad_o1"])
def test_normgrad_on_a_small_convolution_computed_by_hand(method_id):
    module = OneConv()
    kernel = np.array([[[1, 0, -1], [2, 0, -2], [1, 0, -1]], [[0, 1, 0], [1, -4, 1], [0, 1, 0]]], np.float32)
    with torch.no_grad():
        module.conv.weight.copy_(torch.from_numpy(kernel[:, None]))
    model = TorchAdapter(module, tiny_info(id="oneconv", input=InputSpec(5, 5, 1, (0.0,), (1.0,)), target_layer="conv"))
    x = np.arange(25, dtype=np.float32).reshape(1, 1, 5, 5) % 7
    # by hand: A_k = x correlated with kernel k (zero padded); dscore/dA_k = v_k / 25 where A_k > 0
    padded = np.pad(x[0, 0], 1)
    acts = np.array([[[(padded[i:i + 3, j:j + 3] * k).sum() for j in range(5)] for i in range(5)] for k in kernel])
    grads = np.array([1.5, -0.5])[:, None, None] / 25 * (acts > 0)
    grad_norm = np.sqrt((grads**2).sum(0))
    if method_id == "normgrad_o0":
        by_hand = grad_norm * np.sqrt((acts**2).sum(0))
    else:
        sq = np.pad((acts**2).sum(0), 1)
        by_hand = grad_norm * np.sqrt(np.array([[sq[i:i + 3, j:j + 3].sum() for j in range(5)] for i in range(5)]))
    e = METHODS[method_id].explain(model, x, Target(1), {"layers": ["conv"]})
    assert_same_map(e.map, by_hand)
    assert (e.counted.forward, e.counted.backward) == (1, 1), "one forward and one backward, no copies of the model"


def test_normgrad_over_several_layers_multiplies_the_maps_each_scaled_to_one(tiny, tiny_input):
    method = METHODS["normgrad_o1"]
    single = [method.explain(tiny, tiny_input, Target(1), {"layers": [name]}).map for name in ("layer1", "layer2")]
    both = method.explain(tiny, tiny_input, Target(1), {"layers": "layer1+layer2"})
    scaled = [(m - m.min()) / (m.max() - m.min()) for m in single]
    assert_same_map(both.map, scaled[0] * scaled[1])
    assert both.params["layers"] == ["layer1", "layer2"] and both.passes == 2


def test_integrated_gradients_equals_captum_on_a_piecewise_linear_densenet(lung_task):
    """The compact DenseNet (ReLU, max-pooling) once differed from Captum by 8e-4 of the map: a path built in
    float64 rounds differently from Captum's float32 one, and at a kink the step's gradient jumps."""
    from workbench.models import load_model

    model = load_model("lung_xray-densenet121-compact")
    sample = next(s for s in lung_task.samples() if s.truth_path is not None)
    test_integrated_gradients_equals_captum((model, lung_task.preprocess(
        lung_task.decode(sample.path.read_bytes()), model.info.input), 1))


def shap_seeded_globally(model: TorchAdapter, x: np.ndarray, c: int, segments: np.ndarray, samples: int,
                         seed: int) -> np.ndarray:
    """shap's KernelExplainer as its documentation seeds it (numpy's global generator, np.random.seed), on
    superpixel coalitions scored by the torch module itself (each off superpixel black)."""
    import shap

    n = int(segments.max()) + 1
    black = (0.0 - model.info.input.mean[0]) / model.info.input.std[0]

    def f(rows: np.ndarray) -> np.ndarray:
        on = rows[:, segments] > 0.5  # rows x H x W
        images = np.where(on[:, None], x[0][None], np.float32(black)).astype(np.float32)
        with torch.no_grad():
            return model.module(torch.from_numpy(images))[:, c].numpy().astype(np.float64)

    state = np.random.get_state()
    try:
        np.random.seed(seed)
        values = shap.KernelExplainer(f, np.zeros((1, n))).shap_values(np.ones((1, n)), nsamples=samples,
                                                                         l1_reg=False, silent=True)
    finally:
        np.random.set_state(state)
    return np.asarray(values, np.float64).reshape(n)[segments]


def test_kernel_shap_draws_from_its_own_generator_yet_equals_shap_seeded_globally():
    """Fewer samples than coalitions, so the values depend on which coalitions are drawn: ours (a generator of the
    run's own, no lock) equal shap's with np.random.seed, also from two threads at once; numpy's global generator
    is left where it was."""
    import threading

    model = tiny_adapter(seed=3)
    x = sample_input(model)
    params = {"samples": 60, "superpixels": "grid", "superpixel_size": 8, "baseline": "black"}
    segments = (np.arange(32)[:, None] // 8) * 4 + np.arange(32)[None, :] // 8  # 16 squares of 8 x 8
    np.random.seed(11)
    expected_next = np.random.random()
    np.random.seed(11)
    maps = {}

    def run(seed: int) -> None:
        maps[seed] = METHODS["kernel_shap"].explain(model, x, Target(1), params, seed=seed).map

    threads = [threading.Thread(target=run, args=(seed,)) for seed in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert np.random.random() == expected_next, "numpy's global generator untouched"
    for seed in (1, 2):
        reference = shap_seeded_globally(model, x, 1, segments, 60, library_seed(np.random.default_rng(seed)))
        np.testing.assert_allclose(maps[seed], reference, rtol=1e-6, atol=1e-6)
    assert not np.allclose(maps[1], maps[2]), "the seed matters at 60 of 65,534 coalitions"
