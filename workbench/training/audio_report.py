"""The audio detectors' held-out report: windows, whole recordings and long recordings, per language and per
spoof engine; the clip rule's calibration; and the leave-one-engine-out runs.

Held out means never trained on: LibriSpeech speakers of the test split, the third Common Voice clip of each
language, and for every engine voices, settings and texts of its own (`spoof_engines.SETTINGS`).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from workbench.data import long_speech, sound_probes, speech
from workbench.data.augment import Augmentation
from workbench.evaluation.classification import classification_report, roc_auc
from workbench.models import ModelAdapter
from workbench.specs import ClipRule
from workbench.tasks import TASKS

SPLIT, SEED = "test", 0
SPOOF = speech.LABELS.index("spoof")
# The clip rule's target: at most this share of long real recordings called spoof (calibrated on `val`).
LONG_FALSE_ALARMS = 0.05


def equal_error_rate(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """(EER, threshold): where the share of bona fide called spoof equals the share of spoofs called bona fide,
    over every threshold among the scores (the mean of the two rates at the closest point)."""
    labels, scores = np.asarray(labels, bool), np.asarray(scores, np.float64)
    best = (2.0, 0.5, 0.0)
    for t in np.unique(scores):
        far, frr = float((scores[~labels] >= t).mean()), float((scores[labels] < t).mean())
        if abs(far - frr) < best[0]:
            best = (abs(far - frr), (far + frr) / 2, float(t))
    return best[1], best[2]


def _spoof_scores(model: ModelAdapter, waves: list[np.ndarray] | np.ndarray) -> np.ndarray:
    """P(spoof) of every window, 4 s windows given as rows."""
    x = model.info.input.normalize(speech.spectrograms(np.asarray(waves), model.info.input))[:, None]
    return np.concatenate([model.predict(x[k:k + 64])[:, SPOOF] for k in range(0, len(x), 64)])


def clip_scores(model: ModelAdapter, clip: np.ndarray) -> np.ndarray:
    """P(spoof) of each window of a clip, cut as the app and the CLI cut it."""
    task = TASKS["audio_deepfake"]
    return model.predict(task.preprocess_windows(clip, model.info.input))[:, SPOOF]


def clip_verdict(scores: np.ndarray, rule: ClipRule | None) -> bool:
    """Spoof or not, by the model's clip rule (`AudioTask.verdict`)."""
    return TASKS["audio_deepfake"].verdict(_as_probabilities(scores), rule).label == "spoof"


def long_scores(model: ModelAdapter, split: str, n: int, seed: int = SEED) -> dict[str, list[np.ndarray]]:
    """Window P(spoof) of n long real recordings and of the same recordings with one spliced span."""
    out: dict[str, list[np.ndarray]] = {"real": [], "spliced": []}
    for i in range(n):
        for key, spoofed in (("real", False), ("spliced", True)):
            clip, _, _ = long_speech.long_clip(seed, split, i, spoofed)
            out[key].append(clip_scores(model, clip))
    return out


def calibrate_clip_rule(model: ModelAdapter, n: int = 40, seed: int = SEED,
                        share: float = LONG_FALSE_ALARMS) -> dict:
    """The clip rule (`ClipRule`) on the validation speakers' real recordings, whole, and n long ones: the pooled
    probability is the lowest at which at most half of `share` of them are called spoof (half, to leave room for
    the held-out speakers); the single-window probability the lowest at which no other one is."""
    short = [clip_scores(model, clip) for _, clip in whole_recordings("val", seed)]
    long = long_scores(model, "val", n, seed)
    rule = fit_clip_rule(short + long["real"], share / 2)
    return {"probability": rule.probability, "pooled": rule.pooled, "n": n, "n_short": len(short), "split": "val",
            "val_short_false_alarms": float(np.mean([clip_verdict(s, rule) for s in short])),
            "val_long_false_alarms": float(np.mean([clip_verdict(s, rule) for s in long["real"]])),
            "val_long_spliced_recall": float(np.mean([clip_verdict(s, rule) for s in long["spliced"]]))}


