"""The audio task: a clip becomes log-mel spectrograms (mel bands x frames) of fixed windows, with real axes, and
the windows' probabilities become one verdict for the clip by the model's clip rule. The spectrogram itself is
`spectrogram.py`; turning a map back into sound is `listening.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from workbench.errors import InputError, ModelError
from workbench.io.audio import decode_audio
from workbench.specs import ClipRule, InputSpec, SignalSpec
from workbench.tasks.base import GroundTruth, Picture, Sample, Task
from workbench.tasks.spectrogram import log_mel, spectrogram_axes


class Verdict(NamedTuple):
    """A clip's label, the window that decided it (the one explained by default), and the rule's numbers in words."""

    label: str
    deciding: int
    reason: str


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

    def verdict(self, probabilities: np.ndarray, rule: ClipRule | None = None) -> Verdict:
        """The clip's label from its windows (N x K probabilities), the window that decided, and why in words.
        With the model's clip rule, the clip is the rule's label when the windows' pooled probability or the most
        `label`-like window reaches the rule; that window decides (and is explained), else the likeliest other
        class of that window. Without one, the clip is the first label (bona fide) only if every window is, and
        the window least like it decides, since a partial spoof can hide in one window."""
        if rule is None:
            k = int(np.argmin(probabilities[:, 0]))
            label = self.labels[int(probabilities[k].argmax())]
            return Verdict(label, k, f"window {k} is the least {self.labels[0]}-like")
        j = self.labels.index(rule.label)
        k = int(np.argmax(probabilities[:, j]))
        peak = float(probabilities[k, j])
        pooled = rule.pooled_probability(probabilities[:, j])
        said = f"p({rule.label})"
        if rule.pooled is not None and pooled >= rule.pooled:
            return Verdict(rule.label, k, f"pooled {said} {pooled:.4f} \u2265 {rule.pooled:.4g}")
        if peak >= rule.probability:
            return Verdict(rule.label, k, f"window {k}'s {said} {peak:.6f} \u2265 {rule.probability:.6g}")
        others = probabilities[k].copy()
        others[j] = -np.inf
        below = f"window {k}'s {said} {peak:.4f} < {rule.probability:.6g}"
        if rule.pooled is not None:
            below = f"pooled {said} {pooled:.4f} < {rule.pooled:.4g} and " + below
        return Verdict(self.labels[int(others.argmax())], k, below)

    @staticmethod
    def rule_text(rule: ClipRule | None) -> str:
        """The clip rule in one line, as the app and the CLI show it."""
        if rule is None:
            return "a clip is bona fide only if every window is"
        one = f"one of its windows reaches p({rule.label}) \u2265 {rule.probability:.6g}"
        if rule.pooled is None:
            return f"a clip is {rule.label} when {one} (calibrated on long real recordings)"
        return (f"a clip is {rule.label} when its windows' pooled p({rule.label}) (the logistic of their mean "
                f"log-odds) reaches {rule.pooled:.4g}, or {one} (both calibrated on real recordings, short and long)")

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
