"""Bad files get a clear message (UI) or one stderr line and exit code 2 (CLI); odd but valid
PNG flavours are converted to exactly the input the model would get from the plain file."""

from __future__ import annotations

import importlib
import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from workbench.errors import InputError
from workbench.io.image import decode_image

from .conftest import BUNDLED, ROOT, model_input


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def sample_bytes(samples_dir) -> bytes:
    return (samples_dir / "affected_01.png").read_bytes()


def huge_png() -> bytes:
    """A valid 8000 x 7000 (56 MP) PNG that compresses to a few kB."""
    return _png(Image.new("L", (8000, 7000)))


BAD_FILES = {
    "not_an_image": (b"this is a text file, not an image\n" * 20, "not a readable image"),
    "empty": (b"", "is empty"),
    "truncated": (None, "truncated"),
    "too_large": (None, "the limit is 50,000,000 pixels"),
}


def bad_file(kind: str, sample_bytes: bytes) -> bytes:
    if kind == "truncated":
        return sample_bytes[: len(sample_bytes) // 2]
    if kind == "too_large":
        return huge_png()
    return BAD_FILES[kind][0]


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_decoder_rejects_bad_files_with_a_message(kind, sample_bytes):
    with pytest.raises(InputError, match=BAD_FILES[kind][1]):
        decode_image(bad_file(kind, sample_bytes), "upload.png")


def _cli_args(cli: str, path, tmp_path) -> list[str]:
    args = ["--task", "lung_xray", "--model", BUNDLED, "--input", str(path), "--json"]
    return args + (["--methods", "gradcam", "--out", str(tmp_path / "out")] if cli == "xai_models" else [])


@pytest.mark.parametrize("kind", list(BAD_FILES))
@pytest.mark.parametrize("cli", ["inference", "xai_models"])
def test_cli_returns_2_with_one_line(kind, cli, sample_bytes, tmp_path, capsys):
    path = tmp_path / "input.png"
    path.write_bytes(bad_file(kind, sample_bytes))
    main = importlib.import_module(cli).main
    assert main(_cli_args(cli, path, tmp_path)) == 2
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and BAD_FILES[kind][1] in lines[0]
    assert captured.out == ""
    assert not (tmp_path / "out").exists(), "nothing written for bad input"


@pytest.mark.parametrize("cli", ["inference", "xai_models"])
def test_cli_process_exits_2_without_traceback(cli, sample_bytes, tmp_path):
    path = tmp_path / "input.png"
    path.write_bytes(bad_file("truncated", sample_bytes))
    proc = subprocess.run([sys.executable, str(ROOT / f"{cli}.py"), *_cli_args(cli, path, tmp_path)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
    assert "truncated" in proc.stderr and proc.stdout == ""


def test_cli_reports_missing_file_unknown_model_method_and_bad_parameters(tmp_path, samples_dir, capsys):
    sample = str(samples_dir / "normal_01.png")
    cases = [
        (["inference.py", "--task", "lung_xray", "--model", BUNDLED, "--input", str(tmp_path / "nope.png")],
         "cannot read"),
        (["inference.py", "--task", "lung_xray", "--model", "nope", "--input", sample], "unknown model"),
        (["inference.py", "--task", "nope", "--model", BUNDLED, "--input", sample], "unknown task"),
        (["xai_models.py", "--task", "lung_xray", "--model", BUNDLED, "--input", sample,
          "--methods", "gradcam,magic", "--out", str(tmp_path)], "unknown method"),
        (["xai_models.py", "--task", "lung_xray", "--model", BUNDLED, "--input", sample, "--methods", "occlusion",
          "--param", "occlusion.window_width=0", "--out", str(tmp_path)], "window_width must be between"),
        (["xai_models.py", "--task", "lung_xray", "--model", BUNDLED, "--input", sample, "--methods", "occlusion",
          "--param", "window=8", "--out", str(tmp_path)], "--param takes METHOD.NAME=VALUE"),
        (["xai_models.py", "--task", "lung_xray", "--model", BUNDLED, "--input", sample, "--methods", "gradcam",
          "--param", "gradcam.layer=fc9", "--out", str(tmp_path)], "layer must be one of"),
    ]
    for args, message in cases:
        main = importlib.import_module(args[0].removesuffix(".py")).main
        assert main(args[1:]) == 2, args
        assert message in capsys.readouterr().err


def test_sixteen_bit_png_keeps_its_full_range(lung_task, bundled, sample_bytes):
    gray8 = np.asarray(Image.open(io.BytesIO(sample_bytes)))
    gray16 = Image.fromarray(gray8.astype(np.uint16) * 257)  # 0..255 -> 0..65535
    assert gray16.mode.startswith("I")
    np.testing.assert_allclose(model_input(lung_task, bundled, _png(gray16)),
                               model_input(lung_task, bundled, sample_bytes), atol=1e-5)


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "RGB"])
def test_colour_alpha_and_palette_pngs_match_the_grayscale_file(mode, lung_task, bundled, sample_bytes):
    img = Image.open(io.BytesIO(sample_bytes)).convert(mode)
    tolerance = 0.02 if mode == "P" else 1e-5  # palette quantisation (256 colours) is lossy
    got = model_input(lung_task, bundled, _png(img))
    want = model_input(lung_task, bundled, sample_bytes)
    assert np.abs(got - want).mean() < tolerance / 0.25


def test_transparent_pixels_are_composited_onto_black():
    rgba = np.zeros((128, 128, 4), np.uint8)
    rgba[..., :3] = 255
    rgba[:64, :, 3] = 255  # top half opaque white, bottom half fully transparent white
    raw = decode_image(_png(Image.fromarray(rgba, "RGBA")))
    gray = raw @ np.array([0.299, 0.587, 0.114])
    assert gray[:64].min() > 0.99 and gray[64:].max() < 0.01


def test_jpeg_and_other_sizes_are_resized_to_the_model_input(lung_task, bundled, sample_bytes):
    img = Image.open(io.BytesIO(sample_bytes)).resize((300, 260))
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=95)
    x = model_input(lung_task, bundled, buf.getvalue())
    assert x.shape == (1, 1, 128, 128) and x.dtype == np.float32
