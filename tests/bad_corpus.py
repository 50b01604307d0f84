"""One generated corpus of bad input for every input path, each file with the message its user must see.

The paths: images and DICOM files (the decoder, `tests/corpus.py`), audio, ground-truth files (the CLI's
`--truth`, the app's ground-truth upload), MedMNIST `.npz` files (`evaluate --npz`, the Evaluation tab), report
manifests (`reproduce`) and model repos (a folder or a Hub cache). Every file is made here, from nothing read
from disk but the repository's own samples. `tests/test_bad_corpus.py` feeds each one to the CLI (exit 2, one
line) and, where the app takes that kind of input, to the app (a message, and the next good input works).

`python -m tests.bad_corpus` prints the listing kept in `docs/bad_input.md`; `--write DIR` writes the files.
"""

from __future__ import annotations

import functools
import io
import json
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
from PIL import Image

from workbench.io.audio import encode_ffmpeg

from .corpus import error_cases

ROOT = Path(__file__).resolve().parents[1]
LUNG_SAMPLE = ROOT / "sample_files" / "lung_xray" / "affected_01.png"  # 128 x 128
AUDIO_SAMPLE = ROOT / "sample_files" / "audio_deepfake" / "spoof_tts_01.wav"  # 3.9 s, one window
PATHS = {  # input path: what reads it
    "image": "an image upload, `--input` (lung X-ray task)",
    "dicom": "a DICOM upload, `--input` (lung X-ray task)",
    "audio": "an audio upload, `--input` (audio deepfake task)",
    "truth": "the app's ground-truth upload, `xai_models.py --truth`",
    "npz": "the Evaluation tab's MedMNIST upload, `xai_models.py evaluate --npz`",
    "manifest": "`xai_models.py reproduce` (a report ZIP or its manifest.json)",
    "repo": "the sidebar's Hub field, `--model` (a model folder or a cached Hub repo)",
    "request": "a choice on the command line (`--seed`, `--csv`) or the shared folder the evaluation reads",
}


@dataclass(frozen=True)
class Bad:
    path: str  # a key of PATHS
    name: str  # the file (or repo folder) name
    message: str  # a fragment of the one-line message, in the CLI and in the app
    make: Callable[[Path], Path]  # writes the file into a folder; returns its path
    against: str = ""  # what it is given with: the truth's input (lung or audio), or nothing
    app: str = "message"  # in the app: the same message; "uploader": a type its uploader refuses; "field": the
    # app's field does not offer the value; "CLI only"
    argv: tuple[str, ...] = ()  # a request's command line, "{file}" standing for the made path
    speech: bool = False  # the made path is the bona fide speech folder the evaluation reads (WORKBENCH_SPEECH_DIR)


def data(make: Callable[[], bytes], name: str) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        (folder / name).write_bytes(make())
        return folder / name
    return write


def nothing(name: str) -> Callable[[Path], Path]:
    """A path that is not there."""
    return lambda folder: folder / name


# Audio -------------------------------------------------------------------------------------------------------

def tone(seconds: float, rate: int, freq: float = 440.0, channels: int = 1, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    mono = level * np.sin(2 * np.pi * freq * t) + 0.01 * np.random.default_rng(0).normal(size=t.size)
    return np.stack([mono] * channels, axis=1).astype(np.float32) if channels > 1 else mono.astype(np.float32)


def encode(signal: np.ndarray, rate: int, fmt: str = "WAV", subtype: str | None = None) -> bytes:
    buf = io.BytesIO()
    soundfile.write(buf, signal, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


def video_without_sound() -> bytes:
    """A screen recording with no sound track: one second of MPEG-4 video in an MP4 container."""
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for k in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 20 * k, np.uint8), format="rgb24")
            frame.pts = k
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return buf.getvalue()


def _with_sample(signal: np.ndarray, index: int, value: float) -> np.ndarray:
    out = signal.copy()
    out[index] = value
    return out


