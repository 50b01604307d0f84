"""The Keras adapter: same interface as PyTorch's, checked against hand computations and finite
differences; loaded from a Hub-format folder in safe mode; TensorFlow imported only when needed."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from workbench.errors import ModelError
from workbench.methods import METHODS
from workbench.models import Target, load_model, predict
from workbench.specs import InputSpec, SignalSpec
from workbench.tasks import TASKS

from .conftest import ROOT, write_tiny_keras

SPEC = InputSpec(32, 48, 1, (0.5,), (0.25,), SignalSpec(seconds=0.75, n_mels=32))


def write_keras_folder(folder, arch: str = "keras_compact_resnet", params: dict | None = None,
                       target_layer: str = "layer4"):
    return write_tiny_keras(folder, SPEC, arch, params, target_layer)


@pytest.fixture(scope="module")
def keras_model(tmp_path_factory):
    return load_model(str(write_keras_folder(tmp_path_factory.mktemp("keras") / "tiny-keras")))


@pytest.fixture
def x() -> np.ndarray:
    return np.random.default_rng(1).normal(0, 1, (3, 1, SPEC.height, SPEC.width)).astype(np.float32)


def test_outputs_match_keras_itself_and_layouts_are_nchw(keras_model, x):
    direct = keras_model.model(np.moveaxis(x, 1, -1), training=False).numpy()
    outputs, (act,) = keras_model.outputs_and_activations(x, ["layer4"])
    np.testing.assert_allclose(outputs, direct, rtol=1e-5, atol=1e-6)
    assert act.shape == (3, 8, 4, 6)  # N x C x h x w: 32x48 -> stem /2, strides 1/2/2/1
    np.testing.assert_allclose(keras_model.predict(x).sum(1), 1, rtol=1e-6)


def test_input_gradients_match_finite_differences(tmp_path, x):
    """On a smooth network (tanh, so no ReLU kinks between the probes), gradient . v equals the central
    difference of the score along random directions."""
    from workbench.models.keras_adapter import keras_module

    keras = keras_module()
    keras.utils.set_random_seed(0)
    inputs = keras.Input((SPEC.height, SPEC.width, 1))
    hidden = keras.layers.Conv2D(6, 3, strides=2, activation="tanh", name="conv")(inputs)
    outputs = keras.layers.Dense(2, name="logits")(keras.layers.GlobalAveragePooling2D()(hidden))
    folder = write_keras_folder(tmp_path / "smooth", target_layer="conv")
    keras.Model(inputs, outputs).save(folder / "model.keras")
    model, target, h = load_model(str(folder)), Target(1), 0.05
    grads = model.input_gradients(x[:1], target)
    for seed in range(3):
        v = np.random.default_rng(seed).normal(0, 1, x[:1].shape).astype(np.float32)
        scores = model.target_scores(np.concatenate([x[:1] + h * v, x[:1] - h * v]), target).astype(np.float64)
        assert float((grads * v).sum()) == pytest.approx((scores[0] - scores[1]) / (2 * h), rel=0.01)


def test_layer_gradients_follow_the_frame_head_by_hand(keras_model, x):
    """The head scores each time step, s_t = v . mean_f A[:, f, t] + v0, and logit_c = a_c mean_t s_t +
    b_c max_t s_t + bias, so d logit_c / d A[k, f, t] = v_k / h (a_c / w + b_c [t is the argmax])."""
    acts, grads = keras_model.activations_and_gradients(x, Target(0), "layer4")
    v, v0 = keras_model.model.get_layer("frame_logits").get_weights()  # K x 1, 1
    (a, b), _ = keras_model.model.get_layer("logits").get_weights()  # rows: mean, max
    h, w = acts.shape[-2:]
    steps = np.einsum("nkt,k->nt", acts.mean(axis=2), v[:, 0]) + v0[0]
    top = np.eye(w)[steps.argmax(axis=1)]  # N x w
    expected = v[:, 0][None, :, None, None] / h * (a[0] / w + b[0] * top[:, None, None, :])
    np.testing.assert_allclose(grads, np.broadcast_to(expected, grads.shape), rtol=1e-4, atol=1e-7)


def test_step_scores_are_the_heads_own_scores_and_the_verdict_follows_from_them(keras_model, x):
    """The map is each time step's score, s_t = v . mean_f A[:, f, t] + v0 (computed here from the
    last feature map by hand), over the columns of its time; the clip's logits are a . mean_t s +
    b . max_t s + bias; explaining the other class flips the sign."""
    method = METHODS["step_scores"]
    assert method.is_compatible(TASKS["audio_deepfake"], keras_model)
    out, (acts,) = keras_model.outputs_and_activations(x[:1], ["layer4"])
    v, v0 = keras_model.model.get_layer("frame_logits").get_weights()
    steps = np.einsum("kt,k->t", acts[0].mean(axis=1), v[:, 0]) + v0[0]
    (a, b), bias = keras_model.model.get_layer("logits").get_weights()
    np.testing.assert_allclose(out[0], a * steps.mean() + b * steps.max() + bias, rtol=1e-4, atol=1e-5)

    spoof = method.explain(keras_model, x[:1], Target(1))
    assert len(steps) == 6  # 48 frames: stem /2, strides 1/2/2/1 -> 6 steps of exactly 8 frames each
    columns = np.repeat(np.arange(6), 8)
    np.testing.assert_allclose(spoof.map, np.broadcast_to(steps[columns], spoof.map.shape), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(spoof.meta["step_probabilities"], 1 / (1 + np.exp(-steps)), atol=1e-4)
    assert spoof.passes == 1 and spoof.signed
    np.testing.assert_array_equal(method.explain(keras_model, x[:1], Target(0)).map, -spoof.map)


def test_a_step_covers_the_columns_whose_centres_fall_in_its_share_of_the_window():
    from workbench.methods.intrinsic import step_columns

    # column centres 0.05, 0.15 ... 0.95 of the window; step t covers [t / 4, (t + 1) / 4)
    assert list(step_columns(4, 10)) == [0, 0, 1, 1, 1, 2, 2, 3, 3, 3]
    assert list(step_columns(3, 3)) == [0, 1, 2] and list(step_columns(1, 5)) == [0] * 5


def test_a_config_naming_a_step_class_the_model_lacks_is_refused(tmp_path):
    folder = write_keras_folder(tmp_path / "bad-steps")
    config = json.loads((folder / "config.json").read_text())
    config["step_scores"]["positive"] = "deepfake"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="step_scores.positive must be one of"):
        load_model(str(folder))


def test_passes_are_counted(keras_model, x):
    with keras_model.counting() as count:
        keras_model.input_gradients(x, Target(1))
    assert (count.forward, count.backward) == (3, 3)


def test_layers_list_feature_maps_with_the_config_layer_first(keras_model):
    layers = keras_model.layers()
    assert layers[0] == "layer4" and "stem" in layers and "layer2_0_conv1" in layers
    assert not any(name.endswith("_bn1") or name == "pool" for name in layers)


@pytest.mark.parametrize("method_id", ["gradcam", "integrated_gradients", "occlusion"])
def test_methods_explain_a_keras_model_on_frequency_by_time(keras_model, x, method_id):
    method = METHODS[method_id]
    assert method.is_compatible(TASKS["audio_deepfake"], keras_model)
    e = method.explain(keras_model, x[:1], Target(1), method.quick_params(keras_model), seed=3)
    assert e.map.shape == (SPEC.height, SPEC.width) and np.isfinite(e.map).all() and np.abs(e.map).max() > 0
    again = method.explain(keras_model, x[:1], Target(1), method.quick_params(keras_model), seed=3)
    np.testing.assert_array_equal(e.map, again.map)
    assert e.passes == method.cost(keras_model, x[:1], method.resolve_params(
        keras_model, method.quick_params(keras_model))).passes


def test_integrated_gradients_is_complete_on_keras(keras_model, x):
    e = METHODS["integrated_gradients"].explain(keras_model, x[:1], Target(1), {"steps": 64})
    scores = keras_model.target_scores(np.concatenate([np.full_like(x[:1], -2.0), x[:1]]), Target(1))
    delta = float(scores[1] - scores[0])
    assert float(e.map.sum()) == pytest.approx(delta, abs=0.02 * abs(delta) + 1e-3)


@pytest.mark.parametrize("arch,params,layer", [
    ("keras_compact_vgg16", {"widths": [4, 4, 6, 6, 8], "convs": [2, 2, 3, 3, 3]}, "block5_conv3"),
    ("keras_compact_mobilenetv2", {"stem": 8, "stages": [[1, 4, 1, 1], [6, 6, 2, 2]], "last_channel": 16},
     "out_relu"),
])
def test_every_keras_architecture_loads_and_predicts(tmp_path, arch, params, layer):
    model = load_model(str(write_keras_folder(tmp_path / arch, arch, params, layer)))
    x = np.zeros((1, 1, SPEC.height, SPEC.width), np.float32)
    assert predict(model, x).probabilities.keys() == {"bonafide", "spoof"}
    assert model.layers()[0] == layer
    assert METHODS["gradcam"].explain(model, x + 0.5, Target(1)).map.shape == (SPEC.height, SPEC.width)


def test_a_strided_first_vgg_block_keeps_the_grid_the_head_and_cam_read():
    """`first_stride=2` halves the first block (256 x 251 -> 128 x 126, 'same' padding rounds up) and drops the
    last pool, so the CAM layer is 16 x 15 either way: 256/16 = 16 bands; 251 -> 125 -> 62 -> 31 -> 15 steps
    pooled four times, or 126 -> 63 -> 31 -> 15 after the stride and three pools."""
    from workbench.training.keras_nets import compact_vgg16

    plain, strided = (compact_vgg16((256, 251, 1), 2, widths=(4, 4, 6, 6, 8), first_stride=s) for s in (1, 2))
    assert plain.get_layer("block1_conv1").output.shape[1:3] == (256, 251)
    assert strided.get_layer("block1_conv1").output.shape[1:3] == (128, 126)
    assert plain.get_layer("block5_conv3").output.shape[1:3] == strided.get_layer("block5_conv3").output.shape[1:3]
    assert strided.get_layer("block5_conv3").output.shape[1:3] == (16, 15)
    assert "block4_pool" in {layer.name for layer in plain.layers} - {layer.name for layer in strided.layers}


def test_code_in_a_keras_file_is_refused(tmp_path):
    """A Lambda layer is code: safe mode will not deserialise it, and the user gets a ModelError."""
    from workbench.models.keras_adapter import keras_module

    keras = keras_module()
    inputs = keras.Input((SPEC.height, SPEC.width, 1))
    outputs = keras.layers.Dense(2)(keras.layers.Flatten()(keras.layers.Lambda(lambda t: t * 2)(inputs)))
    folder = write_keras_folder(tmp_path / "lambda")
    keras.Model(inputs, outputs).save(folder / "model.keras")
    with pytest.raises(ModelError, match="could not be loaded safely"):
        load_model(str(folder))


def test_a_keras_file_of_the_wrong_input_shape_is_refused(tmp_path):
    folder = write_keras_folder(tmp_path / "shape")
    config = json.loads((folder / "config.json").read_text())
    config["input"]["width"] = 40
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="config.json says"):
        load_model(str(folder))


def test_tensorflow_and_transformers_are_imported_only_for_the_models_that_need_them():
    code = ("import sys, workbench; from workbench.models import load_model; "
            "load_model('lung_xray-resnet-compact'); "
            "print('tensorflow' in sys.modules or 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


def test_a_randomised_keras_copy_changes_the_named_layers_trainable_weights_only(keras_model, x):
    """The top weighted layer gets new weights; every other weight, and the shared model itself, stay as they were;
    a batch norm's moving statistics are never randomised."""
    before = keras_model.outputs(x)
    top = keras_model.weighted_layers()[0]
    copy = keras_model.randomised([top], seed=1)
    for layer in keras_model.model.layers:
        new = copy.model.get_layer(layer.name)
        trainable = {id(v) for v in new.trainable_weights}
        for old_w, new_v in zip(layer.get_weights(), new.weights):
            changed = not np.array_equal(old_w, new_v.numpy())
            assert changed == (layer.name == top and id(new_v) in trainable), layer.name
    np.testing.assert_array_equal(keras_model.outputs(x), before)
    assert copy.key != keras_model.key
