"""A Keras 3 model (TensorFlow backend) behind the adapter interface.

This module imports TensorFlow, so nothing imports it until a Keras model is loaded (models/__init__
registers a loader that imports it on first use); it imports torch._dynamo (which loads triton) on
the line before TensorFlow (environment.md: TensorFlow before triton segfaults). Batches arrive
N x C x H x W like every adapter's; Keras layers are channels-last, so the adapter moves the channel axis in and out.
Gradients come from `tf.GradientTape`; activations and their gradients from a functional
sub-model that returns the layer's output beside the head's. Passes run as traced graphs (`_graph`), not eagerly.
"""

from __future__ import annotations

import collections
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from workbench.device import TENSORFLOW
from workbench.errors import ModelError, converted
from workbench.models.adapter import ModelAdapter, random_like, randomised_revision
from workbench.models.config import ModelInfo
from workbench.models.target import Target, target_score

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow 2.21's oneDNN kernels corrupt the heap in a GradientTape on this CPU (SIGSEGV or
# "double free", with or without torch loaded); the stock kernels are exact and deterministic.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

# The torch-before-TensorFlow guard: triton (loaded by torch._dynamo) must be in the process before
# TensorFlow, or the two LLVMs collide and Python segfaults (environment.md). This is the only module
# that imports TensorFlow or Keras, so the guard lives here, on the line before them.
import torch._dynamo  # noqa: E402, F401

# isort: split
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

KEPT_GRAPHS = 32  # sub-models and traced graphs an adapter keeps (least recently used dropped)
# Layer types whose outputs are feature maps worth a CAM (normalisation, padding and pooling are not).
_CAM_LAYERS = ("Conv2D", "DepthwiseConv2D", "Activation", "ReLU", "Add", "MaxPooling2D")


def feature_map_layers(model: keras.Model) -> list[str]:
    """Layers whose output is a feature map worth a CAM (convolutions, activations, sums), input to output."""
    return [la.name for la in model.layers if type(la).__name__ in _CAM_LAYERS and len(la.output.shape) == 4]


def keras_module():
    """Keras, for code that builds models (training) and should not import TensorFlow itself."""
    return keras


class TFOps:
    """The score operator's tensor operations in TensorFlow."""

    log = staticmethod(tf.math.log)
    clip = staticmethod(tf.clip_by_value)

    @staticmethod
    def sum(t: Any, axes: tuple[int, ...]) -> Any:
        return tf.reduce_sum(t, axis=axes)

    @staticmethod
    def constant(array: np.ndarray, like: Any) -> Any:
        return tf.constant(array, dtype=like.dtype)


def _nhwc(batch: np.ndarray) -> tf.Tensor:
    return tf.constant(np.ascontiguousarray(np.moveaxis(batch, 1, -1), dtype=np.float32))


def _as_list(out: Any) -> list[tf.Tensor]:
    return list(out) if isinstance(out, list | tuple) else [out]  # one output comes back bare


def _nchw(t: tf.Tensor) -> np.ndarray:
    array = t.numpy()
    return np.ascontiguousarray(np.moveaxis(array, -1, 1)) if array.ndim == 4 else array


