"""Bona fide and spoofed speech with known ground truth, for the audio deepfake task.

Bona fide: real CC0 speech read from `SPEECH_DIR` (never copied into the repository). Spoofs:

  tts      espeak-ng text-to-speech with varied voices, rates and pitches
  vocoder  a bona fide clip through a mel spectrogram and back with Griffin-Lim (varied settings)
  partial  a bona fide window whose one time span is replaced by its vocoded version; the span is
           the ground truth, and the same window without the splice is its counterfactual twin

Held out by whole source: the test split uses the third clip of each language and espeak voice
variants that training never hears, so a model cannot pass by remembering a speaker or a voice.
Every window gets the same augmentation whatever its class (speed, crop, recording channel, gain,
noise), so that loudness, length, bandwidth or noise floor give nothing away, and a vocoded or
spliced window comes with its real twin as the bona fide window before it. Training windows alone
may also pass through a telephone band (`TELEPHONE`), from a random stream of their own, so every
held-out window is the same as before it was added and models trained either way compare on the same
windows. Windows are a pure function of (seed, split, i).
"""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.errors import InputError, converted
from workbench.io.audio import resample
from workbench.paths import SPEECH_DIR
from workbench.specs import InputSpec
from workbench.tasks import Case, GroundTruth
from workbench.tasks.audio import log_mel

RATE = 16_000
SECONDS = 4.0
LABELS = ("bonafide", "spoof")
KINDS = ("bonafide", "tts", "vocoder", "partial")
SPLITS = {"train": 0, "val": 1, "test": 2, "sample": 3, "bench": 4}
LANGUAGES = ("english", "french", "german", "mandarin", "spanish")
ESPEAK_LANG = {"english": "en", "french": "fr", "german": "de", "mandarin": "cmn", "spanish": "es"}
# Clip index per language in each split: whole recordings are held out.
CLIPS = {"train": (0, 1), "val": (0, 1), "test": (2,), "sample": (2,), "bench": (2,)}
# espeak-ng voice variants per split: test voices are never heard in training.
VOICES = {"train": ("m1", "m2", "m3", "m7", "m8", "f1", "f2", "croak", "klatt", "klatt3", "klatt4", "klatt5", "klatt6",
                    "robert", "Alex", "Alicia", "Annie", "Denis", "Gene", "Hugo", "Lee", "Michael", "Storm", "adam",
                    "anika", "belinda", "benjamin", "caleb", "david", "edward", "grandma", "grandpa", "linda",
                    "max", "norbert", "quincy", "shelby", "travis", "whisperf"),
          "val": ("m1", "f2", "klatt"),
          "test": ("m4", "m5", "f3", "f4", "klatt2", "steph", "Andy", "john"),
          "sample": ("m6", "f5"), "bench": ("m4", "f4")}
# Griffin-Lim settings: (mel bands, FFT size, hop, iterations); test uses settings of its own.
VOCODERS = {"train": ((80, 1024, 256, 32), (64, 512, 128, 16), (128, 1024, 256, 8), (80, 800, 200, 64),
                      (100, 1024, 160, 16), (64, 640, 160, 48)),
            "val": ((80, 1024, 256, 32),),
            "test": ((96, 1024, 200, 24), (80, 512, 160, 32)),
            "sample": ((80, 1024, 256, 32),), "bench": ((80, 1024, 256, 32),)}
