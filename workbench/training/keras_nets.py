"""Compact Keras 3 networks for spectrograms: VGG16, MobileNetV2 and ResNet, each keeping its
architecture's defining structure at a fraction of the width and depth.

Built only from stock layers (no Lambda, no custom objects), so a saved `.keras` file loads with
`safe_mode=True` and nothing in it runs code. Input is channels-last, H x W x C; the adapter
moves the workbench's N x C x H x W batches there and back.

All three share one head (`frame_head`): a spoof score per time step, and the clip's logits from the
mean and the maximum of those scores. A partial spoof is a second or two of a 4 s window, which a
plain average over the window dilutes; training fits the per-step scores to the known spoofed span,
so each step's score, and hence their maximum, means something on its own.
"""

from __future__ import annotations

from collections.abc import Callable

from workbench.registry import Registry

FRAME_LAYER = "frame_logits"  # the per-step scores of `frame_head`, N x T x 1


def _keras():
    from workbench.models.keras_adapter import keras_module

    return keras_module()


def frame_head(x, num_classes: int, dropout: float = 0.0):
    """(logits, frame scores) from a mel x time x channels map: the map averaged over frequency, one
    linear spoof score per time step (`FRAME_LAYER`, N x T x 1), and the logits a linear function of
    the scores' mean and maximum over time."""
    layers = _keras().layers
    x = layers.AveragePooling2D((x.shape[1], 1), name="frequency_pool")(x)
    x = layers.Reshape((x.shape[2], x.shape[3]), name="frames")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    frames = layers.Dense(1, name=FRAME_LAYER)(x)
    pooled = layers.Concatenate(name="time_pool")([layers.GlobalAveragePooling1D(name="time_mean")(frames),
                                                   layers.GlobalMaxPooling1D(name="time_max")(frames)])
    return layers.Dense(num_classes, name="logits")(pooled), frames


def compact_vgg16(input_shape: tuple[int, int, int], num_classes: int, widths=(8, 16, 24, 32, 48),
                  convs=(2, 2, 3, 3, 3), first_stride: int = 1):
    """VGG16's five blocks of 2, 2, 3, 3, 3 3x3 convolutions, 2x2 max pools between blocks; batch norm after
    each convolution; `frame_head` instead of the 4096-unit fully connected layers. A `first_stride` of 2
    runs the first block at half the resolution and drops the last pool (same output grid), a quarter of
    the cost, so a CPU budget buys more data."""
    keras = _keras()
    layers = keras.layers
    inputs = keras.Input(input_shape, name="input")
    x = inputs
    pools = len(widths) + 1 - first_stride  # pool after blocks 1 .. pools-1
    for b, (width, n) in enumerate(zip(widths, convs), start=1):
        for c in range(1, n + 1):
            stride = first_stride if (b, c) == (1, 1) else 1
            x = layers.Conv2D(width, 3, strides=stride, padding="same", use_bias=False,
                              name=f"block{b}_conv{c}_conv")(x)
            x = layers.BatchNormalization(name=f"block{b}_conv{c}_bn")(x)
            x = layers.Activation("relu", name=f"block{b}_conv{c}")(x)
        if b < pools:
            x = layers.MaxPooling2D(2, name=f"block{b}_pool")(x)
    return keras.Model(inputs, frame_head(x, num_classes, dropout=0.2)[0], name="compact_vgg16")


def compact_mobilenetv2(input_shape: tuple[int, int, int], num_classes: int, stem: int = 16,
                        stages=((1, 8, 1, 1), (6, 12, 2, 2), (6, 16, 2, 2), (6, 24, 2, 2), (6, 32, 1, 1)),
                        last_channel: int = 128):
    """MobileNetV2's inverted residuals: 1x1 expansion (t), 3x3 depthwise, linear 1x1 projection,
    ReLU6, a shortcut when shape allows. `stages` are (t, c, n, s) rows as in the paper's table."""
    keras = _keras()
    layers = keras.layers
    inputs = keras.Input(input_shape, name="input")
    x = layers.Conv2D(stem, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(6.0, name="stem_relu")(x)
    block = 0
    for t, c, n, s in stages:
        for k in range(n):
            name, shortcut = f"block{block}", x
            width_in = x.shape[-1]
            if t != 1:
                x = layers.Conv2D(width_in * t, 1, use_bias=False, name=f"{name}_expand")(x)
                x = layers.BatchNormalization(name=f"{name}_expand_bn")(x)
                x = layers.ReLU(6.0, name=f"{name}_expand_relu")(x)
            x = layers.DepthwiseConv2D(3, strides=s if k == 0 else 1, padding="same", use_bias=False,
                                       name=f"{name}_depthwise")(x)
            x = layers.BatchNormalization(name=f"{name}_depthwise_bn")(x)
            x = layers.ReLU(6.0, name=f"{name}_depthwise_relu")(x)
            x = layers.Conv2D(c, 1, use_bias=False, name=f"{name}_project")(x)
            x = layers.BatchNormalization(name=f"{name}_project_bn")(x)
            if (s == 1 or k > 0) and width_in == c:
                x = layers.Add(name=f"{name}_add")([shortcut, x])
            block += 1
    x = layers.Conv2D(last_channel, 1, use_bias=False, name="head_conv")(x)
    x = layers.BatchNormalization(name="head_bn")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)
    return keras.Model(inputs, frame_head(x, num_classes, dropout=0.2)[0], name="compact_mobilenetv2")


def compact_resnet(input_shape: tuple[int, int, int], num_classes: int, widths=(16, 32, 64, 96),
                   blocks=(1, 1, 1, 1), strides=(1, 2, 2, 2)):
    """ResNet's basic blocks (two 3x3 convolutions and an identity or 1x1 projection shortcut) in four
    stages; a 3x3 stride-2 stem. Each stage's output is the layer named `layer1` ... `layer4`."""
    keras = _keras()
    layers = keras.layers
    inputs = keras.Input(input_shape, name="input")
    x = layers.Conv2D(widths[0], 3, strides=2, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.Activation("relu", name="stem")(x)
    for stage, (width, n, stride) in enumerate(zip(widths, blocks, strides), start=1):
        for k in range(n):
            name, s = f"layer{stage}_{k}", stride if k == 0 else 1
            shortcut = x
            if s != 1 or x.shape[-1] != width:
                shortcut = layers.Conv2D(width, 1, strides=s, use_bias=False, name=f"{name}_down")(x)
                shortcut = layers.BatchNormalization(name=f"{name}_down_bn")(shortcut)
            y = layers.Conv2D(width, 3, strides=s, padding="same", use_bias=False, name=f"{name}_conv1")(x)
            y = layers.BatchNormalization(name=f"{name}_bn1")(y)
            y = layers.Activation("relu", name=f"{name}_relu1")(y)
            y = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"{name}_conv2")(y)
            y = layers.BatchNormalization(name=f"{name}_bn2")(y)
            y = layers.Add(name=f"{name}_add")([shortcut, y])
            x = layers.Activation("relu", name=f"layer{stage}" if k == n - 1 else f"{name}_out")(y)
    return keras.Model(inputs, frame_head(x, num_classes)[0], name="compact_resnet")


KERAS_ARCHITECTURES: Registry[Callable] = Registry("keras architecture")
KERAS_ARCHITECTURES.register(compact_vgg16, key="keras_compact_vgg16")
KERAS_ARCHITECTURES.register(compact_mobilenetv2, key="keras_compact_mobilenetv2")
KERAS_ARCHITECTURES.register(compact_resnet, key="keras_compact_resnet")
