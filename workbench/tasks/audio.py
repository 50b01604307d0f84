"""Audio tasks: a clip becomes a log-mel spectrogram (mel bands x frames) with real axes.

The spectrogram is computed here with numpy (power STFT, periodic Hann window, centred frames)
and librosa's mel filter bank, so it matches `librosa.feature.melspectrogram` without its
numba warm-up. Row 0 is the lowest mel band.
"""

from __future__ import annotations

import numpy as np

from workbench.errors import ModelError
from workbench.io.audio import decode_audio
from workbench.specs import InputSpec, SignalSpec
from workbench.tasks.base import Axes, Picture, Task


def log_mel(signal: np.ndarray, spec: SignalSpec) -> np.ndarray:
    """Mel power spectrogram in dB relative to its maximum, scaled to [0, 1] (0 = top_db below)."""
    from librosa.filters import mel

    pad = spec.n_fft // 2
    padded = np.pad(signal.astype(np.float32), pad)
    n_frames = 1 + (len(padded) - spec.n_fft) // spec.hop_length
    idx = np.arange(spec.n_fft)[None] + spec.hop_length * np.arange(n_frames)[:, None]
    window = np.hanning(spec.n_fft + 1)[:-1].astype(np.float32)  # periodic Hann
    power = np.abs(np.fft.rfft(padded[idx] * window, axis=1)) ** 2
    mels = mel(sr=spec.sample_rate, n_fft=spec.n_fft, n_mels=spec.n_mels, fmin=spec.fmin, fmax=spec.fmax)
    db = 10 * np.log10(np.maximum(mels @ power.T, 1e-10))
    db = np.maximum(db, db.max() - spec.top_db) - db.max()
    return (1 + db / spec.top_db).astype(np.float32)


class AudioTask(Task):
    """A clip is resampled to the model's rate and cut or zero-padded to its window."""

    modality = "audio"

    def __init__(self, *args, sample_rate: int = 16_000, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sample_rate = sample_rate

    def decode(self, data: bytes, name: str = "the file") -> np.ndarray:
        return decode_audio(data, name, self.sample_rate)

    def spectrogram(self, raw: np.ndarray, spec: InputSpec) -> np.ndarray:
        signal_spec = spec.signal or SignalSpec()
        if signal_spec.sample_rate != self.sample_rate:
            raise ModelError(f"the model expects {signal_spec.sample_rate} Hz; task {self.id} decodes at "
                             f"{self.sample_rate} Hz")
        window = np.zeros(signal_spec.samples, np.float32)
        clip = raw[: signal_spec.samples]
        window[: len(clip)] = clip
        return log_mel(window, signal_spec)[:, : spec.width]

    def preprocess(self, raw: np.ndarray, spec: InputSpec) -> np.ndarray:
        return spec.normalize(self.spectrogram(raw, spec)[None])[None]

    def picture(self, raw: np.ndarray, spec: InputSpec) -> Picture:
        s = spec.signal or SignalSpec()
        gray = self.spectrogram(raw, spec)
        axes = Axes("time", "s", (0.0, s.seconds), "frequency", "Hz", (s.fmin, s.fmax),
                    origin="lower", y_scale="mel")
        return Picture(np.repeat(gray[..., None], 3, axis=-1), axes)
