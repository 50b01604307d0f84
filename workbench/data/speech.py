"""Bona fide and spoofed speech with known ground truth, for the audio deepfake task.

Bona fide: real speech read in place, never copied into the repository: 251 LibriSpeech speakers
(`LIBRISPEECH_DIR`, CC BY 4.0) split by speaker into train / val / test, and 15 Common Voice clips
(`SPEECH_DIR`, CC0, five languages; the third clip of each language held out). Spoofs come from seven engine
families (`spoof_engines`): five text-to-speech engines (formant, diphone, cluster-unit, HTS, neural) and two
vocoders that re-synthesise a real recording (Griffin-Lim, WORLD), and partial spoofs, a real window whose one
time span is replaced by its re-synthesis (the span is the ground truth; the window left real is its twin).
Held-out splits use other speakers, voices, settings and texts.

Every window gets the same augmentation whatever its class (`Augmentation`: speed, crop, a reverberant room, a
recording channel, a resampling round trip through 8-48 kHz, an MP3 or Ogg round trip, level and noise), so the
channel gives nothing away, and a vocoded or spliced window comes with its real twin as the bona fide window
before it. Windows are a pure function of (seed, split, i, engines left out).
"""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import numpy as np

import workbench.data.spoof_engines as engines
from workbench.data.spoof_engines import ENGINES, TTS_ENGINES, VOCODER_ENGINES, griffin_lim
from workbench.errors import InputError, converted
from workbench.io.audio import resample
from workbench.paths import LIBRISPEECH_DIR, SPEECH_DIR
from workbench.specs import InputSpec
from workbench.tasks import Case, GroundTruth
from workbench.tasks.spectrogram import log_mel

RATE = 16_000
SECONDS = 4.0
LABELS = ("bonafide", "spoof")
KINDS = ("bonafide", "tts", "vocoder", "partial")
SPLITS = {"train": 0, "val": 1, "test": 2, "sample": 3, "bench": 4}
LANGUAGES = ("english", "french", "german", "mandarin", "spanish")
LIBRISPEECH = "english (LibriSpeech)"  # the language a LibriSpeech source is reported under
ESPEAK_LANG = {"english": "en", "french": "fr", "german": "de", "mandarin": "cmn", "spanish": "es"}
# Common Voice clip index per language in each split: whole recordings are held out.
CLIPS = {"train": (0, 1), "val": (0, 1), "test": (2,), "sample": (2,), "bench": (2,)}
# espeak-ng voice variants per split: test voices are never heard in training.
VOICES = {"train": ("m1", "m2", "m3", "m7", "m8", "f1", "f2", "croak", "klatt", "klatt3", "klatt4", "klatt5", "klatt6",
                    "robert", "Alex", "Alicia", "Annie", "Denis", "Gene", "Hugo", "Lee", "Michael", "Storm", "adam",
                    "anika", "belinda", "benjamin", "caleb", "david", "edward", "grandma", "grandpa", "linda",
                    "max", "norbert", "quincy", "shelby", "travis", "whisperf"),
          "val": ("m1", "f2", "klatt"),
          "test": ("m4", "m5", "f3", "f4", "klatt2", "steph", "Andy", "john"),
          "sample": ("m6", "f5"), "bench": ("m4", "f4")}
VOCODERS = engines.SETTINGS["griffin_lim"]
# The spoofs each split's spoof windows rotate through: training hears the neural voice and partial spoofs (the
# hardest kind: a second or two of re-synthesis in four seconds) twice as often.
SPOOF_ROTATION = {"train": ("espeak", "flite", "festival_diphone", "festival_hts", "piper", "griffin_lim", "world",
                            "partial", "piper", "partial")}
DEFAULT_ROTATION = ENGINES + ("partial",)
# The share of bona fide windows cut from Common Voice (five languages) rather than LibriSpeech (English).
COMMON_VOICE_SHARE = 0.35
SPEEDS = (0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2)  # ratios of small integers: cheap to resample
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
    """The bona fide clips or a spoof engine are not on this machine, or a clip cannot be read: the user is
    told which, in one line (the app's message, the CLI's exit 2)."""


class Window(NamedTuple):
    window: np.ndarray
    twin: np.ndarray  # a re-synthesised spoof left real (vocoder, partial), else the window itself
    kind: int  # index into KINDS
    source: str  # the real recording a window comes from, or the engine/setting that made it
    span: tuple[float, float] | None
    engine: str  # the spoof engine ("" for bona fide)


