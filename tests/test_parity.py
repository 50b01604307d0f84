"""One tiny CNN in PyTorch and in Keras with the same weights: every method gives the same map on both.

Gradient and CAM methods must agree to 1e-4 of the map's largest magnitude; perturbation methods too, given
the same seed (their samples are drawn from the seed, not from the framework).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from workbench.methods import METHODS
from workbench.models import Target, TorchAdapter
from workbench.specs import InputSpec

from .conftest import tiny_info

SPEC = InputSpec(16, 16, 1, (0.5,), (0.25,))
LAYER = "conv3"


def torch_net() -> nn.Module:
    torch.manual_seed(4)
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(1, 4, 3, padding=1)), ("relu1", nn.ReLU()),
        ("conv2", nn.Conv2d(4, 6, 3, padding=1)), ("relu2", nn.ReLU()), ("pool", nn.MaxPool2d(2)),
        ("conv3", nn.Conv2d(6, 8, 3, padding=1)), ("relu3", nn.ReLU()),
        ("gap", nn.AdaptiveAvgPool2d(1)), ("flat", nn.Flatten()), ("logits", nn.Linear(8, 2))]))


def keras_twin(module: nn.Module):
    """The same network in Keras (channels last), its weights copied from the PyTorch one."""
    from workbench.models.keras_adapter import keras_module

    keras = keras_module()
    layers = keras.layers
    inputs = keras.Input((SPEC.height, SPEC.width, SPEC.channels))
    h = inputs
    for name in ("conv1", "conv2", "conv3"):
        conv = getattr(module, name)
        keras_conv = layers.Conv2D(conv.out_channels, 3, padding="same", name=name)
        h = keras_conv(h)
        keras_conv.set_weights([conv.weight.detach().numpy().transpose(2, 3, 1, 0), conv.bias.detach().numpy()])
        h = layers.ReLU(name=name.replace("conv", "relu"))(h)
        if name == "conv2":
            h = layers.MaxPooling2D(2, name="pool")(h)
    dense = layers.Dense(2, name="logits")
    outputs = dense(layers.GlobalAveragePooling2D(name="gap")(h))
    dense.set_weights([module.logits.weight.detach().numpy().T, module.logits.bias.detach().numpy()])
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def twins():
    from workbench.models.keras_adapter import KerasAdapter

    module = torch_net()
    info = dict(input=SPEC, target_layer=LAYER, arch_params={})
    return (TorchAdapter(module, tiny_info(id="twin-torch", **info)),
            KerasAdapter(keras_twin(module), tiny_info(id="twin-keras", framework="keras", **info)))


def test_the_twins_compute_the_same_function(twins):
    pt, tf = twins
    x = np.random.default_rng(0).normal(0, 1, (4, 1, 16, 16)).astype(np.float32)
    np.testing.assert_allclose(pt.outputs(x), tf.outputs(x), rtol=1e-5, atol=1e-5)


PARAMS = {"gradcam": {"layer": LAYER}, "gradcam_pp": {"layer": LAYER}, "normgrad_o0": {"layers": ["conv2", LAYER]},
          "normgrad_o1": {"layers": ["conv2", LAYER]}, "saliency": {},
          "integrated_gradients": {"steps": 16, "baseline": "mean"}, "smoothgrad": {"samples": 8},
          "occlusion": {"window_height": 4, "window_width": 4, "stride_height": 2, "stride_width": 2},
          "lime": {"samples": 100, "superpixels": "grid", "superpixel_size": 4},
          "kernel_shap": {"samples": 100, "superpixels": "grid", "superpixel_size": 4, "baseline": "blur"},
          "input_x_gradient": {}, "gradient_shap": {"samples": 8, "baseline": "blur"},
          "feature_ablation": {"superpixels": "grid", "superpixel_size": 4}}


def test_every_post_hoc_method_on_both_frameworks_is_in_the_parity_check():
    # the model's own step scores, and the trivial baselines (they never read the model), are left out
    assert set(PARAMS) == {m.id for m in METHODS.values()
                           if m.family not in ("intrinsic", "baseline") and "keras" in m.frameworks}


@pytest.mark.parametrize("method_id", PARAMS)
def test_each_method_gives_the_same_map_on_both_frameworks(twins, method_id):
    pt, tf = twins
    x = np.random.default_rng(2).normal(0, 1, (1, 1, 16, 16)).astype(np.float32)
    maps = [METHODS[method_id].explain(model, x, Target(1), PARAMS[method_id], seed=11).map for model in twins]
    scale = float(np.abs(maps[0]).max())
    assert scale > 0
    np.testing.assert_allclose(maps[1], maps[0], rtol=0, atol=1e-4 * scale)
