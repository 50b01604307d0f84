"""Does the verdict survive the file a user brings? Held-out recordings as a microphone, phone or browser saves them.

  python benchmarks/formats.py [--model ID[,ID...]] [--n N] [--out FILE] [--quick]

The held-out report's whole recordings (`workbench.training.audio_report`: the real recordings of held-out speakers and
the held-out utterances of every spoof engine, each through its recording chain), each saved in the formats a user
uploads and decoded by the app's own decoder (`workbench.io.audio.decode_audio`), beside the recordings' own samples
scored as the card scores them (no file): 16-bit WAV at 16 kHz (the least a file changes), WAV at 48 kHz (the browser's
microphone), M4A (AAC at 44.1 kHz, a phone's voice memo), WebM (Opus at 48 kHz, a browser's recorder) and MP3 (44.1
kHz). Each detector's clip rule decides. Prints a table (real recordings called bona fide, spoofs caught, per format and
model) and writes JSON (default benchmarks/results/formats.json; --quick: the first model, 4 real recordings and no
spoofs, written to the temporary folder). Reads ../shared/data (speech_bonafide, speech_librispeech); spoofs need the
speech cache or `make speech-tools`.
"""

import argparse
import io
import json
import time
from collections.abc import Callable

import numpy as np
import soundfile
from outputs import output_path

from workbench.io.audio import decode_audio, encode_ffmpeg, resample
from workbench.models import load_model
from workbench.training.audio_report import SEED, SPLIT, clip_scores, clip_verdict, whole_recordings, whole_spoofs

MODELS = "audio_deepfake-mobilenetv2-compact,audio_deepfake-resnet-compact,audio_deepfake-vgg16-compact"
RATE = 16_000


def _soundfile(rate: int, fmt: str, subtype: str) -> Callable[[np.ndarray], bytes]:
    def save(signal: np.ndarray) -> bytes:
        buf = io.BytesIO()
        soundfile.write(buf, resample(signal, RATE, rate), rate, format=fmt, subtype=subtype)
        return buf.getvalue()
    return save


def _ffmpeg(rate: int, container: str, codec: str) -> Callable[[np.ndarray], bytes]:
    return lambda signal: encode_ffmpeg(resample(signal, RATE, rate), rate, container, codec)


FORMATS: dict[str, Callable[[np.ndarray], bytes] | None] = {
    "no file": None,  # the recordings' own samples, scored as the card scores them
    "wav 16 kHz": _soundfile(16_000, "WAV", "PCM_16"),
    "wav 48 kHz": _soundfile(48_000, "WAV", "PCM_16"),
    "m4a (aac)": _ffmpeg(44_100, "ipod", "aac"),
    "webm (opus)": _ffmpeg(48_000, "webm", "libopus"),
    "mp3": _soundfile(44_100, "MP3", "MPEG_LAYER_III"),
}


def measure(model_id: str, real: list[np.ndarray], spoofs: list[np.ndarray]) -> dict:
    model = load_model(model_id)
    rule = model.info.clip_rule
    out = {"model": model_id, "n_real": len(real), "n_spoof": len(spoofs), "formats": {}}
    for name, save in FORMATS.items():
        t0 = time.perf_counter()

        def spoof(clip: np.ndarray, save=save) -> bool:
            samples = clip if save is None else decode_audio(save(clip), "clip", RATE).signal
            return clip_verdict(clip_scores(model, samples), rule)
        kept = [not spoof(c) for c in real]
        caught = [spoof(c) for c in spoofs]
        out["formats"][name] = {"real_called_bonafide": round(float(np.mean(kept)), 3),
                                "real_wrong": int(len(kept) - sum(kept)),
                                "spoofs_caught": round(float(np.mean(caught)), 3) if caught else None,
                                "seconds": round(time.perf_counter() - t0, 1)}
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=MODELS)
    parser.add_argument("--n", type=int, default=None, help="the first N recordings of each kind (default: all)")
    parser.add_argument("--out", default=None, help="default benchmarks/results/formats.json")
    parser.add_argument("--quick", action="store_true", help="a smoke run: the first model, 4 real recordings")
    args = parser.parse_args(argv)
    models = args.model.split(",")[:1] if args.quick else args.model.split(",")
    real = [clip for _, clip in whole_recordings(SPLIT, SEED, 4 if args.quick else args.n)]
    spoofs = [] if args.quick else [clip for _, clip in whole_spoofs(SPLIT, SEED, args.n)]
    results = [measure(m, real, spoofs) for m in models]
    print(f"{'model':36} {'format':12} {'real called bona fide':>22} {'spoofs caught':>14} {'seconds':>8}")
    for r in results:
        for name, v in r["formats"].items():
            caught = "-" if v["spoofs_caught"] is None else f"{v['spoofs_caught']:.3f}"
            print(f"{r['model']:36} {name:12} {v['real_called_bonafide']:>16.3f} ({v['real_wrong']:>2} wrong)"
                  f" {caught:>14} {v['seconds']:>8.1f}")
    out = output_path(args.out, "formats.json", args.quick)
    out.write_text(json.dumps({"split": SPLIT, "seed": SEED, "models": results}, indent=2) + "\n")
    print(f"-> {out}")


if __name__ == "__main__":
    main()
