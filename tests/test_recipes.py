"""Every recipe, cheaply (the notebooks are smoke-run once per notebook, in test_notebook.py): its network,
built from its config as training builds it and saved and loaded as training and serving do, gives one
score per label (per pixel for a segmenter) on its input spec and has the layers its card and its
out-of-distribution statistics name; and each PyTorch recipe goes through one tiny run of the real
training code (its data, loss, loop, weights and OOD statistics): one step on four cases, a few seconds."""

from __future__ import annotations

import json

import numpy as np
import pytest

from workbench.models import load_model, predict
from workbench.tasks import TASKS
from workbench.training.recipes import RECIPES, Recipe
from workbench.training.runner import trainer

TINY = 4  # training, validation and OOD-fit cases of the tiny run: one batch, one epoch, one optimiser step


def untrained_hub_folder(recipe: Recipe, out) -> str:
    """The recipe's network with its initial weights, built and written by the training code's own calls."""
    summary = {"n_train": 0, "epochs": 0, "seed": 0}
    if recipe.framework == "keras":
        from workbench.training.classifier import write_hub_files
        from workbench.training.keras_nets import KERAS_ARCHITECTURES

        spec = recipe.spec
        model = KERAS_ARCHITECTURES[recipe.architecture](input_shape=(spec.height, spec.width, spec.channels),
                                                         num_classes=len(recipe.labels), **recipe.arch)
        write_hub_files(out, recipe, summary, "test")
        model.save(out / "model.keras")
    else:
        import torch

        from workbench.models import nets
        from workbench.training.classifier import save_hub_folder

        torch.manual_seed(0)
        save_hub_folder(nets.build(recipe.architecture, **recipe.arch).eval(), out, recipe, summary)
    return str(out)


def generated_like(recipe: Recipe, n: int = 2) -> np.ndarray:
    """n random images in [0, 1] of the recipe's size and colour, as model inputs (normalised as training does)."""
    spec = recipe.spec
    shape = (n, spec.height, spec.width) + ((spec.channels,) if spec.channels > 1 else ())
    return recipe.model_input(np.random.default_rng(0).random(shape, dtype=np.float32))


@pytest.mark.parametrize("recipe_id", RECIPES.ids())
def test_recipe_network_scores_each_label_on_its_input_and_has_the_layers_it_names(recipe_id, tmp_path):
    recipe = RECIPES[recipe_id]
    assert recipe.labels == TASKS[recipe.task].labels
    model = load_model(untrained_hub_folder(recipe, tmp_path / recipe_id))
    assert (model.info.task, model.info.labels, model.info.target_layer) == (recipe.task, recipe.labels,
                                                                            recipe.target_layer)
    x = generated_like(recipe)
    spec = recipe.spec
    assert x.shape == (2, spec.channels, spec.height, spec.width)

    layers = tuple(dict.fromkeys((recipe.target_layer, *recipe.feature_layers)))  # the target is often one too
    out, maps = model.outputs_and_activations(x, layers)
    grid = (spec.height, spec.width) if recipe.output_kind == "segmentation" else ()
    assert out.shape == (2, len(recipe.labels), *grid) and np.isfinite(out).all()
    for layer, a in zip(layers, maps):
        assert a.ndim == 4 and a.shape[0] == 2, f"{layer}: a feature map per input, got {a.shape}"
    assert min(maps[0].shape[2:]) >= 4, "the Grad-CAM layer keeps a spatial map"
    features = model.features(x, recipe.feature_layers)  # what the OOD statistics are fitted on
    assert features.shape[0] == 2 and np.isfinite(features).all()
    assert model.layers()[0] == recipe.target_layer
    if recipe.step_scores:  # the head that scores each time step itself, as config.json says
        steps = model.outputs_and_activations(x, (recipe.step_scores["layer"],))[1][0]
        assert steps.shape[0] == 2 and steps.shape[1] > 1 and steps.shape[2:] == (1,)


# A Keras recipe's tiny run costs 10-14 s (its windows need espeak-ng and Griffin-Lim, the fit a graph
# trace); the audio notebook's smoke run trains one, and the test above builds each Keras network.
@pytest.mark.parametrize("recipe_id", [r.id for r in RECIPES.values() if r.framework == "pytorch"])
def test_one_tiny_run_of_the_training_code_writes_a_folder_that_serving_loads(recipe_id, tmp_path):
    recipe = RECIPES[recipe_id]
    train_fn = trainer(recipe)[0]
    out = tmp_path / recipe_id
    summary = train_fn(recipe, out, n_train=TINY, n_val=TINY, epochs=1, n_ood=TINY, log=lambda _: None)

    assert {p.name for p in out.iterdir()} >= {"config.json", "model.safetensors", "training.json", "ood.safetensors"}
    assert json.loads((out / "training.json").read_text()) == summary
    assert (summary["n_train"], summary["n_val"], summary["epochs"]) == (TINY, TINY, 1)
    model = load_model(str(out))
    stats = model.feature_stats
    assert stats.layers == recipe.feature_layers
    flips = recipe.augment in ("lr_flip", "dihedral")  # "acquisition" rotates and zooms, never mirrors
    assert stats.n_fit == (2 * TINY if flips else TINY), "left-right flips iff training flips"
    images = recipe.make_dataset(1, seed=0, split="test")[0]
    pred = predict(model, recipe.model_input(images, model.info.input))
    assert pred.label in recipe.labels and pred.in_distribution is not None and np.isfinite(pred.ood_score)