class KerasAdapter(ModelAdapter):
    device = TENSORFLOW  # TensorFlow places the model itself (its GPU build on a GPU; here the CPU)

    def __init__(self, model: keras.Model, info: ModelInfo, traced: bool = True) -> None:
        """`traced`: passes run as traced graphs (`_graph`); a randomised copy, used for a few passes, runs eagerly."""
        super().__init__(info)
        self.model = model
        self.traced = traced
        self._submodels: collections.OrderedDict[tuple[str, ...], keras.Model] = collections.OrderedDict()
        self._compiled: collections.OrderedDict[tuple, Any] = collections.OrderedDict()  # traced graphs, by what
        self._stores_lock = threading.Lock()

    @classmethod
    def from_folder(cls, info: ModelInfo) -> KerasAdapter:
        """Read `model.keras` in safe mode: a Lambda layer or custom object (code) is refused."""
        path = info.path / "model.keras"
        if not path.exists():
            raise ModelError(f"model '{info.id}' has no model.keras (a Keras 3 file).")
        try:
            model = keras.saving.load_model(str(path), compile=False, safe_mode=True)
        except Exception as err:  # noqa: BLE001 - a damaged file fails in Keras' own ways (a cut one: BadZipFile)
            raise converted(ModelError(f"model '{info.id}': model.keras could not be loaded safely: "
                                       f"{str(err).splitlines()[0]}"), err) from None
        expected = (info.input.height, info.input.width, info.input.channels)
        if tuple(model.input_shape[1:]) != expected:
            raise ModelError(f"model '{info.id}': model.keras takes {tuple(model.input_shape[1:])} "
                             f"(H, W, C); config.json says {expected}.")
        return cls(model, info)

    def _kept(self, store: collections.OrderedDict, key: tuple, make: Callable[[], Any]) -> Any:
        """`store[key]`, made by `make` when missing. Sessions share the adapter, so the stores are guarded by their
        own lock, and bounded (the least recently used entry goes): each layer choice and class makes a graph."""
        with self._stores_lock:
            if key in store:
                store.move_to_end(key)
                return store[key]
            store[key] = value = make()
            if len(store) > KEPT_GRAPHS:
                store.popitem(last=False)
            return value

    def _submodel(self, layers: Sequence[str]) -> keras.Model:
        """The model returning the head's output and then each of `layers`' outputs."""
        try:
            outs = [self.model.get_layer(name).output for name in layers]
        except ValueError:
            missing = [n for n in layers if n not in {la.name for la in self.model.layers}]
            raise ValueError(f"model '{self.info.id}' has no layer(s) {missing}.") from None
        return self._kept(self._submodels, tuple(layers),
                          lambda: keras.Model(self.model.inputs, [self.model.output, *outs]))

    def _chunks(self, batch: np.ndarray) -> Iterator[np.ndarray]:
        for i in range(0, len(batch), self.batch_size):
            yield batch[i:i + self.batch_size]

    def _forward(self, layers: Sequence[str]) -> Any:
        """x -> [the head's output, *the layers' outputs], as a TensorFlow graph: eager Keras spends milliseconds a
        layer, which made a deletion curve of an audio window twice as slow."""
        sub = self._submodel(layers)
        return self._graph(("forward", *layers), lambda x: _as_list(sub(x, training=False)))

    def _graph(self, key: tuple, fn: Any) -> Any:
        """`fn` traced once (the batch size left open, so no batch traces it again) and kept under `key`; tracing
        takes about a second, so an adapter used for a few passes (`traced=False`) runs `fn` eagerly."""
        if not self.traced:
            return fn
        spec = tf.TensorSpec((None, *self.model.input_shape[1:]), tf.float32)
        return self._kept(self._compiled, key, lambda: tf.function(fn, input_signature=[spec]))

    def _gradients(self, layers: Sequence[str], target: Target) -> Any:
        """x -> (the layers' outputs, the gradients of the summed target score with respect to them, or to x when no
        layer is asked for), as a graph per sub-model and class. A target with a region runs eagerly: its pixels
        would make a new graph for every region."""
        sub = self._submodel(layers)

        def gradients(x: tf.Tensor) -> tuple[list[tf.Tensor], Any]:
            with tf.GradientTape() as tape:
                tape.watch(x)  # records every op, frozen weights or not
                out, *outs = _as_list(sub(x, training=False))
                for a in outs:
                    tape.watch(a)
                total = tf.reduce_sum(self._score(out, target))
            return outs, tape.gradient(total, outs if layers else x)

        return gradients if target.region is not None else self._graph(("gradients", target.class_index, *layers),
                                                                       gradients)

    def _score(self, output: tf.Tensor, target: Target) -> tf.Tensor:
        if len(output.shape) == 4:
            output = tf.transpose(output, (0, 3, 1, 2))  # segmentation logits to N x K x H x W
        return target_score(output, target, TFOps, self.info.output)

    def outputs_and_activations(self, batch: np.ndarray,
                                layers: Sequence[str]) -> tuple[np.ndarray, list[np.ndarray]]:
        forward = self._forward(layers)
        outputs, acts = [], [[] for _ in layers]
        with self.lock:
            for chunk in self._chunks(batch):
                self._count(forward=len(chunk))
                out, *layer_outs = forward(_nhwc(chunk))
                outputs.append(_nchw(out))
                for store, a in zip(acts, layer_outs):
                    store.append(_nchw(a))
        return np.concatenate(outputs), [np.concatenate(a) for a in acts]

    def target_scores(self, batch: np.ndarray, target: Target) -> np.ndarray:
        forward = self._forward(())
        scores = []
        with self.lock:
            for chunk in self._chunks(batch):
                self._count(forward=len(chunk))
                scores.append(self._score(forward(_nhwc(chunk))[0], target).numpy())
        return np.concatenate(scores)

    def input_gradients(self, batch: np.ndarray, target: Target) -> np.ndarray:
        gradients = self._gradients((), target)
        grads = []
        with self.lock:
            for chunk in self._chunks(batch):
                self._count(forward=len(chunk), backward=len(chunk))
                grads.append(_nchw(gradients(_nhwc(chunk))[1]))
        return np.concatenate(grads)

    def layer_gradients(self, batch: np.ndarray, target: Target,
                        layers: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        gradients = self._gradients(layers, target)
        acts: list[list[np.ndarray]] = [[] for _ in layers]
        grads: list[list[np.ndarray]] = [[] for _ in layers]
        with self.lock:
            for chunk in self._chunks(batch):
                self._count(forward=len(chunk), backward=len(chunk))
                outs, outs_grads = gradients(_nhwc(chunk))
                for store_a, store_g, a, g in zip(acts, grads, outs, outs_grads):
                    store_a.append(_nchw(a))
                    store_g.append(_nchw(g))
        return [(np.concatenate(a), np.concatenate(g)) for a, g in zip(acts, grads)]

    def layers(self) -> list[str]:
        """Layers whose output is a feature map (convolutions, activations, sums), config's first."""
        names = feature_map_layers(self.model)
        if self.info.target_layer in names:
            names.remove(self.info.target_layer)
        return [self.info.target_layer, *names] if self.info.target_layer else names

    def weighted_layers(self) -> list[str]:
        return [la.name for la in self.model.layers if la.trainable_weights][::-1]

    def randomised(self, layers: Sequence[str], seed: int) -> KerasAdapter:
        """Only trainable weights change: a batch norm's moving statistics stay (a random variance could
        be negative)."""
        rng = np.random.default_rng(seed)
        with self.lock:
            clone = keras.models.clone_model(self.model)
            clone.set_weights(self.model.get_weights())
        for name in layers:
            for variable in clone.get_layer(name).trainable_weights:
                variable.assign(random_like(rng, np.asarray(variable.numpy())))
        return KerasAdapter(clone, randomised_revision(self.info, layers, seed), traced=False)
