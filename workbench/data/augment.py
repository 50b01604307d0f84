"""The recording chain every speech window goes through, whatever its class, so the channel tells nothing.

A room (a short synthetic reverb), a microphone and line (spectral tilt, high-pass, low-pass or a telephone band),
a sample-rate round trip (down to 8-48 kHz and back, as a file passed between devices), a level, noise, and a
lossy codec round trip (MP3 or Ogg Vorbis). Parameters are drawn once from the window's generator (`draw`), so a
spoof and its real twin go through exactly the same chain. Filters, gain and MP3 are audiomentations' own, at the
drawn values; the reverb's impulse response and the noise come from the window's generators, because
audiomentations draws from the process's global random state, which a shared server must not depend on.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from workbench.io.audio import resample

RATE = 16_000
SECONDS = 4.0
ROUND_TRIP_RATES = (8000, 11025, 22050, 32000, 44100, 48000)


@dataclass(frozen=True)
class Augmentation:
    tilt: float
    high_pass: float | None  # Hz
    low_pass: float | None  # Hz
    telephone: bool  # a 300-3400 Hz band-pass
    round_trip: int | None  # Hz
    reverb: float | None  # RT60 seconds
    wet: float
    peak: float
    snr_db: float
    brown: bool
    codec: tuple[str, int] | None  # ("mp3", kbit/s) or ("ogg", quality 0-10)

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Augmentation:
        telephone = rng.random() < 0.12
        codec = None
        pick = rng.random()
        if pick < 0.3:
            codec = ("mp3", int(rng.choice((32, 48, 64, 96, 128, 192))))
        elif pick < 0.45:
            codec = ("ogg", int(rng.integers(1, 8)))
        return cls(tilt=float(rng.uniform(-0.4, 0.4)),
                   high_pass=float(rng.uniform(40, 300)) if rng.random() < 0.5 else None,
                   low_pass=float(rng.uniform(4000, 7900)) if rng.random() < 0.3 else None,
                   telephone=telephone,
                   round_trip=int(rng.choice(ROUND_TRIP_RATES)) if rng.random() < 0.4 else None,
                   reverb=float(rng.uniform(0.1, 0.5)) if rng.random() < 0.3 else None,
                   wet=float(rng.uniform(0.1, 0.5)),
                   peak=float(rng.uniform(0.1, 0.9)), snr_db=float(rng.uniform(15, 50)), brown=rng.random() < 0.5,
                   codec=codec)

    def channel(self, signal: np.ndarray, ir_rng: np.random.Generator) -> np.ndarray:
        """Room, microphone and line, and the sample-rate round trip."""
        from audiomentations import BandPassFilter, HighPassFilter, LowPassFilter
        from scipy.signal import fftconvolve, lfilter

        out = signal.astype(np.float32)
        if self.reverb is not None:  # exponentially decaying noise: -60 dB at RT60
            t = np.arange(int(self.reverb * RATE)) / RATE
            ir = ir_rng.standard_normal(len(t)) * np.exp(-6.9 * t / self.reverb)
            ir[0] = 0
            wet = fftconvolve(out, ir / (np.sqrt(np.sum(ir**2)) or 1.0))[: len(out)]
            out = ((1 - self.wet) * out + self.wet * wet).astype(np.float32)
        out = lfilter([1.0, -self.tilt], [1.0], out).astype(np.float32)  # tilt > 0 lifts high frequencies
        if self.high_pass is not None:
            out = HighPassFilter(self.high_pass, self.high_pass, 12, 12, p=1.0)(out, RATE)
        if self.low_pass is not None:
            out = LowPassFilter(self.low_pass, self.low_pass, 24, 24, p=1.0)(out, RATE)
        if self.telephone:
            out = BandPassFilter(1850.0, 1850.0, 1.6, 1.6, 24, 24, p=1.0)(out, RATE)  # ~300-3400 Hz
        if self.round_trip is not None:
            out = resample(resample(out, RATE, self.round_trip), self.round_trip, RATE)[: len(signal)]
        return np.asarray(out, np.float32)

    def encode(self, signal: np.ndarray) -> np.ndarray:
        """The lossy codec's round trip (same length out)."""
        if self.codec is None:
            return signal
        kind, level = self.codec
        if kind == "mp3":
            from audiomentations import Mp3Compression

            out = Mp3Compression(level, level, p=1.0)(signal, RATE)
        else:
            import soundfile

            buffer = io.BytesIO()
            soundfile.write(buffer, signal, RATE, format="OGG", subtype="VORBIS",
                            compression_level=1 - level / 10)
            buffer.seek(0)
            out, _ = soundfile.read(buffer, dtype="float32")
        out = np.asarray(out, np.float32)[: len(signal)]
        return np.pad(out, (0, len(signal) - len(out)))

    def __call__(self, signal: np.ndarray, noise_rng: np.random.Generator,
                 reference: np.ndarray | None = None, length: int | None = None) -> np.ndarray:
        """The whole chain, zero-padded to `length` samples (a window of SECONDS by default). Level and noise
        follow `reference` when given, so a partial spoof and its twin get the same; the noise and the room come
        from `noise_rng`, which a spoof and its twin share."""
        from scipy.signal import lfilter

        room = int(noise_rng.integers(2**32))
        window = self.channel(signal, np.random.default_rng(room))
        ref = window if reference is None else self.channel(reference, np.random.default_rng(room))
        out = np.zeros(int(RATE * SECONDS) if length is None else length, np.float32)
        out[: len(window)] = window
        scale = self.peak / (float(np.abs(ref).max()) or 1.0)
        out *= scale
        power = float(np.mean((ref * scale) ** 2)) or 1e-8
        noise = noise_rng.standard_normal(len(window)).astype(np.float32)
        if self.brown:  # hum and rumble rather than hiss
            noise = lfilter([1.0], [1.0, -0.95], noise).astype(np.float32)
        noise *= np.sqrt(power / 10 ** (self.snr_db / 10) / (float(np.mean(noise**2)) or 1.0))
        out[: len(window)] += noise
        return np.clip(self.encode(np.clip(out, -1, 1)), -1, 1).astype(np.float32)