# The spoof kinds each split's spoof windows rotate through: training sees partial spoofs, the
# hardest kind (a second or two of re-synthesis in four seconds), twice as often.
SPOOF_ROTATION = {"train": ("tts", "vocoder", "partial", "partial")}
# Share of training windows, every class alike, whose channel ends in a telephone-band low-pass
# (cut-off range in Hz, Butterworth order): some real recordings have almost nothing above 3 kHz
# (held-out `french_2`'s 3-5 kHz band is about 35 dB below the others'), where the gentler 5-7.9 kHz
# low-pass of `_channel` never goes.
TELEPHONE = (0.15, (3000.0, 4000.0), 8)
SPEEDS = (0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.18, 1.25)
TEXTS = {
    "english": ("The small boat drifted slowly past the old harbour wall.",
                "Please remember to close the window before you leave the office tonight.",
                "Seven students walked to the library after the long afternoon lecture.",
                "A warm breeze carried the smell of bread from the bakery on the corner."),
    "french": ("Le petit bateau glisse lentement devant le vieux port.",
               "N'oublie pas de fermer la fenêtre avant de partir ce soir.",
               "Sept étudiants sont allés à la bibliothèque après le cours."),
    "german": ("Das kleine Boot treibt langsam an der alten Hafenmauer vorbei.",
               "Bitte schließe das Fenster, bevor du heute Abend gehst.",
               "Sieben Studenten gingen nach der Vorlesung in die Bibliothek."),
    "mandarin": ("小船慢慢地漂过了老港口的墙。", "今天晚上离开之前请记得关窗户。", "七个学生下课以后去了图书馆。"),
    "spanish": ("El pequeño barco pasa despacio junto al viejo puerto.",
                "Por favor, cierra la ventana antes de salir esta noche.",
                "Siete estudiantes fueron a la biblioteca después de la clase."),
}


class SpeechDataMissing(InputError):
    """The bona fide clips or the espeak-ng engine are not on this machine, or a clip cannot be read: the user
    is told which, in one line (the app's message, the CLI's exit 2)."""


@dataclass(frozen=True)
class SpeechSet:
    """Windows of `SECONDS` at `RATE`, with what each is and, for partial spoofs, the spoofed span."""

    waves: np.ndarray  # N x samples float32
    labels: np.ndarray  # N, 0 = bonafide, 1 = spoof
    kinds: np.ndarray  # N, index into KINDS
    spans: np.ndarray  # N x 2 seconds; NaN where there is no span
    sources: tuple[str, ...]  # the clip or voice each window comes from
    twins: np.ndarray  # N x samples: a re-synthesised spoof left real (vocoder, partial), else the window itself


def _speed(signal: np.ndarray, factor: float) -> np.ndarray:
    """Play faster (factor > 1) or slower: tempo and pitch change together, as on tape."""
    return signal if factor == 1.0 else resample(signal, int(round(RATE * factor * 100)), RATE * 100)


def bonafide_clips(split: str) -> dict[str, np.ndarray]:
    """The split's real recordings at `RATE`, by name (e.g. 'english_2')."""
    import soundfile

    if not SPEECH_DIR.is_dir():
        raise SpeechDataMissing(f"bona fide speech not found in {SPEECH_DIR} (set WORKBENCH_SPEECH_DIR).")
    out = {}
    for lang in LANGUAGES:
        for k in CLIPS[split]:
            path = SPEECH_DIR / f"{lang}_{k}.wav"
            try:
                signal, rate = soundfile.read(path, dtype="float32", always_2d=True)
            except (OSError, RuntimeError) as err:  # soundfile's LibsndfileError is a RuntimeError
                raise converted(SpeechDataMissing(f"the bona fide clip {path.name} in {SPEECH_DIR} cannot be "
                                                  "read: missing or damaged."), err) from None
            out[f"{lang}_{k}"] = resample(signal.mean(axis=1), rate, RATE)
    return out


def espeak(text: str, language: str, variant: str, rate_wpm: int = 160, pitch: int = 50) -> np.ndarray:
    """One utterance from espeak-ng at `RATE`."""
    import soundfile

    if shutil.which("espeak-ng") is None:
        raise SpeechDataMissing("espeak-ng is not installed (apt-get install espeak-ng; `make install` does it).")
    wav = subprocess.run(["espeak-ng", "-v", f"{ESPEAK_LANG[language]}+{variant}", "-s", str(rate_wpm),
                          "-p", str(pitch), "--stdout", text], capture_output=True, check=True).stdout
    signal, rate = soundfile.read(io.BytesIO(wav), dtype="float32")
    return resample(signal, rate, RATE)


