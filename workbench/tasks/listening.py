"""Listening to an explanation: a window re-synthesised from its most relevant time-frequency bins, and from the
rest. The STFT keeps its phase, so both parts sound like the input, and they add up to it exactly."""

from __future__ import annotations

import numpy as np

from workbench.specs import InputSpec, SignalSpec
from workbench.tasks.spectrogram import istft, mel_filters, stft


def relevant_bins(heatmap: np.ndarray, spec: SignalSpec, fraction: float) -> np.ndarray:
    """STFT bins (frames x bins, bool) under the top `fraction` of a mel x frame map's cells.

    A bin belongs to the mel band whose filter weighs it most (a bin no filter covers, like DC, to
    the band nearest it); the highest-valued cells are kept (signed maps: those that raise the score
    most)."""
    k = int(round(fraction * heatmap.size))
    top = np.zeros(heatmap.size, bool)
    if k > 0:
        top[np.argsort(heatmap, axis=None)[-k:]] = True
    top = top.reshape(heatmap.shape)  # mels x frames
    filters = mel_filters(spec)
    band = filters.argmax(axis=0)  # bins -> their mel band
    uncovered = filters.max(axis=0) == 0
    centres = filters.argmax(axis=1)  # each band's peak bin
    band[uncovered] = np.abs(centres[None] - np.flatnonzero(uncovered)[:, None]).argmin(axis=1)
    return top[band].T  # frames x bins


def listen(window: np.ndarray, heatmap: np.ndarray, spec: InputSpec,
           fraction: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """(audio from the top `fraction` most relevant time-frequency bins, audio from the rest).

    `window` is the model's window (samples); `heatmap` a map at the model input (mels x frames).
    The STFT keeps its phase, so both parts sound like the input, and they sum back to it."""
    signal = spec.signal or SignalSpec()
    samples = np.zeros(signal.samples, np.float32)
    samples[: min(len(window), signal.samples)] = window[: signal.samples]
    frames = stft(samples, signal)
    keep = np.zeros(frames.shape, bool)
    keep[: heatmap.shape[1]] = relevant_bins(heatmap, signal, fraction)
    return istft(frames * keep, signal, len(samples)), istft(frames * ~keep, signal, len(samples))
