"""Long real recordings (30 s and more) and partial spoofs hidden in them: what the clip verdict's rule is
calibrated on (split `val`) and measured on (split `test`).

No single real recording here is that long (LibriSpeech utterances are 2-17 s, one per speaker), so a long
recording is a split's real utterances read one after another with short pauses, as in a class or a podcast,
through one recording chain (`Augmentation`) for the whole clip. A long partial spoof is the same recording with
one span of 1-3 s replaced by its re-synthesis (a held-out vocoder setting), cross-faded: the kind of edit a
clip-level rule must still catch.
"""

from __future__ import annotations

import numpy as np

import workbench.data.speech as speech
from workbench.data.augment import Augmentation

RATE = speech.RATE


def long_recording(seed: int, split: str, i: int, seconds: tuple[float, float] = (30.0, 75.0)
                   ) -> tuple[np.ndarray, tuple[str, ...]]:
    """(recording, the real utterances in it): utterances of the split's speakers in random order, 0.2-0.8 s of
    silence between them, until the drawn length is reached."""
    rng = np.random.default_rng([seed, speech.SPLITS[split], i, 77])
    clips = speech.bonafide_clips(split)
    names = sorted(clips)
    target = rng.uniform(*seconds) * RATE
    parts, used, total = [], [], 0
    while total < target:
        name = names[int(rng.integers(len(names)))]
        pause = np.zeros(int(rng.uniform(0.2, 0.8) * RATE), np.float32)
        parts += [clips[name], pause]
        used.append(name)
        total += len(clips[name]) + len(pause)
    return np.concatenate(parts), tuple(used)


def long_clip(seed: int, split: str, i: int, spoofed: bool) -> tuple[np.ndarray, tuple[float, float] | None, str]:
    """(clip after its recording chain, spoofed span in seconds or None, the vocoder used or ''): recording i
    of the split, left real or with one span re-synthesised. A spoofed clip and its real version share the
    chain, so they differ only in the span."""
    real, used = long_recording(seed, split, i)
    rng = np.random.default_rng([seed, speech.SPLITS[split], i, 78])
    augment = Augmentation.draw(rng)
    span, engine, signal = None, "", real
    if spoofed:
        engine = speech.VOCODER_ENGINES[int(rng.integers(len(speech.VOCODER_ENGINES)))]
        setting = speech.engines.SETTINGS[engine][split][int(rng.integers(len(speech.engines.SETTINGS[engine][split])))]
        length = rng.uniform(1.0, 3.0)
        start = rng.uniform(0.5, len(real) / RATE - length - 0.5)
        lo, hi = int(start * RATE), int((start + length) * RATE)
        pad = RATE // 2  # re-synthesise a little context, so the vocoder has speech either side of the span
        fake = speech.engines.vocode(engine, real[lo - pad:hi + pad], setting)
        fake = np.concatenate([real[:lo - pad], fake, real[hi + pad:]])
        signal = speech.splice(real, fake, lo, hi)
        span = (lo / RATE, hi / RATE)
    noise_rng = np.random.default_rng([seed, speech.SPLITS[split], i, 79])
    return augment(signal, noise_rng, reference=real, length=len(real)), span, engine
