"""One decoding path for every image file a user may bring: a corpus of real-world formats decodes
to what each file holds, and a corpus of tricky files gets its message, in the library, in both CLIs
and in a real process (no traceback), never a crash or a silent wrong answer."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

import inference
import xai_models
from workbench.errors import InputError
from workbench.io.image import IMAGE_FILE_TYPES, decode_image

from .conftest import BUNDLED, ROOT, model_input
from .corpus import error_cases, ok_cases

OK = {c.name: c for c in ok_cases()}
BAD = {c.name: c for c in error_cases()}


def test_the_corpus_is_large_and_varied():
    assert len(OK) + len(BAD) >= 60
    assert {n.rsplit(".", 1)[-1] for n in OK if "." in n} >= set(IMAGE_FILE_TYPES) - {"dicom"}


@pytest.mark.parametrize("name", list(OK))
def test_real_world_file_decodes_to_what_it_holds(name):
    case = OK[name]
    got = decode_image(case.data, name)
    assert got.dtype == np.float32 and got.shape == case.expected.shape
    diff = np.abs(got - case.expected)
    assert (diff.mean() if case.lossy else diff.max()) <= case.atol


@pytest.mark.parametrize("name", list(BAD))
def test_tricky_file_gets_its_message(name):
    with pytest.raises(InputError, match=None) as err:
        decode_image(BAD[name].data, name)
    assert BAD[name].error in str(err.value) and name in str(err.value)


def test_prediction_cli_handles_every_file_of_the_corpus(tmp_path, capsys):
    """Good files: exit 0, valid JSON, finite probabilities. Bad ones: exit 2 and one line."""
    for name, case in {**OK, **BAD}.items():
        path = tmp_path / f"in {name}"  # a space in every path
        path.write_bytes(case.data)
        code = inference.main(["--task", "lung_xray", "--model", BUNDLED, "--input", str(path), "--json"])
        out, err = capsys.readouterr()
        if case.error is None:
            result = json.loads(out)
            assert code == 0 and all(math.isfinite(p) for p in result["probabilities"].values()), name
            assert isinstance(result["in_distribution"], bool)
        else:
            lines = err.strip().splitlines()
            assert code == 2 and out == "" and len(lines) == 1 and case.error in lines[0], (name, err)


# In a real process, two decoders' failures (every file of the corpus goes through the CLI in-process in
# test_bad_corpus.py): a library warning or a C decoder's message must not reach stderr beside our one line.
@pytest.mark.parametrize("name", ["jpeg_header_then_noise.jpg", "png_text_bomb.png"])
def test_explain_cli_process_reports_decoder_failures_as_input_errors(name, tmp_path):
    path = tmp_path / name
    path.write_bytes(BAD[name].data)
    proc = subprocess.run([sys.executable, str(ROOT / "xai_models.py"), "--task", "lung_xray", "--model", BUNDLED,
                           "--input", str(path), "--methods", "gradcam", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
    assert BAD[name].error in proc.stderr and "cannot write" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_odd_paths(tmp_path, capsys):
    unicode_dir = tmp_path / "données ünï 📁"
    unicode_dir.mkdir()
    (unicode_dir / "x ray.PNG").write_bytes(OK["gray8.png"].data)
    assert inference.main(["--task", "lung_xray", "--model", BUNDLED, "--input", str(unicode_dir / "x ray.PNG")]) == 0
    capsys.readouterr()
    for path, message in ((unicode_dir, "Is a directory"), (tmp_path / "absent.png", "No such file")):
        assert inference.main(["--task", "lung_xray", "--model", BUNDLED, "--input", str(path)]) == 2
        assert message in capsys.readouterr().err
    assert xai_models.main(["--task", "lung_xray", "--model", BUNDLED, "--input", str(unicode_dir / "x ray.PNG"),
                            "--methods", "gradcam", "--out", str(unicode_dir / "x ray.PNG" / "maps")]) == 2
    assert "cannot write to" in capsys.readouterr().err


def test_a_large_colour_film_and_a_dicom_become_the_lung_models_input(lung_task, bundled):
    for name in ("large_film.jpg", "ct_window.dcm", "rgb.dcm", "multipage.tif"):
        x = model_input(lung_task, bundled, OK[name].data)
        assert x.shape == (1, 1, 128, 128) and x.dtype == np.float32 and np.isfinite(x).all()