NOISE = np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes()
NOT_AUDIO = "not a readable audio file"
# An HLS playlist naming a local file: FFmpeg, left to probe it, would open what it names (never done here)
PLAYLIST = b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n"
BAD_AUDIO = {  # name: (bytes, message)
    "png_named.wav": (lambda: b"\x89PNG\r\n\x1a\n" + bytes(200), NOT_AUDIO),
    "empty.wav": (lambda: b"", "is empty"),
    "wav_cut_at_30_bytes.wav": (lambda: encode(tone(1.0, 16000), 16000)[:30], NOT_AUDIO),
    "wav_header_only.wav": (lambda: encode(tone(1.0, 16000), 16000)[:44], "holds no audio samples"),
    "silent.wav": (lambda: encode(np.zeros(16000, np.float32), 16000), "is silent"),
    "50_ms.wav": (lambda: encode(tone(0.05, 16000), 16000), "at least 100 ms"),
    "float_nan.wav": (lambda: encode(_with_sample(tone(1.0, 16000), 50, np.nan), 16000, subtype="FLOAT"),
                      "NaN or infinite"),
    "float_inf.wav": (lambda: encode(_with_sample(tone(1.0, 16000), 9, np.inf), 16000, subtype="FLOAT"),
                      "NaN or infinite"),
    "rate_4000_hz.wav": (lambda: encode(tone(1.0, 4000, freq=300), 4000), "at least 8000 Hz"),
    "mp3_cut_at_300_bytes.mp3": (lambda: encode(tone(2.0, 16000), 16000, "MP3", "MPEG_LAYER_III")[:300],
                                 "its format is not recognised"),
    "flac_half.flac": (lambda: (lambda f: f[: len(f) // 2])(encode(tone(2.0, 16000), 16000, "FLAC")),
                       "flac decoder lost sync"),
    "ogg_header_then_noise.ogg": (lambda: encode(tone(2.0, 16000), 16000, "OGG", "VORBIS")[:60] + NOISE,
                                  "file is malformed"),
    "mp4_video_named.wav": (lambda: b"\x00\x00\x00\x18ftypmp42" + bytes(500), "lacks the index (moov box)"),
    "m4a_cut_in_half.m4a": (lambda: (lambda f: f[: len(f) // 2])(encode_ffmpeg(tone(2.0, 44100), 44100, "ipod",
                                                                                 "aac")), "MP4/M4A file that cannot"),
    "aac_first_frame_then_noise.aac": (lambda: encode_ffmpeg(tone(2.0, 44100), 44100, "adts", "aac")[:300]
                                       + NOISE, "23 ms long; at least 100 ms"),
    "screen_recording_without_sound.m4a": (video_without_sound, "holds no audio stream"),
    "playlist_named.m4a": (lambda: PLAYLIST, NOT_AUDIO),
    "webm_header_only.webm": (lambda: encode_ffmpeg(tone(2.0, 48000), 48000, "webm", "libopus")[:150],
                              "WebM file that cannot be opened"),
}


# Ground truth ------------------------------------------------------------------------------------------------

def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


MASK = np.zeros((128, 128), np.uint8)
MASK[40:70, 30:60] = 255
TRUTH = [  # (name, bytes or None for a missing file, message, the input it is given with)
    ("missing_mask.png", None, "ground truth file not found", "lung"),
    ("empty_mask.png", lambda: b"", "is empty", "lung"),
    ("text_named_mask.png", lambda: b"white where the lesion is\n" * 10, "not a readable image", "lung"),
    ("mask_cut_in_half.png", lambda: png(MASK)[: len(png(MASK)) // 2], "truncated", "lung"),
    ("mask_64x64.png", lambda: png(MASK[::2, ::2]), "the mask is 64x64 pixels but the image is 128x128", "lung"),
    ("mask_128x96.png", lambda: png(MASK[:96]), "the mask is 128x96 pixels but the image is 128x128", "lung"),
    ("span_for_an_image.json", lambda: b'{"span": [0.5, 1.0]}', "a time span is ground truth for audio", "lung"),
    ("missing_span.json", None, "ground truth file not found", "audio"),
    ("not_json.json", lambda: b"{span: 0.5-1.0", "cannot read the ground truth in not_json.json", "audio"),
    ("no_span_key.json", lambda: b'{"spam": [0.5, 1.0]}', "cannot read the ground truth in no_span_key.json",
     "audio"),
    ("span_of_one_value.json", lambda: b'{"span": [0.5]}', "the span has 1 values", "audio"),
    ("span_of_words.json", lambda: b'{"span": ["start", "end"]}', "could not convert string to float", "audio"),
    ("span_backwards.json", lambda: b'{"span": [2.0, 1.0]}', "must run forward", "audio"),
    ("span_negative.json", lambda: b'{"span": [-1.0, 1.0]}', "must run forward", "audio"),
    ("span_nan.json", lambda: b'{"span": [NaN, 1.0]}', "must run forward", "audio"),
    ("span_after_the_clip.json", lambda: b'{"span": [50.0, 60.0]}', "starts at 50 s but the audio is 3.89331 s",
     "audio"),
    ("latin1_span.json", lambda: '{"span": [0.5, 1.0], "note": "é"}'.encode("latin-1"),
     "cannot read the ground truth in latin1_span.json", "audio"),
    ("mask_for_audio.png", lambda: png(MASK), "an audio task takes a .json file", "audio"),
]


# MedMNIST files ----------------------------------------------------------------------------------------------

def npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def zipped(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buf.getvalue()


IMAGES = np.zeros((3, 28, 28), np.uint8)
LABELS = np.zeros((3, 1), np.int64)
NPZ = [  # (name, bytes, message)
    ("pneumoniamnist_text.npz", lambda: b"not an npz", "not a readable .npz"),
    ("pneumoniamnist_empty.npz", lambda: b"", "is empty"),
    ("pneumoniamnist_cut_in_half.npz", lambda: npz(test_images=IMAGES, test_labels=LABELS)[:400],
     "not a readable .npz"),
    ("pneumoniamnist_zip_of_text.npz", lambda: zipped({"readme.txt": b"hello"}), "has no 'test_images'"),
    ("pneumoniamnist_train_only.npz", lambda: npz(train_images=IMAGES, train_labels=LABELS),
     "has no 'test_images' and 'test_labels' arrays (it has train_images, train_labels)"),
    ("pneumoniamnist_float_images.npz", lambda: npz(test_images=IMAGES.astype(np.float32), test_labels=LABELS),
     "test_images must be uint8"),
    ("pneumoniamnist_four_channels.npz", lambda: npz(test_images=np.zeros((3, 28, 28, 4), np.uint8),
                                                     test_labels=LABELS), "N x H x W or N x H x W x 3"),
    ("pneumoniamnist_labels_short.npz", lambda: npz(test_images=IMAGES, test_labels=LABELS[:2]),
     "one row per image"),
    ("pneumoniamnist_float_labels.npz", lambda: npz(test_images=IMAGES, test_labels=LABELS.astype(np.float32)),
     "test_labels must be integers"),
    ("pneumoniamnist_label_5.npz", lambda: npz(test_images=IMAGES, test_labels=LABELS + 5), "run from 5 to 5"),
    ("pneumoniamnist_pickled_labels.npz", lambda: npz(test_images=IMAGES, test_labels=np.array([[{}]] * 3)),
     "not a readable .npz"),
    ("pneumoniamnist_no_images.npz", lambda: npz(test_images=IMAGES[:0], test_labels=LABELS[:0]),
     "has no images in its 'test' split"),
    ("organamnist_64.npz", lambda: npz(test_images=IMAGES, test_labels=LABELS), "must start with the data set"),
    ("pathmnist_64.npz", lambda: npz(test_images=IMAGES, test_labels=LABELS), "is for task 'histopathology'"),
]


# Report manifests --------------------------------------------------------------------------------------------

@functools.cache
def report_files() -> dict[str, bytes]:
    """The files of a real report ZIP of the lung sample (Grad-CAM), made once by the CLI."""
    import xai_models

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.zip"
        args = ["--task", "lung_xray", "--input", str(LUNG_SAMPLE), "--methods", "gradcam", "--zip", str(path)]
        with open("/dev/null", "w") as quiet:
            stdout, sys.stdout = sys.stdout, quiet
            try:
                assert xai_models.main(args) == 0
            finally:
                sys.stdout = stdout
        with zipfile.ZipFile(path) as archive:
            return {name: archive.read(name) for name in archive.namelist()}


def manifest(**edits: Callable[[dict], None]) -> Callable[[], bytes]:
    """The report's manifest.json with one edit made to it."""
    def make() -> bytes:
        record = json.loads(report_files()["manifest.json"])
        for edit in edits.values():
            edit(record)
        return json.dumps(record).encode()
    return make


def report(change: Callable[[dict[str, bytes]], dict[str, bytes]]) -> Callable[[], bytes]:
    return lambda: zipped(change(dict(report_files())))


def _set(path: str, value) -> Callable[[dict], None]:
    """An edit of a manifest: `maps.0.seed` = value, or deleted when value is ...."""
    *parents, last = [int(k) if k.isdigit() else k for k in path.split(".")]

    def edit(record: dict) -> None:
        for key in parents:
            record = record[key]
        if value is ...:
            del record[last]
        else:
            record[last] = value
    return edit


NOT_A_REPORT = "is not a report or manifest of this workbench"
MANIFESTS = [  # (name, bytes, message)
    ("manifest_not_json.json", lambda: b"{oops", NOT_A_REPORT),
    ("manifest_empty_object.json", lambda: b"{}", "is not a manifest of format 1"),
    ("manifest_a_list.json", lambda: b"[1, 2]", "is not a manifest of format 1"),
    ("manifest_format_2.json", manifest(e=_set("format", 2)), "is not a manifest of format 1"),
    ("manifest_without_input.json", manifest(e=_set("input", ...)), "the manifest's input is missing"),
    ("manifest_seed_as_text.json", manifest(e=_set("maps.0.seed", "0")), "maps[].seed is missing or of the wrong"),
    ("manifest_without_map_summary.json", manifest(e=_set("maps.0.map", ...)), "maps[].map is missing"),
    ("manifest_map_of_unlisted_model.json", manifest(e=_set("maps.0.model", "someone-else")),
     "a map is of model 'someone-else', which the manifest's models do not list"),
    ("manifest_unknown_method.json", manifest(e=_set("maps.0.method", "no_such_method")),
     "unknown method 'no_such_method'"),
    ("manifest_unknown_task.json", manifest(e=_set("task", "no_such_task")), "unknown task 'no_such_task'"),
    ("manifest_unknown_model.json", manifest(a=_set("models.0.id", "no-such-model"),
                                             b=_set("maps.0.model", "no-such-model")), "no-such-model"),
    ("manifest_of_another_input.json", manifest(e=_set("input.sha256", "0" * 64)),
     "not the input the manifest records"),
    ("manifest_of_other_weights.json", manifest(a=_set("models.0.revision", "0123456789ab")),
     "the manifest records 0123456789ab"),
    ("manifest_no_such_layer.json", manifest(e=_set("maps.0.params", {"layer": "no_such_layer"})),
     "no_such_layer"),
    ("report_cut_in_half.zip", lambda: (lambda z: z[: len(z) // 2])(report(dict)()), NOT_A_REPORT),
    ("report_without_manifest.zip", report(lambda f: {k: v for k, v in f.items() if k != "manifest.json"}),
     NOT_A_REPORT),
    ("report_map_not_npy.zip", report(lambda f: {**f, **{k: b"not a map" for k in f if k.endswith(".npy")}}),
     NOT_A_REPORT),
]


# Model repos -------------------------------------------------------------------------------------------------

def _edit_json(path: Path, **changes) -> None:
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def _cut(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:200])


@functools.cache
def good_repo(kind: str) -> Path:
    """A tiny real repo of each library (tests/hub_repos.py), made once per process."""
    from . import hub_repos

    make = {"resnet": hub_repos.transformers_resnet, "timm": hub_repos.timm_model, "keras": hub_repos.keras_model}
    return make[kind](Path(tempfile.mkdtemp(prefix=f"good-{kind}-")) / kind)


def damaged(kind: str, damage: Callable[[Path], object] | None, name: str) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        shutil.copytree(good_repo(kind), folder / name)
        if damage is not None:
            damage(folder / name)
        return folder / name
    return write


def _pickle_only(folder: Path) -> None:
    import torch
    from safetensors.torch import load_file

    torch.save(load_file(str(folder / "model.safetensors")), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()


def _emptied(folder: Path) -> None:
    for file in folder.iterdir():
        file.unlink()


REPOS = [  # (name, good repo it starts from, the damage, message)
    ("config_not_json", "resnet", lambda f: (f / "config.json").write_text("{oops"), "not valid JSON"),
    ("config_a_list", "resnet", lambda f: (f / "config.json").write_text("[1]"), "a JSON object"),
    ("config_of_no_known_kind", "resnet", lambda f: (f / "config.json").write_text('{"a": 1}'),
     "not a model the workbench can read"),
    ("unknown_transformers_model_type", "resnet", lambda f: _edit_json(f / "config.json", model_type="no-such-net"),
     "not a transformers image classifier"),
    ("transformers_weights_cut", "resnet", lambda f: _cut(f / "model.safetensors"),
     "not a transformers image classifier"),
    ("no_image_processor", "resnet", lambda f: (f / "preprocessor_config.json").unlink(), "has no image processor"),
    ("image_processor_not_json", "resnet", lambda f: (f / "preprocessor_config.json").write_text("{"),
     "has no image processor"),
    ("no_weights", "resnet", lambda f: (f / "model.safetensors").unlink(), "no model weights"),
    ("needs_its_own_code", "resnet", lambda f: _edit_json(f / "config.json", auto_map={"AutoModel": "net.Net"}),
     "never runs a repo's code"),
    ("pickled_weights_only", "resnet", _pickle_only, "only pickled weights (pytorch_model.bin)"),
    ("unknown_timm_architecture", "timm", lambda f: _edit_json(f / "config.json", architecture="no_such_net"),
     "could not be built"),
    ("timm_weights_cut", "timm", lambda f: _cut(f / "model.safetensors"), "could not be built"),
    ("keras_file_cut", "keras", lambda f: _cut(f / "classifier.keras"), "could not be loaded safely"),
    ("legacy_keras_h5_only", "keras", lambda f: (f / "classifier.keras").rename(f / "model.h5"),
     "only pickled weights (model.h5)"),
    ("empty_folder", "resnet", _emptied, "has no model weights the workbench can read"),
]


# Requests: a choice or a shared folder, not a file ----------------------------------------------------------------

def _speech_folder(content: bytes | None) -> Callable[[Path], Path]:
    """A bona fide speech folder: absent (None), or every clip the evaluation reads holding `content`."""
    def write(folder: Path) -> Path:
        from workbench.data.speech import CLIPS, LANGUAGES

        speech = folder / "speech_bonafide"
        if content is not None:
            speech.mkdir()
            for lang in LANGUAGES:
                for k in sorted({k for ks in CLIPS.values() for k in ks}):
                    (speech / f"{lang}_{k}.wav").write_bytes(content)
        return speech
    return write


def _folder(name: str) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        (folder / name).mkdir()
        return folder / name
    return write


EXPLAIN = ("--task", "lung_xray", "--input", str(LUNG_SAMPLE), "--out", "{file}")
EVALUATE = ("evaluate", "--task", "lung_xray", "--model", "lung_xray-resnet-compact", "--methods", "gradcam",
            "--n", "1")
AUDIO_EVALUATE = ("evaluate", "--task", "audio_deepfake", "--model", "audio_deepfake-resnet-compact", "--methods",
                  "step_scores", "--n", "1", "--csv", "{file}.csv")
SEED = "the seed must be a whole number from 0 to 4,294,967,295, not -1"
REQUESTS = [  # (name, make, command line, message, in the app, speech folder)
    ("explain_seed_negative", nothing("maps"), (*EXPLAIN, "--methods", "lime", "--seed", "-1"), SEED, "field", False),
    ("evaluate_seed_negative", nothing("table"), (*EVALUATE, "--seed", "-1", "--csv", "{file}.csv"), SEED, "field",
     False),
    ("csv_is_a_folder", _folder("tables"), (*EVALUATE, "--csv", "{file}"), "it is a folder; give a file name",
     "CLI only", False),
    ("device_unknown", nothing("maps"), (*EXPLAIN, "--methods", "gradcam", "--device", "tpu"),
     "unknown device 'tpu'", "CLI only", False),
    ("speech_folder_missing", _speech_folder(None), AUDIO_EVALUATE, "bona fide speech not found in", "message", True),
    ("speech_clip_damaged", _speech_folder(NOISE), AUDIO_EVALUATE, "cannot be read: missing or damaged", "message",
     True),
]


# The corpus --------------------------------------------------------------------------------------------------

def corpus() -> list[Bad]:
    out = [Bad("dicom" if c.name.endswith(".dcm") else "image", c.name, c.error,
               data(functools.partial(lambda d: d, c.data), c.name)) for c in error_cases()]
    out += [Bad("audio", name, message, data(make, name)) for name, (make, message) in BAD_AUDIO.items()]
    out += [Bad("truth", name, message, nothing(name) if make is None else data(make, name), against,
                "CLI only" if make is None else "uploader" if name.endswith(".json") != (against == "audio")
                else "message") for name, make, message, against in TRUTH]
    out += [Bad("npz", name, message, data(make, name)) for name, make, message in NPZ]
    out += [Bad("manifest", name, message, data(make, name), app="CLI only") for name, make, message in MANIFESTS]
    out += [Bad("repo", name, message, damaged(kind, damage, name)) for name, kind, damage, message in REPOS]
    out += [Bad("request", name, message, make, app=app, argv=argv, speech=speech)
            for name, make, argv, message, app, speech in REQUESTS]
    return sorted(out, key=lambda b: list(PATHS).index(b.path))


APP_OUTCOMES = {"message": "the same message", "uploader": "not taken by the upload field (another type)",
                "field": "not offered by the app's field (its range)",
                "CLI only": "CLI only"}


def listing() -> str:
    """The corpus as a markdown page: per input path, each file and what the user is told."""
    bad = corpus()
    lines = ["# Bad input: the corpus and what each file gets", "",
             f"{len(bad)} files, generated by `tests/bad_corpus.py` (`python -m tests.bad_corpus --write DIR` writes "
             "them). Each is refused with one clear line: exit code 2 and the message on stderr in the CLI, the same "
             "message in the app where the app reads that kind of input (or, for a file of another type, the "
             "upload field refuses it), and the app keeps the user's choices (`tests/test_bad_corpus.py`). This "
             "page is made by `python -m tests.bad_corpus`; a test keeps it current.", ""]
    for path, reader in PATHS.items():
        rows = [b for b in bad if b.path == path]
        lines += [f"## {path} ({len(rows)}): {reader}", "", "| file | the message says | in the app |",
                  "| --- | --- | --- |"]
        lines += [f"| `{b.name}`{' (with ' + b.against + ' input)' if b.against else ''} | {b.message} | "
                  f"{APP_OUTCOMES[b.app]} |" for b in rows]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--write"]:
        target = Path(sys.argv[2])
        target.mkdir(parents=True, exist_ok=True)
        for bad in corpus():
            (target / bad.path).mkdir(exist_ok=True)
            bad.make(target / bad.path)
    else:
        print(listing())
