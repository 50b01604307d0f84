"""Audio files to mono float32 at a chosen sample rate: libsndfile (soundfile) decodes WAV, FLAC, Ogg (Vorbis,
Opus) and MP3; FFmpeg (PyAV) the containers phones and browsers record in, M4A/AAC and WebM, and nothing else.

What cannot be scored is an `InputError` with a message (not audio, empty, NaN or Inf, shorter
than 100 ms, silent, a rate below 8 kHz); what can be scored after a change is decoded with a
note that says what was changed (mixed to mono, resampled, capped at 10 minutes, clipped).
"""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass, field
from math import gcd

import numpy as np

from workbench.errors import InputError

AUDIO_FILE_TYPES = ("wav", "flac", "ogg", "opus", "mp3", "m4a", "aac", "webm")
# The FFmpeg demuxers an upload may reach (`_ffmpeg_demuxer`): a phone's voice memo (MP4/M4A, raw ADTS AAC) and a
# browser's recording (WebM). Every other format stays with libsndfile, so a damaged WAV or Ogg keeps its reason.
# demuxer: (what the file is, what a file of that kind that FFmpeg cannot open most likely suffered)
FFMPEG_DEMUXERS = {
    "mov": ("an MP4/M4A", "a recording cut off before it was saved lacks the index (moov box) that says where its "
                          "audio is."),
    "matroska": ("a WebM", "the recording ends before its first audio."),
    "aac": ("an AAC", "its frames are damaged."),
}
MAX_SECONDS = 600.0
MIN_SECONDS = 0.1
MIN_RATE = 8_000
SILENCE_PEAK = 1e-4  # -80 dBFS: below every real recording's noise floor


@dataclass(frozen=True)
class DecodedAudio:
    signal: np.ndarray  # mono float32 in [-1, 1] at the requested rate
    source_rate: int
    channels: int
    notes: list[str] = field(default_factory=list)


def resample(signal: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Polyphase resampling (scipy), the one resampler of the workbench's audio."""
    if rate_in == rate_out:
        return signal.astype(np.float32)
    from scipy.signal import resample_poly

    g = gcd(int(rate_in), int(rate_out))
    up, down = int(rate_out) // g, int(rate_in) // g
    return resample_poly(signal, up, down, window=_filter(up, down)).astype(np.float32)


@functools.lru_cache(maxsize=64)
def _filter(up: int, down: int) -> np.ndarray:
    """resample_poly's own default low-pass (Kaiser, beta 5, 10 taps per phase either side), designed once per
    ratio: designing it took most of the time of resampling a 4 s window."""
    from scipy.signal import firwin

    rate = max(up, down)
    taps = firwin(2 * 10 * rate + 1, 1.0 / rate, window=("kaiser", 5.0))
    taps.setflags(write=False)
    return taps


def _reason(err: Exception) -> str:
    """libsndfile's reason without what only confuses a user of bytes in memory: the stream's repr, and the
    claim that a file does not exist (its answer to data in no format it knows)."""
    text = re.sub(r"^Error( opening <[^>]*>)? ?: ", "", str(err)).strip().rstrip(".")
    if text.startswith("File does not exist or is not a regular file"):
        return "its format is not recognised"
    return text or type(err).__name__


def _ffmpeg_demuxer(data: bytes) -> str | None:
    """The one FFmpeg demuxer a file's first bytes call for, or None: FFmpeg never probes an upload itself, so no
    playlist or reference demuxer (which would open other files or URLs) is ever chosen for one."""
    if data[4:8] == b"ftyp":  # an MP4 box header: a phone's voice memo
        return "mov"
    if data[:4] == b"\x1aE\xdf\xa3":  # the EBML header of WebM and Matroska: a browser's recording
        return "matroska"
    if len(data) > 1 and data[0] == 0xFF and data[1] & 0xF6 == 0xF0:  # an ADTS frame: raw AAC (MP3 has layer bits)
        return "aac"
    return None


def _read_container(data: bytes, name: str) -> tuple[np.ndarray, int, int, int] | None:
    """Samples (frames x channels, float32, at most `MAX_SECONDS`), rate, channels and the whole length in frames
    of the first audio stream of an M4A/AAC/WebM file; None when the file is none of these."""
    demuxer = _ffmpeg_demuxer(data)
    if demuxer is None:
        return None
    import av

    try:
        container = av.open(io.BytesIO(data), mode="r", format=demuxer)
    except (av.FFmpegError, ValueError, OSError) as err:
        kind, likely = FFMPEG_DEMUXERS[demuxer]
        raise InputError(f"{name} is {kind} file that cannot be opened ({getattr(err, 'strerror', None) or err}): "
                         f"{likely}") from None
    with container:
        if not container.streams.audio:
            raise InputError(f"{name} holds no audio stream (a {container.format.long_name} file).")
        stream = container.streams.audio[0]
        rate, cap = int(stream.codec_context.sample_rate), int(MAX_SECONDS * stream.codec_context.sample_rate)
        to_float = av.AudioResampler(format="fltp")  # planar float32 at the stream's own rate and layout
        chunks: list[np.ndarray] = []
        decoded = 0
        try:
            for frame in container.decode(stream):
                chunks += [out.to_ndarray() for out in to_float.resample(frame)]
                decoded += frame.samples
                if decoded > cap:
                    break
        except (av.FFmpegError, ValueError) as err:
            raise InputError(f"{name} is not a readable audio file: the {stream.codec_context.name} stream is "
                             f"damaged ({getattr(err, 'strerror', None) or err}).") from None
        seconds = (container.duration or 0) / 1e6  # the container's own length: decoding stops at the cap
    if not chunks:
        raise InputError(f"{name} holds no audio samples.")
    signal = np.concatenate(chunks, axis=1).T
    return signal[:cap], rate, signal.shape[1], max(len(signal), int(seconds * rate))


def encode_ffmpeg(signal: np.ndarray, rate: int, container: str, codec: str) -> bytes:
    """A recording as a phone (`ipod`: M4A, `adts`: raw AAC) or a browser (`webm`: Opus) saves it, by FFmpeg's
    own encoders through PyAV; `signal` is frames or frames x channels. The app only decodes: this makes the
    files the tests and `benchmarks/formats.py` decode."""
    import av

    planar = np.ascontiguousarray(np.atleast_2d(signal.T), np.float32)
    layout = "mono" if len(planar) == 1 else "stereo"
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        step = stream.codec_context.frame_size or 1024
        for start in range(0, planar.shape[1], step):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(planar[:, start:start + step]), format="fltp",
                                               layout=layout)
            frame.sample_rate, frame.pts = rate, start
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return buf.getvalue()