@dataclass(frozen=True)
class SpeechSet:
    """Windows of `SECONDS` at `RATE`, with what each is and, for partial spoofs, the spoofed span."""

    waves: np.ndarray  # N x samples float32
    labels: np.ndarray  # N, 0 = bonafide, 1 = spoof
    kinds: np.ndarray  # N, index into KINDS
    spans: np.ndarray  # N x 2 seconds; NaN where there is no span
    sources: tuple[str, ...]  # the clip or voice each window comes from
    twins: np.ndarray  # N x samples: a re-synthesised spoof left real (vocoder, partial), else the window itself
    engines: tuple[str, ...] = ()  # the spoof engine of each window ("" for bona fide)


def language_of(source: str) -> str:
    """The language a bona fide source is reported under: Common Voice's `english_2` -> english."""
    return LIBRISPEECH if source.startswith("ls") else source.rsplit("_", 1)[0]


def librispeech_speakers(split: str) -> tuple[str, ...]:
    """The split's LibriSpeech readers: sorted by id, every fifth held out (test), every tenth of the rest
    validation, the rest training (51, 25 and 175 of the 251). `sample` and `bench` use no LibriSpeech speaker."""
    if split not in ("train", "val", "test"):
        return ()
    if not LIBRISPEECH_DIR.is_dir():
        raise SpeechDataMissing(f"LibriSpeech speech not found in {LIBRISPEECH_DIR} (set WORKBENCH_LIBRISPEECH_DIR).")
    readers = sorted({p.name.split("-")[0] for p in LIBRISPEECH_DIR.glob("*.flac")}, key=int)
    role = ["test" if k % 5 == 0 else "val" if k % 10 == 1 else "train"
            for k in range(len(readers))]
    return tuple(r for r, s in zip(readers, role) if s == split)


def _read_clip(path: Path, missing: str) -> np.ndarray:
    import soundfile

    try:
        signal, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (OSError, RuntimeError) as err:  # soundfile's LibsndfileError is a RuntimeError
        raise converted(SpeechDataMissing(f"the bona fide clip {path.name} in {path.parent} cannot be read: "
                                          f"{missing}."), err) from None
    return resample(signal.mean(axis=1), rate, RATE)


def bonafide_clips(split: str) -> dict[str, np.ndarray]:
    """The split's real recordings at `RATE`, by name: Common Voice 'english_2', LibriSpeech 'ls103'."""
    return dict(_clips_in(split, SPEECH_DIR, LIBRISPEECH_DIR))


@functools.lru_cache(maxsize=8)
def _clips_in(split: str, folder: Path, libri: Path) -> tuple[tuple[str, np.ndarray], ...]:
    """Read once per process and folders (the folders are read at each call, so another is not served from
    the cache)."""
    if not folder.is_dir():
        raise SpeechDataMissing(f"bona fide speech not found in {folder} (set WORKBENCH_SPEECH_DIR).")
    out = [(f"{lang}_{k}", _read_clip(folder / f"{lang}_{k}.wav", "missing or damaged"))
           for lang in LANGUAGES for k in CLIPS[split]]
    for reader in librispeech_speakers(split):
        path = next(libri.glob(f"{reader}-*.flac"))
        out.append((f"ls{reader}", _read_clip(path, "damaged")))
    return tuple(out)


def espeak(text: str, language: str, variant: str, rate_wpm: int = 160, pitch: int = 50) -> np.ndarray:
    """One utterance from espeak-ng at `RATE`."""
    import soundfile

    if shutil.which("espeak-ng") is None:
        raise SpeechDataMissing("espeak-ng is not installed (apt-get install espeak-ng; `make install` does it).")
    wav = subprocess.run(["espeak-ng", "-v", f"{ESPEAK_LANG[language]}+{variant}", "-s", str(rate_wpm),
                          "-p", str(pitch), "--stdout", text], capture_output=True, check=True).stdout
    signal, rate = soundfile.read(io.BytesIO(wav), dtype="float32")
    return resample(signal, rate, RATE)


@functools.lru_cache(maxsize=8)
def _espeak_sources(split: str) -> tuple[tuple[str, np.ndarray], ...]:
    """(voice, utterance) for each of the split's espeak-ng voices and languages (once per process)."""
    rng = np.random.default_rng([7, SPLITS[split]])
    tts = []
    for variant in VOICES[split]:
        for lang in LANGUAGES:
            texts = TEXTS[lang]
            text = " ".join(texts[int(j)] for j in rng.permutation(len(texts))[:2])
            voice = f"espeak/{ESPEAK_LANG[lang]}+{variant}"
            tts.append((voice, espeak(text, lang, variant, int(rng.integers(120, 200)), int(rng.integers(25, 75)))))
    return tuple(tts)


