"""CI smoke-runs every training notebook with tiny settings; each must write a loadable model folder
with its card and its out-of-distribution statistics, all from the training code."""

from __future__ import annotations

import json

import nbformat
import pytest
from nbclient import NotebookClient

from workbench.models import load_model, predict
from workbench.models.hub import WEIGHT_FILES
from workbench.tasks import TASKS
from workbench.training.recipes import RECIPES

from .conftest import ROOT, model_input


@pytest.mark.parametrize("recipe_id", RECIPES.ids())
def test_training_notebook_runs_and_writes_a_hub_folder(recipe_id, tmp_path, monkeypatch):
    recipe = RECIPES[recipe_id]
    out = tmp_path / "smoke"
    monkeypatch.setenv("WORKBENCH_SMOKE", "1")
    monkeypatch.setenv("WORKBENCH_OUT", str(out))
    monkeypatch.setenv("WORKBENCH_RECIPE", recipe_id)
    notebook = ROOT / recipe.notebook
    nb = nbformat.read(notebook, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(notebook.parent)}}).execute()

    files = {p.name for p in out.iterdir()}
    assert files >= {"config.json", "ood.safetensors", "README.md", "training.json"}
    assert files & set(WEIGHT_FILES), "weights: model.safetensors (PyTorch) or model.keras (Keras)"
    n_train = json.loads((out / "training.json").read_text())["n_train"]
    assert n_train < recipe.n_train, "the smoke run used tiny settings"
    card = (out / "README.md").read_text()
    assert "Held-out evaluation" in card and "Out-of-distribution check" in card and "| class |" in card
    model = load_model(str(out))
    assert model.info.task == recipe.task and model.feature_stats is not None
    task = TASKS[recipe.task]
    pred = predict(model, model_input(task, model, task.samples()[0].path.read_bytes()))
    assert pred.label in task.labels and pred.in_distribution is not None