def griffin_lim(signal: np.ndarray, setting: tuple[int, int, int, int], seed: int = 0) -> np.ndarray:
    """Vocoder re-synthesis: power mel spectrogram with `setting`, back to a linear magnitude by the
    filter bank's pseudo-inverse (least squares, clipped at 0; librosa's NNLS is 10x slower and
    sounds the same), then Griffin-Lim back to audio."""
    import librosa

    n_mels, n_fft, hop, n_iter = setting
    mel = librosa.feature.melspectrogram(y=signal, sr=RATE, n_fft=n_fft, hop_length=hop, n_mels=n_mels)
    inverse = np.linalg.pinv(librosa.filters.mel(sr=RATE, n_fft=n_fft, n_mels=n_mels))
    magnitude = np.sqrt(np.maximum(inverse @ mel, 0))
    out = librosa.griffinlim(magnitude, n_iter=n_iter, hop_length=hop, n_fft=n_fft, length=len(signal),
                             random_state=seed)
    return out.astype(np.float32)


def _bonafide_sources(split: str) -> dict[tuple[str, float], np.ndarray]:
    """The split's recordings at every speed in SPEEDS, by (clip, speed): computed once per process and folder
    (`SPEECH_DIR` is read at each call, so another folder is read, not served from the cache)."""
    return _sources_in(split, SPEECH_DIR)


@functools.lru_cache(maxsize=4)
def _sources_in(split: str, folder: Path) -> dict[tuple[str, float], np.ndarray]:
    return {(name, speed): _speed(clip, speed) for name, clip in bonafide_clips(split).items() for speed in SPEEDS}


@functools.lru_cache(maxsize=4)
def _tts_sources(split: str) -> list[tuple[str, np.ndarray]]:
    """(voice, utterance) for each of the split's espeak-ng voices and languages (computed once per
    process; only text-to-speech windows need espeak-ng)."""
    rng = np.random.default_rng([7, SPLITS[split]])
    tts = []
    for variant in VOICES[split]:
        for lang in LANGUAGES:
            texts = TEXTS[lang]
            text = " ".join(texts[int(j)] for j in rng.permutation(len(texts))[:2])
            voice = f"{ESPEAK_LANG[lang]}+{variant}"
            tts.append((voice, espeak(text, lang, variant, int(rng.integers(120, 200)), int(rng.integers(25, 75)))))
    return tts


def _vocoded(split: str, key: tuple[str, float], setting: int) -> np.ndarray:
    """A bona fide source re-synthesised with one of the split's vocoder settings (made once per folder)."""
    return _vocoded_in(split, key, setting, SPEECH_DIR)


@functools.cache
def _vocoded_in(split: str, key: tuple[str, float], setting: int, folder: Path) -> np.ndarray:
    return griffin_lim(_sources_in(split, folder)[key], VOCODERS[split][setting], seed=setting)


def _crop(length: int, rng: np.random.Generator, shortest: float = 1.5) -> tuple[int, int]:
    """(start, n): a window of SECONDS, or a shorter one a quarter of the time (zero-padded later)."""
    full = int(RATE * SECONDS)
    n = full if rng.random() < 0.75 else int(rng.uniform(shortest, SECONDS) * RATE)
    n = min(n, length)
    return int(rng.integers(0, length - n + 1)), n


def _channel(rng: np.random.Generator, band_rng: np.random.Generator | None = None
             ) -> Callable[[np.ndarray], np.ndarray]:
    """A random recording channel: a spectral tilt, half the time a high-pass (40-300 Hz), a third of
    the time a low-pass (5-7.9 kHz). Ten real recordings have ten channels; without this a model
    learns them (a held-out noisy recording was called spoof in half its windows). With `band_rng`
    (training windows), a `TELEPHONE` share of channels get a telephone-band low-pass instead."""
    from scipy.signal import butter, lfilter, sosfilt

    tilt = rng.uniform(-0.4, 0.4)
    high = rng.uniform(40, 300) if rng.random() < 0.5 else None
    low = (rng.uniform(5000, 7900), 4) if rng.random() < 0.3 else None
    share, (lowest, highest), order = TELEPHONE
    if band_rng is not None and band_rng.random() < share:
        low = (band_rng.uniform(lowest, highest), order)

    def apply(signal: np.ndarray) -> np.ndarray:
        out = lfilter([1.0, -tilt], [1.0], signal)  # tilt > 0 lifts high frequencies, < 0 low ones
        if high is not None:
            out = sosfilt(butter(2, high, "highpass", fs=RATE, output="sos"), out)
        if low is not None:
            out = sosfilt(butter(low[1], low[0], "lowpass", fs=RATE, output="sos"), out)
        return out.astype(np.float32)

    return apply