def tts_count(engine: str, split: str) -> int:
    return len(VOICES[split]) * len(LANGUAGES) if engine == "espeak" else engines.POOL[split]


def tts_source(engine: str, split: str, j: int) -> tuple[str, np.ndarray]:
    """(voice or setting, utterance) j of an engine's split: made when first asked for."""
    return _espeak_sources(split)[j] if engine == "espeak" else engines.tts_utterance(engine, split, j)


def vocoder_setting(engine: str, split: str, name: str) -> tuple:
    """Each real recording is re-synthesised with one of the split's settings, fixed by its name, so a
    training run vocodes each recording once per vocoder."""
    settings = engines.SETTINGS[engine][split]
    return settings[sum(map(ord, name)) % len(settings)]


def _vocoded(engine: str, split: str, name: str) -> np.ndarray:
    signal = bonafide_clips(split)[name]
    return _vocoded_in(engine, name, vocoder_setting(engine, split, name), SPEECH_DIR, LIBRISPEECH_DIR, len(signal),
                       split)


@functools.lru_cache(maxsize=512)
def _vocoded_in(engine: str, name: str, setting: tuple, folder: Path, libri: Path, length: int,
                split: str) -> np.ndarray:
    return engines.vocoded(engine, name, dict(_clips_in(split, folder, libri))[name], setting)


def _crop(length: int, rng: np.random.Generator, speed: float, shortest: float = 1.5) -> tuple[int, int, int]:
    """(start, n read, n out): a window of SECONDS after the speed change, or a shorter one a quarter of the time
    (zero-padded later)."""
    full = int(RATE * SECONDS)
    out = full if rng.random() < 0.75 else int(rng.uniform(shortest, SECONDS) * RATE)
    read = min(int(round(out * speed)), length)
    return int(rng.integers(0, length - read + 1)), read, int(round(read / speed))


def _speed(segment: np.ndarray, speed: float, n: int) -> np.ndarray:
    """Play a segment `speed` times as fast, in n samples: tempo and pitch change together, as on tape."""
    if speed == 1.0:
        return segment[:n]
    ratio = Fraction(speed).limit_denominator(20)
    out = resample(segment, ratio.numerator, ratio.denominator)[:n]
    return np.pad(out, (0, n - len(out))).astype(np.float32)


def _pick_source(rng: np.random.Generator, split: str) -> str:
    names = sorted(bonafide_clips(split))
    voices = [n for n in names if not n.startswith("ls")]
    readers = [n for n in names if n.startswith("ls")]
    pool = voices if not readers or rng.random() < COMMON_VOICE_SHARE else readers
    return pool[int(rng.integers(len(pool)))]


