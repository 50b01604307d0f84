"""Audio files to mono float32 at a chosen sample rate (soundfile decodes WAV, FLAC and OGG)."""

from __future__ import annotations

import io
from math import gcd

import numpy as np

from workbench.errors import InputError


def decode_audio(data: bytes, name: str = "the file", sample_rate: int = 16_000) -> np.ndarray:
    """Decode, mix down to mono and resample (polyphase) to `sample_rate`; values in [-1, 1]."""
    import soundfile

    if not data:
        raise InputError(f"{name} is empty.")
    try:
        signal, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as err:
        raise InputError(f"{name} is not a readable audio file (WAV, FLAC or OGG expected): {err}.") from None
    if len(signal) == 0:
        raise InputError(f"{name} holds no audio samples.")
    mono = signal.mean(axis=1)
    if not np.isfinite(mono).all():
        raise InputError(f"{name} holds NaN or infinite samples.")
    if rate != sample_rate:
        from scipy.signal import resample_poly

        g = gcd(int(rate), int(sample_rate))
        mono = resample_poly(mono, sample_rate // g, int(rate) // g).astype(np.float32)
    return np.clip(mono, -1.0, 1.0)