def fit_clip_rule(real: list[np.ndarray], share: float) -> ClipRule:
    """The clip rule for real recordings' window P(spoof): the lowest pooled probability at most `share` of them
    reach, then the lowest single-window probability that no recording left bona fide by the pooled part reaches."""
    pooled_real = np.array([ClipRule.pooled_probability(s) for s in real])
    pooled = lowest_probability(pooled_real, share)
    probability = lowest_probability(np.array([s.max() for s, p in zip(real, pooled_real) if p < pooled]), 0.0)
    return ClipRule("spoof", probability, pooled)


def calibrate_detector(folder: str | Path, n_val: int = 400, n_long: int = 40, seed: int = SEED,
                       log: Callable[[str], None] = print) -> dict:
    """Fit a trained detector's temperature and window operating point on `n_val` validation windows
    (`workbench.training.calibration`), then its clip rule on `n_long` long validation recordings; all three go
    into its config.json. The temperature first: an over-confident detector puts real and spoofed windows at
    p(spoof) 0.9999 alike, where no clip rule can tell them apart in four decimals."""
    from workbench.models import load_model
    from workbench.training.calibration import choose_threshold, fit_temperature

    path = Path(folder) / "config.json"
    config = json.loads(path.read_text())
    config.pop("temperature", None)
    config.pop("threshold", None)
    config.pop("clip_rule", None)
    path.write_text(json.dumps(config, indent=2) + "\n")
    model = load_model(str(folder))
    clips = speech.make_clips(n_val, seed=seed, split="val")
    x = model.info.input.normalize(speech.spectrograms(clips.waves, model.info.input))[:, None]
    logits = np.concatenate([model.outputs(x[k:k + 64]) for k in range(0, len(x), 64)])
    temperature = fit_temperature(logits, clips.labels)
    scaled = logits / temperature
    positive = np.exp(scaled[:, SPOOF] - np.logaddexp(scaled[:, 0], scaled[:, 1]))
    threshold = choose_threshold(positive, clips.labels)
    config |= {"temperature": round(temperature, 4),
               "threshold": {"label": "spoof", "probability": round(threshold, 4)}}
    path.write_text(json.dumps(config, indent=2) + "\n")
    log(f"temperature {temperature:.3f}, window threshold {threshold:.4f}")
    rule = calibrate_clip_rule(load_model(str(folder)), n=n_long, seed=seed)
    write_clip_rule(folder, rule)
    log(f"clip rule: {rule}")
    return {"temperature": temperature, "threshold": threshold, "n_val": n_val, **rule}


def lowest_probability(real_maxima: np.ndarray, share: float) -> float:
    """The lowest probability (at least 0.5, at most 0.999999) that at most `share` of the real recordings' scores
    (their largest window's, or their pooled one) reach."""
    allowed = int(np.floor(share * len(real_maxima)))
    ranked = np.sort(np.asarray(real_maxima, np.float64))[::-1]
    lowest = float(np.nextafter(ranked[allowed], 1.0)) if allowed < len(ranked) else 0.5
    return float(min(max(lowest, 0.5), 0.999999))


def write_clip_rule(folder: str | Path, calibration: dict) -> None:
    path = Path(folder) / "config.json"
    config = json.loads(path.read_text())
    config["clip_rule"] = {"label": "spoof", "probability": float(f"{calibration['probability']:.6g}"),
                           "pooled": float(f"{calibration['pooled']:.6g}")}
    path.write_text(json.dumps(config, indent=2) + "\n")


def whole_recordings(split: str, seed: int, limit: int | None = None) -> list[tuple[str, np.ndarray]]:
    """Each held-out real recording (the first `limit`), whole, through a recording chain of its own."""
    out = []
    for j, (name, clip) in enumerate(sorted(speech.bonafide_clips(split).items())[:limit]):
        rng = np.random.default_rng([seed, 91, j])
        out.append((name, Augmentation.draw(rng)(clip, np.random.default_rng([seed, 92, j]), length=len(clip))))
    return out