def decode_audio(data: bytes, name: str = "the file", sample_rate: int = 16_000) -> DecodedAudio:
    """Decode, mix down to mono, resample to `sample_rate`; a note for each change made."""
    import soundfile

    if not data:
        raise InputError(f"{name} is empty.")
    try:
        with soundfile.SoundFile(io.BytesIO(data)) as f:
            rate, channels, frames = int(f.samplerate), int(f.channels), int(f.frames)
            signal = f.read(min(frames, int(MAX_SECONDS * rate)) if frames > 0 else -1, dtype="float32",
                            always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError, EOFError) as err:
        read = _read_container(data, name)
        if read is None:
            raise InputError(f"{name} is not a readable audio file ({', '.join(AUDIO_FILE_TYPES).upper()} "
                             f"expected): {_reason(err)}.") from None
        signal, rate, channels, frames = read
    cap = int(MAX_SECONDS * rate)
    notes = []
    if len(signal) == 0:
        raise InputError(f"{name} holds no audio samples.")
    if not np.isfinite(signal).all():
        raise InputError(f"{name} holds NaN or infinite samples ({int((~np.isfinite(signal)).sum())} of them); "
                         "a recording never does, so the file is damaged.")
    seconds = len(signal) / rate
    if seconds < MIN_SECONDS:
        raise InputError(f"{name} is {seconds * 1000:.0f} ms long; at least {MIN_SECONDS * 1000:.0f} ms of "
                         "audio is needed.")
    if rate < MIN_RATE:
        raise InputError(f"{name} is sampled at {rate} Hz; at least {MIN_RATE} Hz is needed (below it, speech "
                         "loses the frequencies the model listens to).")
    if frames > cap:
        notes.append(f"{name} is {frames / rate / 60:.1f} minutes long; only the first "
                     f"{MAX_SECONDS / 60:.0f} minutes are used.")
    mono = signal.mean(axis=1)
    if channels > 1:
        notes.append(f"{channels} channels mixed down to mono.")
    peak = float(np.abs(mono).max())
    if peak < SILENCE_PEAK:
        raise InputError(f"{name} is silent (peak {20 * np.log10(max(peak, 1e-12)):.0f} dBFS): there is "
                         "nothing to score.")
    clipped = float(np.mean(np.abs(mono) >= 0.999))
    if peak > 1.0:
        notes.append(f"samples beyond full scale (peak {peak:.2f}) were clipped to ±1.")
    elif clipped > 0.001:
        notes.append(f"{clipped:.1%} of the samples sit at full scale: the recording is clipped, and "
                     "clipping distortion may look like a spoof's artefacts.")
    if rate != sample_rate:
        notes.append(f"resampled from {rate:,} Hz to {sample_rate:,} Hz" + (
            f" (nothing above {rate // 2:,} Hz was recorded)." if rate < sample_rate else "."))
    return DecodedAudio(np.clip(resample(mono, rate, sample_rate), -1.0, 1.0), rate, channels, notes)
