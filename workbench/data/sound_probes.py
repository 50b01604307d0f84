"""Sounds that are not speech, for checking that the audio detectors' OOD test says so: a sine, noise, music.

Each is drawn from a seeded generator as a 4 s window at 16 kHz. The music is synthesised (no recording is
bundled): chords of harmonic notes with plucked envelopes over a kick-drum pulse.
"""

from __future__ import annotations

import numpy as np

RATE, SECONDS = 16_000, 4.0
KINDS = ("sine", "white_noise", "music")


def _window(rng: np.random.Generator, kind: str) -> np.ndarray:
    t = np.arange(int(RATE * SECONDS)) / RATE
    if kind == "sine":
        out = np.sin(2 * np.pi * rng.uniform(100, 4000) * t)
    elif kind == "white_noise":
        out = rng.standard_normal(len(t))
    else:
        out = np.zeros(len(t))
        beat = rng.uniform(0.3, 0.6)
        for start in np.arange(0, SECONDS, beat):
            k = t >= start
            root = 110 * 2 ** (rng.integers(0, 24) / 12)
            for ratio in (1, 5 / 4, 3 / 2):  # a major triad, each note with five harmonics, plucked
                note = sum(np.sin(2 * np.pi * root * ratio * h * (t[k] - start)) / h for h in range(1, 6))
                out[k] += note * np.exp(-(t[k] - start) * rng.uniform(3, 8))
            out[k] += 2 * np.sin(2 * np.pi * 60 * (t[k] - start)) * np.exp(-(t[k] - start) * 25)  # kick
    return (rng.uniform(0.2, 0.8) * out / (np.abs(out).max() or 1.0)).astype(np.float32)


def make_sounds(kind: str, n: int, seed: int = 0) -> np.ndarray:
    """n windows (n x samples) of one kind."""
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    return np.stack([_window(rng, kind) for _ in range(n)])