def whole_spoofs(split: str, seed: int, limit: int | None = None) -> list[tuple[str, np.ndarray]]:
    """Each held-out text-to-speech utterance, whole, and every third held-out real recording re-synthesised
    (the first `limit` of each engine)."""
    out = []
    for engine in speech.TTS_ENGINES:
        for j in range(min(speech.tts_count(engine, split), limit or 10**6)):
            utterance = speech.tts_source(engine, split, j)[1]
            rng = np.random.default_rng([seed, 93, speech.ENGINES.index(engine), j])
            out.append((engine, Augmentation.draw(rng)(utterance, np.random.default_rng([seed, 94, j]),
                                                       length=len(utterance))))
    for engine in speech.VOCODER_ENGINES:
        for j, name in enumerate(sorted(speech.bonafide_clips(split))[::3][:limit]):
            fake = speech._vocoded(engine, split, name)
            rng = np.random.default_rng([seed, 95, speech.ENGINES.index(engine), j])
            out.append((engine, Augmentation.draw(rng)(fake, np.random.default_rng([seed, 96, j]), length=len(fake))))
    return out


def ood_flags(model: ModelAdapter, n: int = 10, seed: int = SEED) -> dict[str, float]:
    """The share of n windows of each non-speech sound (and of held-out real speech) the OOD check flags."""
    from workbench.models.ood import pooled

    stats = model.feature_stats
    if stats is None:
        return {}
    real = [speech.make_window(seed, SPLIT, 2 * k, "bonafide").window for k in range(n)]
    out = {}
    for kind, waves in [*((k, sound_probes.make_sounds(k, n, seed)) for k in sound_probes.KINDS),
                        ("held-out real speech", np.asarray(real))]:
        x = model.info.input.normalize(speech.spectrograms(waves, model.info.input))[:, None]
        _, activations = model.outputs_and_activations(x, stats.layers)
        out[kind] = round(float((stats.scores(pooled(activations)) > 1.0).mean()), 3)
    return out


def _rate(hits: list[bool]) -> dict:
    return {"rate": round(float(np.mean(hits)), 3) if hits else None, "n": len(hits)}


