"""CI smoke-runs every training notebook with tiny settings, once per notebook: each must write a loadable
model folder with its card and its out-of-distribution statistics, all from the training code.

A notebook runs the same cells for every recipe of its task, so one run per notebook, with the recipe of
that task that trains fastest, is enough here; every recipe's own network and training run are covered
cheaply in test_recipes.py. WORKBENCH_SMOKE_ALL_RECIPES=1 smoke-runs each notebook once per recipe
(eleven runs, ~8 minutes on a 2-core CPU), e.g. before a release."""

from __future__ import annotations

import json
import os

import nbformat
import pytest
from nbclient import NotebookClient

from workbench.models import load_model, predict
from workbench.tasks import TASKS
from workbench.training.recipes import RECIPES

from .conftest import ROOT, model_input

# Each notebook's smoke run, with its task's recipe that trains fastest under the smoke settings (CPU seconds
# measured in one process: lung AlexNet 5.1-5.7, shortcut ResNet 5.2-5.5, ResNet 8.4-9.3; the audio recipes
# 21-22 each, their data dominating, the ResNet the fastest by wall time in every full run). Histopathology
# and foreign-object segmentation have one recipe each.
SMOKED = {
    "training_notebooks/train_lung_xray.ipynb": "lung_xray-alexnet-compact",
    "training_notebooks/train_histopathology.ipynb": "histopathology-resnet18-compact",
    "training_notebooks/train_iqa_segmentation.ipynb": "iqa_segmentation-deeplabv3plus-compact",
    "training_notebooks/train_audio_deepfake.ipynb": "audio_deepfake-resnet-compact",
}
SMOKE_ALL = os.environ.get("WORKBENCH_SMOKE_ALL_RECIPES") == "1"


def test_every_notebook_is_smoke_run_with_a_recipe_it_trains():
    on_disk = {p.relative_to(ROOT).as_posix() for p in (ROOT / "training_notebooks").glob("*.ipynb")}
    assert set(SMOKED) == on_disk == {r.notebook for r in RECIPES.values()}
    for notebook, recipe_id in SMOKED.items():
        assert RECIPES[recipe_id].notebook == notebook


@pytest.mark.parametrize("recipe_id", RECIPES.ids() if SMOKE_ALL else list(SMOKED.values()))
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
    assert files & {"model.safetensors", "model.keras"}, "weights: model.safetensors (PyTorch) or model.keras (Keras)"
    n_train = json.loads((out / "training.json").read_text())["n_train"]
    assert n_train < recipe.n_train, "the smoke run used tiny settings"
    card = (out / "README.md").read_text()
    assert "Held-out evaluation" in card and "Out-of-distribution check" in card
    audio = recipe.task == "audio_deepfake"
    assert ("| spoof engine" in card and "LibriSpeech" in card) if audio else "| class |" in card
    model = load_model(str(out))
    assert model.info.task == recipe.task and model.feature_stats is not None
    task = TASKS[recipe.task]
    pred = predict(model, model_input(task, model, task.samples()[0].path.read_bytes()))
    assert pred.label in task.labels and pred.in_distribution is not None
