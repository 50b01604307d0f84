"""CI smoke-runs the training notebook with tiny settings; it must write a loadable model folder
with its card and its out-of-distribution statistics, all from the training code."""

from __future__ import annotations

import json

import nbformat
from nbclient import NotebookClient

from workbench.models import load_model, predict
from workbench.tasks import TASKS

from .conftest import ROOT, model_input


def test_training_notebook_runs_and_writes_a_hub_folder(tmp_path, monkeypatch):
    out = tmp_path / "lung-smoke"
    monkeypatch.setenv("WORKBENCH_SMOKE", "1")
    monkeypatch.setenv("WORKBENCH_OUT", str(out))
    nb_dir = ROOT / "training_notebooks"
    nb = nbformat.read(nb_dir / "train_lung_xray.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(nb_dir)}}).execute()

    files = {p.name for p in out.iterdir()}
    assert files >= {"config.json", "model.safetensors", "ood.safetensors", "README.md", "training.json"}
    assert json.loads((out / "training.json").read_text())["n_train"] == 64
    card = (out / "README.md").read_text()
    assert "Held-out evaluation" in card and "Out-of-distribution check" in card
    model = load_model(str(out))
    assert model.feature_stats.n_fit == 2 * 64  # the smoke run's phantoms and their flips
    task = TASKS["lung_xray"]
    pred = predict(model, model_input(task, model, task.samples()[0].path.read_bytes()))
    assert pred.label in task.labels and pred.in_distribution is not None
