"""The command lines work as the README writes them."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from PIL import Image

from inference import Target
from xai_models import METHODS

from .conftest import BUNDLED, ROOT


def run(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_list_json_names_tasks_models_and_methods():
    listing = json.loads(run("inference.py", "--list", "--json").stdout)
    assert "lung_xray" in [t["id"] for t in listing["tasks"]]
    models = {m["id"]: m for m in listing["models"]}
    assert models[BUNDLED]["task"] == "lung_xray" and models[BUNDLED]["framework"] == "pytorch"
    methods = {m["id"]: m for m in listing["methods"]}
    assert set(methods) == set(METHODS)
    for m in methods.values():
        assert m["tasks"] == ["lung_xray"] and m["frameworks"] == ["pytorch"]


def test_predict_json(samples_dir):
    out = json.loads(run("inference.py", "--task", "lung_xray", "--model", BUNDLED,
                         "--input", str(samples_dir / "affected_01.png"), "--json").stdout)
    assert out["label"] == "affected"
    assert set(out["probabilities"]) == {"normal", "affected"}
    assert abs(sum(out["probabilities"].values()) - 1) < 1e-5


def test_explain_cli_writes_raw_maps_and_overlays(tmp_path, samples_dir, bundled, lung_task):
    sample = samples_dir / "affected_01.png"
    methods = ["gradcam", "integrated_gradients", "occlusion"]
    rows = json.loads(run("xai_models.py", "--task", "lung_xray", "--model", BUNDLED, "--input", str(sample),
                          "--methods", ",".join(methods), "--out", str(tmp_path / "maps"), "--json").stdout)
    assert [r["method"] for r in rows] == methods
    x = lung_task.preprocess(lung_task.decode(sample.read_bytes()))
    for row in rows:
        assert row["seconds"] > 0 and row["passes"] >= 2
        raw = np.load(tmp_path / "maps" / f"{row['method']}.npy")
        assert raw.dtype == np.float32 and raw.shape == (128, 128)
        # The raw map, not a normalised picture: it equals the method's own output.
        direct = METHODS[row["method"]].explain(bundled, x, Target(1)).map
        np.testing.assert_allclose(raw, direct, rtol=1e-4, atol=1e-6)
        png = Image.open(tmp_path / "maps" / f"{row['method']}.png")
        assert png.size == (128, 128) and png.mode == "RGB"


def test_torch_is_loaded_before_tensorflow_in_every_entry_point():
    """TensorFlow imported after our modules must not crash (the other order segfaults)."""
    code = ("import inference, xai_models; import tensorflow as tf; "
            "print(tf.constant([1.0, 2.0]).numpy().sum())")
    proc = run("-c", code)
    assert proc.stdout.strip() == "3.0"
    for entry in ("inference.py", "xai_models.py", "Streamlit/app.py", "conftest.py", "workbench/training.py"):
        text = (ROOT / entry).read_text()
        assert "import torch._dynamo" in text, entry
        assert "tensorflow" not in text.split("import torch._dynamo")[0], entry


def test_benchmark_writes_json_for_every_method(tmp_path):
    out = tmp_path / "bench.json"
    run("benchmarks/bench_methods.py", "--repeats", "1", "--quick", "--out", str(out))
    result = json.loads(out.read_text())
    assert {r["method"] for r in result["methods"]} == set(METHODS)
    assert result["forward_backward_seconds"] > 0
    assert all(r["seconds"] > 0 and r["passes"] > 0 for r in result["methods"])


def test_explain_cli_can_explain_a_chosen_class(tmp_path, samples_dir, bundled, lung_task, capsys):
    import xai_models

    sample = samples_dir / "affected_01.png"
    args = ["--task", "lung_xray", "--model", BUNDLED, "--input", str(sample), "--methods", "gradcam",
            "--out", str(tmp_path), "--target", "normal", "--json"]
    assert xai_models.main(args) == 0
    x = lung_task.preprocess(lung_task.decode(sample.read_bytes()))
    want = METHODS["gradcam"].explain(bundled, x, Target(0)).map
    np.testing.assert_allclose(np.load(tmp_path / "gradcam.npy"), want, rtol=1e-4, atol=1e-6)
    assert xai_models.main([a if a != "normal" else "cat" for a in args]) == 2
    assert "--target must be one of" in capsys.readouterr().err
