"""A model's input spec: the one fact that training and serving both read from config.json."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# The task of a Hub model that brings its own labels and preprocessing (transformers, timm, Keras files).
GENERIC_TASK = "hub_image"


@dataclass(frozen=True)
class SignalSpec:
    """How an audio model's input is made: resample, fixed window, log-mel spectrogram."""

    sample_rate: int = 16_000
    seconds: float = 4.0
    n_fft: int = 1024
    hop_length: int = 256
    n_mels: int = 128
    fmin: float = 0.0
    fmax: float = 8_000.0
    top_db: float = 80.0

    @property
    def samples(self) -> int:
        return int(round(self.sample_rate * self.seconds))


@dataclass(frozen=True)
class InputSpec:
    """Size, channels and per-channel normalisation of [0, 1] input (for audio, of the scaled log-mel).

    For audio, height is the number of mel bands and width the number of frames of the window.
    """

    height: int
    width: int
    channels: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    signal: SignalSpec | None = None

    @classmethod
    def from_dict(cls, d: dict) -> InputSpec:
        signal = SignalSpec(**d["signal"]) if d.get("signal") else None
        return cls(int(d["height"]), int(d["width"]), int(d["channels"]),
                   tuple(float(m) for m in d["mean"]), tuple(float(s) for s in d["std"]), signal)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["mean"], d["std"] = list(self.mean), list(self.std)
        if self.signal is None:
            del d["signal"]
        return d

    @property
    def size(self) -> tuple[int, int]:
        return self.height, self.width

    def normalize(self, chw01: np.ndarray) -> np.ndarray:
        """[0, 1] input (C x H x W, or N x C x H x W) to the model's input scale."""
        shape = (-1, 1, 1)
        return ((chw01 - np.reshape(self.mean, shape)) / np.reshape(self.std, shape)).astype(np.float32)


@dataclass(frozen=True)
class Threshold:
    """An operating point (config.json's `threshold`): the class `label` is predicted when its probability is at
    least `probability`, else the likeliest other class. Chosen on validation data by the training code, because
    argmax (0.5 for two classes) is rarely the point that balances the classes' errors."""

    label: str
    probability: float


@dataclass(frozen=True)
class ClipRule:
    """An audio clip's verdict from its windows (config.json's `clip_rule`, `AudioTask.verdict`): the clip is
    `label` when its windows' pooled probability (the logistic of their mean log-odds) reaches `pooled`, or one
    window reaches `probability`. Pooling does not punish a long recording for its many windows, as "any window"
    did; the single-window part still catches a short span the model is sure of. Both are calibrated on real
    recordings (`workbench.training.audio_report`); without `pooled` only the single-window part applies."""

    label: str
    probability: float
    pooled: float | None = None

    @staticmethod
    def pooled_probability(probabilities: np.ndarray) -> float:
        """The logistic of the mean log-odds of `probabilities` (one per window, clipped to 1e-6 from 0 and 1)."""
        p = np.clip(np.asarray(probabilities, np.float64), 1e-6, 1 - 1e-6)
        return float(1 / (1 + np.exp(-np.mean(np.log(p) - np.log1p(-p)))))
