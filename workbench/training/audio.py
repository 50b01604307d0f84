"""Training and evaluation of the bundled Keras audio deepfake detectors (recipes.py has the recipes).

The folder written is Hub-format like every bundled model's: config.json (framework "keras"),
model.keras (stock layers only, loads in safe mode), training.json, ood.safetensors and the card.
Training fits the clip's logits and, through `frame_targets`, each time step's spoof score to the
known spoofed span. Evaluation reports balanced accuracy on windows held out by whole source clip and
TTS voice, and the detection rate of each spoof kind.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from workbench.data import speech
from workbench.evaluation.classification import classification_report
from workbench.models import ModelAdapter
from workbench.specs import SignalSpec
from workbench.tasks import GroundTruth
from workbench.tasks.audio import spectrogram_axes
from workbench.training.classifier import HELD_OUT, held_out_model, ood_card_section, write_hub_files
from workbench.training.ood import write_feature_stats
from workbench.training.recipes import Recipe


def _channels_last(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(x, 1, -1))


def frame_targets(spectrograms: np.ndarray, spans: np.ndarray, labels: np.ndarray, steps: int,
                  signal: SignalSpec) -> np.ndarray:
    """N x steps targets for the model's per-step spoof scores: 1 for a whole spoof's steps and for a
    partial spoof's steps inside its span (the rule that draws and scores a span on any map,
    `GroundTruth.as_mask`), 0 for bona fide steps, -1 (not scored) where most of a step's spectrogram
    frames are zero padding of a short window, which holds no evidence either way."""
    n, _, width = spectrograms.shape
    axes = spectrogram_axes(signal)
    spoofed = np.stack([np.full(steps, label > 0) if np.isnan(span).any()
                        else GroundTruth(span=(float(span[0]), float(span[1]))).as_mask((1, steps), axes)[0]
                        for span, label in zip(spans, labels)])
    per = -(-width // steps)
    padded = np.ones((n, steps * per), bool)
    padded[:, :width] = spectrograms.max(axis=1) <= 0  # a zero-padded frame is at the floor in every band
    targets = spoofed.astype(np.float32)
    targets[padded.reshape(n, steps, per).mean(2) > 0.5] = -1
    return targets


def _masked_step_loss(keras):
    """Binary cross-entropy of the per-step scores (N x T x 1), averaged over the steps that are scored."""
    ops = keras.ops

    def loss(y_true, y_pred):
        scored = ops.cast(y_true >= 0, y_pred.dtype)
        per_step = ops.binary_crossentropy(ops.maximum(y_true, 0.0), y_pred, from_logits=True)
        return ops.sum(per_step * scored, axis=(1, 2)) / ops.maximum(ops.sum(scored, axis=(1, 2)), 1.0)

    return loss


def train_keras(recipe: Recipe, out_dir: str | Path, n_train: int | None = None, n_val: int | None = None,
                epochs: int | None = None, seed: int = 0, n_ood: int = 2000,
                log: Callable[[str], None] = print) -> dict:
    """Train on freshly generated windows and write the model folder (with its OOD statistics)."""
    from workbench.models.keras_adapter import keras_module
    from workbench.training.keras_nets import FRAME_LAYER, KERAS_ARCHITECTURES

    keras = keras_module()
    n_train, n_val, epochs = n_train or recipe.n_train, n_val or recipe.n_val, epochs or recipe.epochs
    keras.utils.set_random_seed(seed)
    t0 = time.perf_counter()
    train_x, train_spans, train_y = recipe.make_dataset(n_train, seed=seed, split="train")
    val_x, _, val_y = recipe.make_dataset(n_val, seed=seed, split="val")
    log(f"generated {n_train} + {n_val} {recipe.case_word} in {time.perf_counter() - t0:.1f} s")
    x, xv = _channels_last(recipe.model_input(train_x)), _channels_last(recipe.model_input(val_x))
    spec = recipe.spec
    model = KERAS_ARCHITECTURES[recipe.architecture](input_shape=(spec.height, spec.width, spec.channels),
                                                     num_classes=len(recipe.labels), **recipe.arch)
    # Trained with two outputs, the clip's logits and the per-step spoof scores; saved with the first.
    frames = model.get_layer(FRAME_LAYER).output
    train_frames = frame_targets(train_x, train_spans, train_y, frames.shape[1], spec.signal)
    trainer = keras.Model(model.inputs, [model.output, frames])
    steps = epochs * -(-n_train // recipe.batch_size)
    trainer.compile(optimizer=keras.optimizers.AdamW(keras.optimizers.schedules.CosineDecay(recipe.lr, steps),
                                                     weight_decay=1e-4),
                    loss=[keras.losses.SparseCategoricalCrossentropy(from_logits=True), _masked_step_loss(keras)])
    scores: dict[str, float] = {}

    def validate(epoch: int, logs: dict) -> None:
        pred = model.predict(xv, batch_size=64, verbose=0).argmax(1)
        scores["val balanced accuracy"] = classification_report(val_y, pred, recipe.labels)["balanced_accuracy"]
        log(f"epoch {epoch + 1}/{epochs}: loss {logs['loss']:.4f}, val balanced accuracy "
            f"{scores['val balanced accuracy']:.4f}, {time.perf_counter() - t0:.0f} s")

    trainer.fit(x, (train_y, train_frames[..., None]), batch_size=recipe.batch_size, epochs=epochs, shuffle=True,
                verbose=0, callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=validate)])
    summary = {"n_train": n_train, "n_val": n_val, "epochs": epochs, "batch_size": recipe.batch_size,
               "lr": recipe.lr, "seed": seed, "val_balanced_accuracy": scores["val balanced accuracy"],
               "parameters": int(model.count_params()), "seconds": round(time.perf_counter() - t0, 1)}
    out = write_hub_files(out_dir, recipe, summary,
                          f"mono, {spec.signal.sample_rate} Hz, {spec.signal.seconds:g} s window, {spec.height}-band "
                          f"log-mel scaled to [0, 1], (x - {spec.mean[0]}) / {spec.std[0]}")
    model.save(out / "model.keras")
    write_feature_stats(out, recipe, seed=seed, n_fit=n_ood, n_held_out=max(n_ood // 4, 32))
    return summary


def evaluate_audio(model: str | ModelAdapter, recipe: Recipe, n: int = 1000, seed: int = HELD_OUT["seed"]) -> dict:
    """Balanced accuracy, per-class precision, recall and F1, and the detection rate of each kind of
    window (bona fide: called bona fide; each spoof kind: called spoof) on `n` held-out windows."""
    model = held_out_model(model)
    clips = speech.make_clips(n, seed=seed, split=HELD_OUT["split"])
    x = recipe.model_input(speech.spectrograms(clips.waves, model.info.input), model.info.input)
    pred = model.predict(x).argmax(1)
    correct = pred == clips.labels
    sources = np.array(clips.sources)
    per_kind = {kind: float(correct[clips.kinds == k].mean())
                for k, kind in enumerate(speech.KINDS) if (clips.kinds == k).any()}
    # Which held-out recording or voice fails, per kind: a bar passed on average can hide one.
    per_source = {kind: {str(s): round(float(correct[(clips.kinds == k) & (sources == s)].mean()), 3)
                         for s in sorted(set(sources[clips.kinds == k]))}
                  for k, kind in enumerate(speech.KINDS) if (clips.kinds == k).any()}
    return {"model": model.info.id, "n": n, "split": HELD_OUT["split"], "seed": seed,
            **classification_report(clips.labels, pred, recipe.labels), "detection_rate": per_kind,
            "detection_rate_by_source": per_source}


def write_audio_card(out_dir: str | Path, recipe: Recipe, summary: dict, evaluation: dict) -> Path:
    """README.md in Hugging Face model-card form, with the measured held-out numbers."""
    out = Path(out_dir)
    config = json.loads((out / "config.json").read_text())
    rows = "\n".join(f"| {label} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} |"
                     for label, m in evaluation["per_class"].items())
    worst = {kind: min(rates.items(), key=lambda item: item[1])
             for kind, rates in evaluation["detection_rate_by_source"].items()}
    kinds = "\n".join(f"| {kind} | {rate:.3f} | {worst[kind][1]:.3f} ({worst[kind][0]}) |"
                      for kind, rate in evaluation["detection_rate"].items())
    signal = recipe.spec.signal
    card = f"""---
