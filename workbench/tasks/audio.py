"""Audio tasks: a clip becomes log-mel spectrograms (mel bands x frames) of fixed windows, with real axes.

The spectrogram is computed here with numpy (power STFT, periodic Hann window, centred frames)
and librosa's mel filter bank, so it matches `librosa.feature.melspectrogram` without its
numba warm-up. Row 0 is the lowest mel band. The same STFT, inverted by weighted overlap-add,
turns an explanation into sound: the window re-synthesised from its most relevant time-frequency
bins, and from the rest (the two add up to the window exactly).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from workbench.errors import InputError, ModelError
from workbench.io.audio import decode_audio
from workbench.specs import InputSpec, SignalSpec, Threshold
from workbench.tasks.base import Axes, GroundTruth, Picture, Sample, Task


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


class AudioTask(Task):
    """A clip is resampled to the model's rate and cut into windows of the model's length; the last
    window is zero-padded. A window is explained on its own."""

    modality = "audio"

    def __init__(self, *args, sample_rate: int = 16_000, real_samples: tuple[Path, str] | None = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sample_rate = sample_rate
        self.real_samples = real_samples  # (folder, glob) of real recordings outside the repo, if present

    def samples(self) -> list[Sample]:
        """The task's own sample files, then real recordings from outside the repository when they are
        on this machine (listed with the first label, read where they are, never copied)."""
        out = super().samples()
        if self.real_samples is not None and self.real_samples[0].is_dir():
            folder, pattern = self.real_samples
            out += [Sample(f"{self.labels[0]}_{p.stem} (real, outside the repo)", p, self.labels[0])
                    for p in sorted(folder.glob(pattern))]
        return out

    def read(self, data: bytes, name: str = "the file") -> tuple[np.ndarray, list[str]]:
        decoded = decode_audio(data, name, self.sample_rate)
        return decoded.signal, decoded.notes

    def check_truth(self, truth: GroundTruth, raw: np.ndarray) -> None:
        """A span must start inside the clip (or the window) it marks; one past the end marks nothing."""
        seconds = len(raw) / self.sample_rate
        if truth.span is not None and truth.span[0] >= seconds:
            raise InputError(f"the span starts at {truth.span[0]:g} s but the audio is {seconds:g} s long.")

    def decode(self, data: bytes, name: str = "the file") -> np.ndarray:
        return self.read(data, name)[0]

    def _signal_spec(self, spec: InputSpec) -> SignalSpec:
        signal = spec.signal or SignalSpec()
        if signal.sample_rate != self.sample_rate:
            raise ModelError(f"the model expects {signal.sample_rate} Hz; task {self.id} decodes at "
                             f"{self.sample_rate} Hz")
        return signal

    def windows(self, raw: np.ndarray, spec: InputSpec) -> list[tuple[float, float]]:
        """(start, end) seconds of each window of the model's length covering the clip."""
        signal = self._signal_spec(spec)
        n = max(1, -(-len(raw) // signal.samples))
        return [(k * signal.seconds, min((k + 1) * signal.samples, len(raw)) / self.sample_rate) for k in range(n)]

    def window(self, raw: np.ndarray, spec: InputSpec, k: int) -> np.ndarray:
        """The samples of window `k` (the last may be shorter)."""
        samples = self._signal_spec(spec).samples
        return raw[k * samples:(k + 1) * samples]

    def verdict(self, probabilities: np.ndarray, rule: Threshold | None = None) -> tuple[str, int]:
        """(label, deciding window) for a clip's windows (N x K probabilities). With the model's clip rule, the
        window most like the rule's label decides: the clip is that label when the window reaches the rule's
        probability, else the likeliest other class of that window. Without one, the clip is the first label
        (bona fide) only if every window is, and the window least like it decides, since a partial spoof can
        hide in one window."""
        if rule is not None:
            j = self.labels.index(rule.label)
            k = int(np.argmax(probabilities[:, j]))
            if probabilities[k, j] >= rule.probability:
                return rule.label, k
            others = probabilities[k].copy()
            others[j] = -np.inf
            return self.labels[int(others.argmax())], k
        k = int(np.argmin(probabilities[:, 0]))
        return self.labels[int(probabilities[k].argmax())], k

    @staticmethod
    def rule_text(rule: Threshold | None) -> str:
        """The clip rule in one line, as the app and the CLI show it."""
        if rule is None:
            return "a clip is bona fide only if every window is"
        return (f"a clip is {rule.label} when one of its windows reaches p({rule.label}) \u2265 "
                f"{rule.probability:.6g} (calibrated on long real recordings)")

    def spectrogram(self, raw: np.ndarray, spec: InputSpec) -> np.ndarray:
        """Scaled log-mel of the clip's first window, zero-padded to the model's length."""
        signal = self._signal_spec(spec)
        window = np.zeros(signal.samples, np.float32)
        clip = raw[: signal.samples]
        window[: len(clip)] = clip
        return log_mel(window, signal)[:, : spec.width]

    def preprocess(self, raw: np.ndarray, spec: InputSpec) -> np.ndarray:
        return spec.normalize(self.spectrogram(raw, spec)[None])[None]

    def preprocess_windows(self, raw: np.ndarray, spec: InputSpec) -> np.ndarray:
        """Every window of the clip as one batch, N x 1 x mels x frames."""
        n = len(self.windows(raw, spec))
        return np.concatenate([self.preprocess(self.window(raw, spec, k), spec) for k in range(n)])

    def picture(self, raw: np.ndarray, spec: InputSpec) -> Picture:
        gray = self.spectrogram(raw, spec)
        return Picture(np.repeat(gray[..., None], 3, axis=-1), spectrogram_axes(self._signal_spec(spec)))