def _finish(window: np.ndarray, rng: np.random.Generator, noise_rng: np.random.Generator,
            reference: np.ndarray | None = None) -> np.ndarray:
    """Zero-pad to SECONDS, set a random peak level, add white or low-frequency noise at a random SNR
    (all classes alike). Level and noise follow `reference` when given, so a partial spoof and its
    twin get the same."""
    ref = window if reference is None else reference
    out = np.zeros(int(RATE * SECONDS), np.float32)
    out[: len(window)] = window
    scale = rng.uniform(0.1, 0.9) / (float(np.abs(ref).max()) or 1.0)
    out *= scale
    power = float(np.mean((ref * scale) ** 2)) or 1e-8
    snr_db = rng.uniform(15, 50)
    noise = noise_rng.standard_normal(len(window)).astype(np.float32)
    if rng.random() < 0.5:  # brown-ish noise: hum and rumble rather than hiss
        from scipy.signal import lfilter

        noise = lfilter([1.0], [1.0, -0.95], noise).astype(np.float32)
    noise *= np.sqrt(power / 10 ** (snr_db / 10) / (float(np.mean(noise**2)) or 1.0))
    out[: len(window)] += noise
    return np.clip(out, -1, 1)


def make_window(seed: int, split: str, i: int, kind: str | None = None) -> tuple[np.ndarray, np.ndarray, int, str,
                                                                              tuple[float, float] | None]:
    """(window, twin, kind index, source, span): window i of a split; classes alternate, spoof kinds rotate.

    A re-synthesised spoof's twin is the same crop of the same recording through the same channel,
    level and noise, left real; the bona fide window before such a spoof is that twin. The model then
    sees every vocoded or spliced window beside its real counterpart, so the re-synthesis is the only
    difference it can learn (the speaker, crop or noise tell nothing)."""
    rng = np.random.default_rng([seed, SPLITS[split], i])
    noise_rng = np.random.default_rng([seed, SPLITS[split], i, 1])  # shared by a window and its twin
    band_rng = np.random.default_rng([seed, SPLITS[split], i, 2]) if split == "train" else None
    rotation = SPOOF_ROTATION.get(split, KINDS[1:])
    paired = rotation[(i // 2) % len(rotation)]
    kind = kind or ("bonafide" if i % 2 == 0 else paired)
    if kind == "bonafide" and i % 2 == 0 and paired != "tts":
        _, twin, _, source, _ = make_window(seed, split, i + 1, paired)
        return twin, twin, 0, source, None
    if kind == "tts":
        tts = _tts_sources(split)
        voice, utterance = tts[int(rng.integers(len(tts)))]
        utterance = _speed(utterance, float(rng.choice(SPEEDS)))
        start, n = _crop(len(utterance), rng)
        window = _finish(_channel(rng, band_rng)(utterance[start:start + n]), rng, noise_rng)
        return window, window, KINDS.index(kind), voice, None
    bonafide = _bonafide_sources(split)
    keys = sorted(bonafide)
    key = keys[int(rng.integers(len(keys)))]
    real = bonafide[key]
    start, n = _crop(len(real), rng, shortest=2.5 if kind == "partial" else 1.5)
    channel = _channel(rng, band_rng)
    real = channel(real[start:start + n])
    if kind == "bonafide":
        window = _finish(real, rng, noise_rng)
        return window, window, 0, key[0], None
    fake = channel(_vocoded(split, key, int(rng.integers(len(VOCODERS[split]))))[start:start + n])
    span = None
    if kind == "partial":  # one span of 1-2 s (inside the cropped speech) replaced, with 10 ms cross-fades
        length = min(rng.uniform(1.0, 2.0), n / RATE - 0.4)
        a = rng.uniform(0.1, n / RATE - length - 0.1)
        lo, hi = int(a * RATE), int((a + length) * RATE)
        fade = int(0.01 * RATE)
        weight = np.zeros(n, np.float32)
        weight[lo:hi] = 1
        weight[lo - fade:lo] = np.linspace(0, 1, fade, endpoint=False)
        weight[hi:hi + fade] = np.linspace(1, 0, fade, endpoint=False)
        fake = (1 - weight) * real + weight * fake
        span = (lo / RATE, hi / RATE)
    state = rng.bit_generator.state
    window = _finish(fake, rng, noise_rng, reference=real)
    rng.bit_generator.state = state
    twin = _finish(real, rng, np.random.default_rng([seed, SPLITS[split], i, 1]))
    return window, twin, KINDS.index(kind), key[0], span


def make_clips(n: int, seed: int = 0, split: str = "train") -> SpeechSet:
    """n windows, half bona fide, half spoofs (TTS, vocoder and partial in turn, see SPOOF_ROTATION)."""
    rows = [make_window(seed, split, i) for i in range(n)]
    spans = np.array([r[4] if r[4] else (np.nan, np.nan) for r in rows], np.float32).reshape(n, 2)
    kinds = np.array([r[2] for r in rows], np.int64)
    return SpeechSet(np.stack([r[0] for r in rows]) if rows else np.zeros((0, int(RATE * SECONDS)), np.float32),
                     (kinds > 0).astype(np.int64), kinds, spans, tuple(r[3] for r in rows),
                     np.stack([r[1] for r in rows]) if rows else np.zeros((0, int(RATE * SECONDS)), np.float32))


def spectrograms(waves: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Scaled log-mel spectrograms (N x mels x frames) of windows, as the audio task computes them."""
    return np.stack([log_mel(w, spec.signal)[:, : spec.width] for w in waves]).astype(np.float32)


def make_dataset(n: int, seed: int = 0, split: str = "train", *, spec: InputSpec) -> tuple[np.ndarray, np.ndarray,
                                                                                          np.ndarray]:
    """(spectrograms N x mels x frames in [0, 1], spans N x 2 seconds (NaN: none), labels): a recipe's data."""
    clips = make_clips(n, seed, split)
    return spectrograms(clips.waves, spec), clips.spans, clips.labels


def held_out_cases(n: int = 4, seed: int = 0) -> list[Case]:
    """Partial spoofs of the held-out recordings, each with its span, and their real twins: samples
    whose truth is known, made in memory on request because nothing cut from the shared recordings
    may be saved. Empty when the recordings are not on this machine."""
    if not SPEECH_DIR.is_dir():
        return []

    def case(k: int, spoofed: bool) -> tuple[np.ndarray, GroundTruth | None]:
        window, twin, _, _, span = make_window(seed, "sample", 2 * k + 1, "partial")
        return (window, GroundTruth(span=span)) if spoofed else (twin, None)

    where = "held-out recording, generated, never saved"
    return [c for k in range(n) for c in (
        Case(f"{LABELS[1]}_partial_{k + 1} ({where}; span known)", LABELS[1],
             functools.partial(case, k, True)),
        Case(f"{LABELS[0]}_twin_{k + 1} (partial {k + 1} left real)", LABELS[0],
             functools.partial(case, k, False)))]


def write_samples(out_dir) -> list[str]:
    """The task's sample files, all made here (text-to-speech, re-synthesised text-to-speech), in
    several formats and rates; the long one spans three windows."""

    import soundfile

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    en, fr = TEXTS["english"], TEXTS["french"]
    files = {
        "spoof_tts_01.wav": (espeak(en[0], "english", "m6", 150, 45), RATE, "PCM_16"),
        "spoof_tts_02.flac": (resample(espeak(fr[1], "french", "f5", 170, 60), RATE, 44_100), 44_100, "PCM_16"),
        "spoof_vocoded_03.ogg": (griffin_lim(espeak(en[2], "english", "f5", 140, 55), VOCODERS["sample"][0]),
                                 RATE, "VORBIS"),
        "spoof_tts_long_04.mp3": (espeak(" ".join(en), "english", "m6", 160, 50), RATE, "MPEG_LAYER_III"),
    }
    for name, (signal, rate, subtype) in files.items():
        signal = 0.7 * signal / (float(np.abs(signal).max()) or 1.0)
        soundfile.write(out / name, signal, rate, subtype=subtype)
    return list(files)
