"""One device setting (workbench.device): where PyTorch models run, checked against the machine; a model and its
batches on the chosen device; records that say where a map was made; reproduce within a tolerance across devices.
The CPU and CUDA maps are compared where a CUDA GPU exists (skipped here with the reason)."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
import torch

import xai_models
from workbench.device import CHUNK_BYTES, chunk_bytes, resolve_device
from workbench.errors import InputError
from workbench.methods import METHODS
from workbench.methods.common import chunk_size
from workbench.models import load_model, predict
from workbench.service import target_for

from .conftest import BUNDLED, ROOT, tiny_adapter
from .test_app import new_app

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
SAMPLE = ROOT / "sample_files" / "lung_xray" / "affected_01.png"


def test_the_setting_is_checked_against_the_machine():
    assert resolve_device("auto") == ("cuda:0" if torch.cuda.is_available() else "cpu")
    assert resolve_device(" CPU ") == "cpu"
    with pytest.raises(InputError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="torch sees no CUDA GPU"):
            resolve_device("cuda:1")


def test_a_model_and_its_batches_end_on_the_chosen_device():
    """torch's `meta` device stands in for a GPU: every weight moves, every batch is made there, and the batch
    budget follows the device (a GPU takes larger batches than the CPU's 64 MB)."""
    model = tiny_adapter().on("meta")
    assert {p.device.type for p in model.module.parameters()} == {"meta"}
    batch = np.zeros((70, 1, 32, 32), np.float32)
    assert [x.device.type for x in model._chunks(batch)] == ["meta"] * 3
    x = batch[:1]
    assert chunk_size(model, x) == CHUNK_BYTES["cpu"] // x.nbytes  # meta counts as not-CUDA
    assert chunk_bytes("cuda:0") > chunk_bytes("cpu")


def test_the_cpu_gives_the_default_maps_bit_for_bit_and_the_record_says_where(tmp_path, capsys):
    """`--device cpu` from the command line: the maps the library makes on its default, bit for bit, and each
    record names the device; the report's manifest too."""
    out = tmp_path / "maps"
    assert xai_models.main(["--task", "lung_xray", "--model", BUNDLED, "--input", str(SAMPLE), "--methods",
                            "gradcam,smoothgrad", "--device", "cpu", "--out", str(out), "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    model = load_model(BUNDLED)
    from workbench.service import prepare_input
    from workbench.tasks import TASKS

    task = TASKS["lung_xray"]
    _, x, _ = prepare_input(task, model, task.read(SAMPLE.read_bytes(), SAMPLE.name)[0])
    target = target_for(model, predict(model, x))
    for method in ("gradcam", "smoothgrad"):
        want = METHODS[method].explain(model, x, target, None, 0).map
        np.testing.assert_array_equal(np.load(next(out.glob(f"*{method}*.npy"))), want)
    assert [r["device"] for r in records] == ["cpu", "cpu"]


def test_a_report_made_on_another_device_is_reproduced_within_the_tolerance(tmp_path, capsys):
    """The manifest says the maps were made on a GPU; made again on this CPU, each is held to the tolerance of
    its largest value instead of 0, and the result says so."""
    report = tmp_path / "report.zip"
    assert xai_models.main(["--task", "lung_xray", "--model", BUNDLED, "--input", str(SAMPLE), "--methods",
                            "gradcam", "--zip", str(report)]) == 0
    capsys.readouterr()
    with zipfile.ZipFile(report) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(files["manifest.json"])
    assert [m["device"] for m in manifest["models"]] == ["cpu"]
    for m in manifest["models"]:
        m["device"] = "cuda:0"
    files["manifest.json"] = json.dumps(manifest).encode()
    moved = tmp_path / "moved.zip"
    with zipfile.ZipFile(moved, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    assert xai_models.main(["reproduce", str(moved), "--input", str(SAMPLE), "--device", "cpu", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["devices"] == {"recorded": "cuda:0", "now": "cpu"} and result["tolerance"] == 1e-4
    assert all(m["within_tolerance"] for m in result["maps"])
    assert xai_models.main(["reproduce", str(report), "--input", str(SAMPLE), "--json"]) == 0
    same = json.loads(capsys.readouterr().out)
    assert same["max_difference"] == 0.0 and "tolerance" not in same, "same device: bit for bit"


def test_an_unknown_or_absent_device_is_one_line_and_exit_2(capsys):
    code = xai_models.main(["--task", "lung_xray", "--input", str(SAMPLE), "--methods", "gradcam",
                            "--device", "tpu", "--out", "unused"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "unknown device 'tpu'" in err[0]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_a_server_set_to_cuda_without_one_says_so_in_the_sidebar(server_env):
    server_env(WORKBENCH_DEVICE="cuda")
    at = new_app()
    assert any("torch sees no CUDA GPU" in e.value for e in at.error), [e.value for e in at.error]
    shown = " ".join(c.value for c in at.sidebar.caption)
    assert "`WORKBENCH_DEVICE` = `cuda`" in shown


@needs_cuda
@pytest.mark.parametrize("method_id", [m for m in METHODS.ids() if m != "step_scores"])
def test_cuda_maps_equal_the_cpu_maps_within_the_tolerance(method_id):
    cpu, gpu = load_model(BUNDLED, device="cpu"), load_model(BUNDLED, device=resolve_device("cuda"))
    x = np.random.default_rng(0).random((1, 1, 128, 128), dtype=np.float32)
    target = target_for(cpu, predict(cpu, x))
    from workbench.tasks import TASKS

    reason = METHODS[method_id].incompatibility(TASKS[cpu.info.task], cpu)
    if reason is not None:
        pytest.skip(reason)
    a = METHODS[method_id].explain(cpu, x, target, None, 0)
    b = METHODS[method_id].explain(gpu, x, target, None, 0)
    assert b.device.startswith("cuda")
    np.testing.assert_allclose(b.map, a.map, rtol=0, atol=1e-4 * float(np.abs(a.map).max()))


def test_the_json_record_of_an_explanation_is_serialisable_with_its_device():
    model = tiny_adapter()
    x = np.random.default_rng(0).normal(0, 1, (1, 1, 32, 32)).astype(np.float32)
    e = METHODS["saliency"].explain(model, x, target_for(model, predict(model, x)))
    assert json.loads(json.dumps(e.summary()))["device"] == "cpu"  # the record travels as JSON
