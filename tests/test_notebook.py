"""CI smoke-runs the training notebook with tiny settings; it must write a loadable model folder."""

from __future__ import annotations

import json

import nbformat
from nbclient import NotebookClient

from inference import TASKS, load_model, predict_input

from .conftest import ROOT


def test_training_notebook_runs_and_writes_a_hub_folder(tmp_path, monkeypatch):
    out = tmp_path / "lung-smoke"
    monkeypatch.setenv("WORKBENCH_SMOKE", "1")
    monkeypatch.setenv("WORKBENCH_OUT", str(out))
    nb_dir = ROOT / "training_notebooks"
    nb = nbformat.read(nb_dir / "train_lung_xray.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(nb_dir)}}).execute()

    assert {p.name for p in out.iterdir()} >= {"config.json", "model.safetensors", "README.md", "training.json"}
    assert json.loads((out / "training.json").read_text())["n_train"] == 64
    assert "Held-out evaluation" in (out / "README.md").read_text()
    model = load_model(str(out))
    task = TASKS["lung_xray"]
    x = task.preprocess(task.decode(task.samples()[0].path.read_bytes()), model.info.input)
    assert predict_input(model, x).label in task.labels