def make_window(seed: int, split: str, i: int, spoof: str | None = None, exclude: tuple[str, ...] = ()) -> Window:
    """Window i of a split; classes alternate, spoof engines rotate (`exclude`d engines never appear; a
    partial spoof uses a vocoder not excluded). `spoof` forces one: an engine, "partial" or "bonafide".

    A re-synthesised spoof's twin is the same crop of the same recording through the same augmentation, left
    real; the bona fide window before such a spoof is that twin. The model then sees every vocoded or spliced
    window beside its real counterpart, so the re-synthesis is the only difference it can learn."""
    from workbench.data.augment import Augmentation

    rng = np.random.default_rng([seed, SPLITS[split], i])
    noise_rng = np.random.default_rng([seed, SPLITS[split], i, 1])  # shared by a window and its twin
    rotation = [s for s in SPOOF_ROTATION.get(split, DEFAULT_ROTATION) if s not in exclude]
    vocoders = [v for v in VOCODER_ENGINES if v not in exclude]
    if not vocoders and "partial" in rotation:
        rotation.remove("partial")
    paired = rotation[(i // 2) % len(rotation)]
    what = spoof or ("bonafide" if i % 2 == 0 else paired)
    if spoof is None and what == "bonafide" and paired not in TTS_ENGINES:
        made = make_window(seed, split, i + 1, paired, exclude)
        return Window(made.twin, made.twin, 0, made.source, None, "")
    speed = float(rng.choice(SPEEDS))
    augment = Augmentation.draw(rng)
    if what in TTS_ENGINES:
        voice, utterance = tts_source(what, split, int(rng.integers(tts_count(what, split))))
        start, read, n = _crop(len(utterance), rng, speed)
        window = augment(_speed(utterance[start:start + read], speed, n), noise_rng)
        return Window(window, window, KINDS.index("tts"), voice, None, what)
    name = _pick_source(rng, split)
    real = bonafide_clips(split)[name]
    start, read, n = _crop(len(real), rng, speed, shortest=2.5 if what == "partial" else 1.5)
    real = _speed(real[start:start + read], speed, n)
    if what == "bonafide":
        window = augment(real, noise_rng)
        return Window(window, window, 0, name, None, "")
    engine = what if what != "partial" else vocoders[int(rng.integers(len(vocoders)))]
    fake = _speed(_vocoded(engine, split, name)[start:start + read], speed, n)
    span = None
    if what == "partial":  # one span of 1-2 s (inside the cropped speech) replaced, with 10 ms cross-fades
        length = min(rng.uniform(1.0, 2.0), n / RATE - 0.4)
        a = rng.uniform(0.1, n / RATE - length - 0.1)
        lo, hi = int(a * RATE), int((a + length) * RATE)
        fake = splice(real, fake, lo, hi)
        span = (lo / RATE, hi / RATE)
    window = augment(fake, noise_rng, reference=real)
    twin = augment(real, np.random.default_rng([seed, SPLITS[split], i, 1]))
    return Window(window, twin, KINDS.index("partial" if what == "partial" else "vocoder"), name, span, engine)


def splice(real: np.ndarray, fake: np.ndarray, lo: int, hi: int, fade_seconds: float = 0.01) -> np.ndarray:
    """`real` with samples lo:hi taken from `fake`, cross-faded over `fade_seconds` either side."""
    fade = int(fade_seconds * RATE)
    weight = np.zeros(len(real), np.float32)
    weight[lo:hi] = 1
    weight[lo - fade:lo] = np.linspace(0, 1, fade, endpoint=False)  # lo >= 0.1 s and hi <= end - 0.1 s
    weight[hi:hi + fade] = np.linspace(1, 0, fade, endpoint=False)
    return ((1 - weight) * real + weight * fake).astype(np.float32)


def make_clips(n: int, seed: int = 0, split: str = "train", exclude: tuple[str, ...] = ()) -> SpeechSet:
    """n windows, half bona fide, half spoofs (the split's engines and partial spoofs in turn)."""
    rows = [make_window(seed, split, i, exclude=exclude) for i in range(n)]
    spans = np.array([r.span if r.span else (np.nan, np.nan) for r in rows], np.float32).reshape(n, 2)
    kinds = np.array([r.kind for r in rows], np.int64)
    empty = np.zeros((0, int(RATE * SECONDS)), np.float32)
    return SpeechSet(np.stack([r.window for r in rows]) if rows else empty, (kinds > 0).astype(np.int64), kinds,
                     spans, tuple(r.source for r in rows), np.stack([r.twin for r in rows]) if rows else empty,
                     tuple(r.engine for r in rows))


def spectrograms(waves: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Scaled log-mel spectrograms (N x mels x frames) of windows, as the audio task computes them."""
    return np.stack([log_mel(w, spec.signal)[:, : spec.width] for w in waves]).astype(np.float32)


def make_dataset(n: int, seed: int = 0, split: str = "train", *, spec: InputSpec,
                 exclude: tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(spectrograms N x mels x frames in [0, 1], spans N x 2 seconds (NaN: none), labels): a recipe's data."""
    clips = make_clips(n, seed, split, exclude)
    return spectrograms(clips.waves, spec), clips.spans, clips.labels


def held_out_cases(n: int = 4, seed: int = 0) -> list[Case]:
    """Partial spoofs of the held-out recordings, each with its span, and their real twins: samples
    whose truth is known, made in memory on request because nothing cut from the shared recordings
    may be saved. Empty when the recordings are not on this machine."""
    if not SPEECH_DIR.is_dir():
        return []

    def case(k: int, spoofed: bool) -> tuple[np.ndarray, GroundTruth | None]:
        made = make_window(seed, "sample", 2 * k + 1, "partial")
        return (made.window, GroundTruth(span=made.span)) if spoofed else (made.twin, None)

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


def prepare(split: str, log=print) -> None:
    """Make every utterance and re-synthesis the split's windows draw from (with `spoof_engines.use_cache`, once
    per machine): a training run then spends its time on windows, not on engines."""
    import time

    for engine in TTS_ENGINES:
        t0 = time.perf_counter()
        for j in range(tts_count(engine, split)):
            tts_source(engine, split, j)
        log(f"{split}: {engine} utterances in {time.perf_counter() - t0:.0f} s")
    for engine in VOCODER_ENGINES:
        t0 = time.perf_counter()
        for name in sorted(bonafide_clips(split)):
            _vocoded(engine, split, name)
        log(f"{split}: {engine} re-synthesis in {time.perf_counter() - t0:.0f} s")