license: mit
library_name: keras
pipeline_tag: audio-classification
tags: [xai-workbench, synthetic-spoofs, {recipe.tags}]
---

# {recipe.id}: {recipe.title}

**A teaching and research model, not a forensic tool.** {recipe.disclaimer}

## Model
{recipe.model_text} {summary["parameters"]:,} parameters; the exact configuration is `arch_params` in
config.json, and `model.keras` holds only stock Keras layers (it loads with `safe_mode=True`).
Input: a {signal.seconds:g} s mono window at {signal.sample_rate} Hz as a {recipe.spec.height}-band log-mel
spectrogram (FFT {signal.n_fft}, hop {signal.hop_length}, {signal.fmin:g}-{signal.fmax:g} Hz, {signal.top_db:g} dB
range scaled to [0, 1]), {recipe.spec.height}x{recipe.spec.width} (mel bands x frames), then
`(x - {recipe.spec.mean[0]}) / {recipe.spec.std[0]}`. Output: logits for `{config["labels"]}`.
Default Grad-CAM layer: `{config["target_layer"]}`.

## Training data
{summary["n_train"]} generated {recipe.case_word} (split `train`, seed {summary["seed"]}): {recipe.data_text}
Validation: {summary["n_val"]} {recipe.case_word} (split `val`: other windows of the training clips and voices).

## Training recipe
AdamW, lr {summary["lr"]} with cosine decay, batch {summary["batch_size"]}, {summary["epochs"]} epochs, seed
{summary["seed"]}; {summary["seconds"]:.0f} s on a 2-core CPU, data generation included.
Command: `python -m workbench.training train --recipe {recipe.id} --out models/{recipe.id}`
(or `{recipe.notebook}`).

## Held-out evaluation
{evaluation["n"]} {recipe.case_word} from sources never trained on (split `{evaluation["split"]}`, seed
{evaluation["seed"]}): the third recording of each language and espeak-ng voices and Griffin-Lim settings that
training never used. **Balanced accuracy {evaluation["balanced_accuracy"]:.3f}** (accuracy
{evaluation["accuracy"]:.3f}).

| class | precision | recall | F1 |
| --- | ---: | ---: | ---: |
{rows}

| kind of window | called correctly | worst recording or voice |
| --- | ---: | ---: |
{kinds}

Measured with `python -m workbench.training evaluate --recipe {recipe.id} --model {recipe.id} --n {evaluation["n"]}`.

## Out-of-distribution check
{ood_card_section(out, recipe)}

## Limits
{recipe.limits}
"""
    (out / "README.md").write_text(card)
    return out / "README.md"
