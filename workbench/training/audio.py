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

from workbench.evaluation.classification import classification_report
from workbench.models import ModelAdapter
from workbench.specs import SignalSpec
from workbench.tasks import GroundTruth
from workbench.tasks.spectrogram import spectrogram_axes
from workbench.training.audio_report import calibrate_detector, evaluate_detector
from workbench.training.classifier import HELD_OUT, held_out_model, ood_card_section, write_hub_files
from workbench.training.ood import write_feature_stats
from workbench.training.recipes import Recipe

LOEO_RESULTS = "benchmarks/results/audio_leave_one_engine_out.json"


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
                epochs: int | None = None, seed: int = 0, n_ood: int = 2000, exclude: tuple[str, ...] = (),
                n_long: int = 40, log: Callable[[str], None] = print) -> dict:
    """Train on freshly generated windows (without the `exclude`d spoof engines) and write the model folder: its
    OOD statistics, and its clip rule calibrated on `n_long` long real recordings of the validation speakers."""
    from workbench.models.keras_adapter import keras_module
    from workbench.training.keras_nets import FRAME_LAYER, KERAS_ARCHITECTURES

    keras = keras_module()
    n_train, n_val, epochs = n_train or recipe.n_train, n_val or recipe.n_val, epochs or recipe.epochs
    keras.utils.set_random_seed(seed)
    t0 = time.perf_counter()
    train_x, train_spans, train_y = recipe.make_dataset(n_train, seed=seed, split="train", exclude=exclude)
    val_x, _, val_y = recipe.make_dataset(n_val, seed=seed, split="val", exclude=exclude)
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
    if n_long:
        summary["calibration"] = calibrate_detector(out, n_val=n_val, n_long=n_long, seed=seed, log=log)
        (out / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def evaluate_audio(model: str | ModelAdapter, recipe: Recipe, n: int = 1000, seed: int = HELD_OUT["seed"],
                   n_long: int = 40, n_whole: int | None = None) -> dict:
    """The held-out report of `audio_report.evaluate_detector` (windows, whole and long recordings)."""
    return evaluate_detector(held_out_model(model), n=n, n_long=n_long, seed=seed, n_whole=n_whole)


def held_out_tables(evaluation: dict, loeo: dict | None = None) -> str:
    """The held-out numbers as the card's Markdown tables."""
    from workbench.data.spoof_engines import FAMILY

    languages = sorted(set(evaluation["window_bonafide_by_language"]) | set(evaluation["clip_bonafide_by_language"]))
    real = "\n".join(f"| {lang} | {_cell(evaluation['window_bonafide_by_language'].get(lang))} | "
                     f"{_cell(evaluation['clip_bonafide_by_language'].get(lang))} |" for lang in languages)
    spoofs = "\n".join(f"| {engine} ({FAMILY.get(engine, 'one span of a real window re-synthesised')}) | "
                       f"{_cell(evaluation['window_spoof_by_engine'].get(engine))} | "
                       f"{_cell(evaluation['clip_spoof_by_engine'].get(engine))} | "
                       f"{_left_out(loeo.get(engine)) if loeo else ''} |"
                       for engine in evaluation["window_spoof_by_engine"])
    long, everyone = evaluation["long"], evaluation["per_class"]["bonafide"]
    total = f"| **all** | {everyone['recall']:.3f} ({everyone['support']}) | {_cell(evaluation['clip_bonafide'])} |"
    flags = ", ".join(f"{kind} {share:.2f}" for kind, share in evaluation.get("ood_flagged", {}).items()) or "none"
    header = ("| spoof engine (held-out voices, settings, texts) | windows called spoof (n) | whole utterances (n) "
              "| left out of training: caught / bona fide kept (n, AUC; windows x epochs) |")
    return f"""| bona fide speech (held-out speakers) | windows called bona fide (n) | whole recordings (n) |
| --- | ---: | ---: |
{real}
{total}

{header}
| --- | ---: | ---: | ---: |
{spoofs}

Equal error rate on windows {evaluation["eer"]:.3f} (at p(spoof) {evaluation["eer_threshold"]:.3f}); ROC AUC
{evaluation["auc"]:.4f}. Long real recordings ({long["n"]}, 30-75 s): **{long["false_alarms"]:.3f} called spoof**;
the same recordings with one 1-3 s span re-synthesised: **{long["spliced_recall"]:.3f} caught**.
Flagged as unlike the training data by the OOD check (share of windows): {flags}."""


def _left_out(row: dict | None) -> str:
    """A leave-one-engine-out row: the left-out engine's windows caught, and that run's held-out bona fide recall
    beside it (a run that calls everything bona fide catches nothing and keeps every real window)."""
    if not row:
        return ""
    auc = f", AUC {row['auc']:.3f}" if "auc" in row else ""
    return f"{row['detected']:.3f} / {row['bonafide_recall']:.3f} ({row['n']}{auc}; {row['n_train']} x {row['epochs']})"


def _cell(entry: dict | None, key: str = "rate") -> str:
    return "" if not entry or entry.get(key) is None else f"{entry[key]:.3f} ({entry['n']})"


def write_audio_card(out_dir: str | Path, recipe: Recipe, summary: dict, evaluation: dict) -> Path:
    """README.md in Hugging Face model-card form, with the measured held-out numbers."""
    out = Path(out_dir)
    config = json.loads((out / "config.json").read_text())
    loeo_path = Path(__file__).resolve().parents[2] / LOEO_RESULTS
    loeo = json.loads(loeo_path.read_text()) if loeo_path.is_file() else None
    rule = summary.get("calibration")
    clip = config.get("clip_rule", {})
    signal = recipe.spec.signal
    over = ("" if summary["seconds"] <= 20 * 60 else " (**over the 20-minute budget**, measured while other jobs' "
            "tests shared the two cores for part of the run; docs/models.md gives the times on an idle machine)")
    card = f"""---
license: mit
library_name: keras
pipeline_tag: audio-classification
tags: [xai-workbench, synthetic-spoofs, librispeech, {recipe.tags}]
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
Validation: {summary["n_val"]} {recipe.case_word} (split `val`: 25 other LibriSpeech speakers).

Bona fide speech: **LibriSpeech ASR corpus** (Panayotov, Chen, Povey and Khudanpur, 2015; `train-clean-100`,
one utterance of each of 251 readers, CC BY 4.0, http://www.openslr.org/12) and **Mozilla Common Voice** (15
clips, CC0), read in place from `../shared/data/` and never copied into this folder.

## Training recipe
AdamW, lr {summary["lr"]} with cosine decay, batch {summary["batch_size"]}, {summary["epochs"]} epochs, seed
{summary["seed"]}; {summary["seconds"]:.0f} s on a 2-core CPU, data generation included{over}.
Command: `python -m workbench.training train --recipe {recipe.id} --out models/{recipe.id}`
(or `{recipe.notebook}`).

## The clip verdict
Window probabilities are calibrated: the logits are divided by a temperature of {config.get("temperature", 1):.3f}
fitted on the validation windows, and a window is called spoof from p(spoof) \u2265
{config.get("threshold", {}).get("probability", 0.5):.4f} (the validation windows' best balanced accuracy). A clip
is cut into 4 s windows; **the clip is spoof when its windows' pooled p(spoof) (the logistic of their mean
log-odds) reaches {clip.get("pooled", float("nan")):.4g}, or one window reaches p(spoof) \u2265
{clip.get("probability", 0.5):.6g}**; the most spoof-like window is the one shown and explained, and the app and the
CLI show the rule and the numbers that decided. The rule was calibrated on the validation speakers' real
recordings: {rule["n_short"] if rule else 0} whole and {rule["n"] if rule else 0} long ones (30-75 s): the lowest
pooled probability at which at most 2.5% of them are called spoof, and the lowest single-window probability that
calls no further one spoof (there: {rule["val_short_false_alarms"] if rule else float("nan"):.3f} of the whole and
{rule["val_long_false_alarms"] if rule else float("nan"):.3f} of the long recordings called spoof; the long ones with
one 1-3 s span re-synthesised caught {rule["val_long_spliced_recall"] if rule else float("nan"):.3f}). Pooling does
not punish a long recording for its many windows, as "any window spoof" did (one window in 40 was enough), and
it lets a whole spoofed utterance be caught without the near-certain window a "most spoof-like window" rule needs.

## Held-out evaluation
{evaluation["n"]} {recipe.case_word} (split `{evaluation["split"]}`, seed {evaluation["seed"]}) and whole recordings,
from 51 LibriSpeech speakers and the third Common Voice clip of each language that training never heard, and spoof
engine voices, settings and texts it never used. **Balanced accuracy {evaluation["balanced_accuracy"]:.3f}** on
windows (each window by argmax); whole recordings and utterances by the clip rule.

{held_out_tables(evaluation, loeo)}

"Left out of training": a model of the same recipe trained at a smaller budget without that engine's family: the
share of that engine's held-out windows it calls spoof, and of held-out bona fide windows it calls bona fide (a run
that learnt nothing shows 0 / 1) (`{LOEO_RESULTS}`, made by
`python -m workbench.training loeo --recipe audio_deepfake-mobilenetv2-compact`): how an engine nobody trained on
is caught. Measured with `python -m workbench.training evaluate --recipe {recipe.id} --model {recipe.id} --n
{evaluation["n"]}`.

## Out-of-distribution check
{ood_card_section(out, recipe)}

## Limits
{recipe.limits}
"""
    (out / "README.md").write_text(card)
    return out / "README.md"
