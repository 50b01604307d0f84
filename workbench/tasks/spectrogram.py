"""The spectrogram the audio models read, computed with numpy so it matches librosa without its numba warm-up.

Power STFT with a periodic Hann window and centred frames, librosa's mel filter bank, log scaling; row 0 is the
lowest mel band. The same STFT inverted by weighted overlap-add turns bins back into sound (`listening.py`).
"""

from __future__ import annotations

import functools

import numpy as np

from workbench.specs import SignalSpec
from workbench.tasks.base import Axes


def _frames(spec: SignalSpec, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Sample indices of each centred frame (frames x n_fft, into the padded signal) and the window."""
    n_frames = 1 + (length + 2 * (spec.n_fft // 2) - spec.n_fft) // spec.hop_length
    idx = np.arange(spec.n_fft)[None] + spec.hop_length * np.arange(n_frames)[:, None]
    return idx, np.hanning(spec.n_fft + 1)[:-1].astype(np.float32)  # periodic Hann


def stft(signal: np.ndarray, spec: SignalSpec) -> np.ndarray:
    """Complex STFT, frames x bins, zero-padded by n_fft/2 at both ends (librosa's centring)."""
    idx, window = _frames(spec, len(signal))
    padded = np.pad(signal.astype(np.float32), spec.n_fft // 2)
    return np.fft.rfft(padded[idx] * window, axis=1)


def istft(frames: np.ndarray, spec: SignalSpec, length: int) -> np.ndarray:
    """Inverse of `stft` by weighted overlap-add (exact wherever the windows overlap)."""
    idx, window = _frames(spec, length)
    pad = spec.n_fft // 2
    out = np.zeros(length + 2 * pad, np.float64)
    norm = np.zeros_like(out)
    np.add.at(out, idx, np.fft.irfft(frames, n=spec.n_fft, axis=1) * window)
    np.add.at(norm, idx, np.broadcast_to(window**2, idx.shape))
    return (out / np.maximum(norm, 1e-8))[pad:pad + length].astype(np.float32)


@functools.lru_cache(maxsize=8)
def mel_filters(spec: SignalSpec) -> np.ndarray:
    """librosa's (Slaney) mel filter bank, mels x bins; built once per spec (read-only), not per window."""
    from librosa.filters import mel

    filters = mel(sr=spec.sample_rate, n_fft=spec.n_fft, n_mels=spec.n_mels, fmin=spec.fmin, fmax=spec.fmax)
    filters.setflags(write=False)
    return filters


def log_mel(signal: np.ndarray, spec: SignalSpec) -> np.ndarray:
    """Mel power spectrogram in dB relative to its maximum, scaled to [0, 1] (0 = top_db below)."""
    power = np.abs(stft(signal, spec)) ** 2
    db = 10 * np.log10(np.maximum(mel_filters(spec) @ power.T, 1e-10))
    db = np.maximum(db, db.max() - spec.top_db) - db.max()
    return (1 + db / spec.top_db).astype(np.float32)


def spectrogram_axes(spec: SignalSpec) -> Axes:
    """Time in seconds across a window, mel-spaced frequency in Hz up the rows: the axes of a window's
    spectrogram and of every map over it (at any resolution, e.g. a model's time steps)."""
    return Axes("time", "s", (0.0, spec.seconds), "frequency", "Hz", (spec.fmin, spec.fmax), origin="lower",
                y_scale="mel")