def evaluate_detector(model: ModelAdapter, n: int = 1000, n_long: int = 40, seed: int = SEED,
                      n_whole: int | None = None, log: Callable[[str], None] = print) -> dict:
    """The held-out report: windows (balanced accuracy, EER, bona fide recall per language, spoof recall per
    engine), whole recordings by the clip rule (per language and engine), long recordings (false alarms, and
    the recall of one spliced span)."""
    t0 = time.perf_counter()
    clips = speech.make_clips(n, seed=seed, split=SPLIT)
    scores = _spoof_scores(model, clips.waves)
    pred = model.info.decide(_as_probabilities(scores))
    correct = pred == clips.labels
    eer, eer_threshold = equal_error_rate(clips.labels, scores)
    languages, engines = {}, {}
    for language in sorted({speech.language_of(s) for s, y in zip(clips.sources, clips.labels) if y == 0}):
        hits = [bool(c) for c, s, y in zip(correct, clips.sources, clips.labels)
                if y == 0 and speech.language_of(s) == language]
        languages[language] = _rate(hits)
    for engine in speech.ENGINES:
        engines[engine] = _rate([bool(c) for c, e, k in zip(correct, clips.engines, clips.kinds)
                                 if e == engine and k != speech.KINDS.index("partial")])
    engines["partial"] = _rate([bool(c) for c, k in zip(correct, clips.kinds) if k == speech.KINDS.index("partial")])
    log(f"windows scored in {time.perf_counter() - t0:.0f} s")
    rule = model.info.clip_rule
    whole_real = {}
    for name, clip in whole_recordings(SPLIT, seed, n_whole):
        whole_real.setdefault(speech.language_of(name), []).append(not clip_verdict(clip_scores(model, clip), rule))
    whole_spoof = {}
    for engine, clip in whole_spoofs(SPLIT, seed, n_whole):
        whole_spoof.setdefault(engine, []).append(clip_verdict(clip_scores(model, clip), rule))
    log(f"whole recordings scored in {time.perf_counter() - t0:.0f} s")
    long = long_scores(model, SPLIT, n_long, seed)
    log(f"long recordings scored in {time.perf_counter() - t0:.0f} s")
    return {"model": model.info.id, "split": SPLIT, "seed": seed, "n": n,
            **classification_report(clips.labels, pred, speech.LABELS),
            "auc": roc_auc(clips.labels, scores), "eer": eer, "eer_threshold": eer_threshold,
            "window_bonafide_by_language": languages, "window_spoof_by_engine": engines,
            "clip_rule": None if rule is None else {"probability": rule.probability, "pooled": rule.pooled},
            "clip_bonafide_by_language": {k: _rate(v) for k, v in sorted(whole_real.items())},
            "clip_bonafide": _rate([h for v in whole_real.values() for h in v]),
            "clip_spoof_by_engine": {k: _rate(v) for k, v in whole_spoof.items()},
            "long": {"n": n_long, "false_alarms": float(np.mean([clip_verdict(s, rule) for s in long["real"]])),
                     "spliced_recall": float(np.mean([clip_verdict(s, rule) for s in long["spliced"]]))},
            "ood_flagged": ood_flags(model, n=max(2, min(20, n // 50)), seed=seed)}


def leave_one_engine_out(recipe, train: Callable, engines: tuple[str, ...], out_json: str | Path, n_train: int,
                         epochs: int, n_eval: int = 200, seed: int = SEED, log: Callable[[str], None] = print) -> dict:
    """For each engine: `train` the recipe without that engine's family (at `n_train` windows, `epochs`), then the
    share of `n_eval` held-out windows of that engine it calls spoof (by argmax: the run has no calibration), and
    how well its scores rank them above held-out real windows (ROC AUC, threshold-free). Rows already in
    `out_json` at the same recipe and budget are kept (resumable)."""
    from workbench.models import load_model

    path = Path(out_json)
    rows = json.loads(path.read_text()) if path.is_file() else {}
    for engine in engines:
        done = rows.get(engine, {})
        if (done.get("recipe"), done.get("n_train"), done.get("epochs")) == (recipe.id, n_train, epochs):
            continue  # a row of another budget is replaced
        with tempfile.TemporaryDirectory() as tmp:
            summary = train(recipe, tmp, n_train=n_train, epochs=epochs, seed=seed, n_ood=64,
                            exclude=(engine,), n_long=0, log=log)
            model = load_model(tmp)
            waves = [speech.make_window(seed, SPLIT, 2 * k + 1, engine).window for k in range(n_eval // 2)]
            real = [speech.make_window(seed, SPLIT, 2 * k, "bonafide").window for k in range(n_eval // 2)]
            fake_scores, real_scores = _spoof_scores(model, waves), _spoof_scores(model, real)
            spoofed = model.info.decide(_as_probabilities(fake_scores)) == SPOOF
            kept = model.info.decide(_as_probabilities(real_scores)) != SPOOF
        labels = np.r_[np.zeros(len(real_scores)), np.ones(len(fake_scores))]
        rows[engine] = {"family": speech.engines.FAMILY[engine], "detected": round(float(spoofed.mean()), 3),
                        "bonafide_recall": round(float(kept.mean()), 3),
                        "auc": round(roc_auc(labels, np.r_[real_scores, fake_scores]), 3), "n": len(waves),
                        "recipe": recipe.id, "n_train": n_train, "epochs": epochs,
                        "val_balanced_accuracy": summary["val_balanced_accuracy"], "seconds": summary["seconds"]}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rows, indent=2) + "\n")
        log(f"{engine} left out: {rows[engine]}")
    return rows


def _as_probabilities(scores: np.ndarray) -> np.ndarray:
    return np.stack([1 - scores, scores], axis=1)
