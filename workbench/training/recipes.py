"""What each bundled model is trained on and how: one recipe per model, read by training, evaluation,
the model card and the OOD statistics alike. The input spec is defined here once; training
normalises with it and writes it into config.json, which serving reads (no train/serve skew)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from workbench.data import histology, phantoms
from workbench.registry import Registry
from workbench.specs import InputSpec

Dataset = tuple[np.ndarray, np.ndarray, np.ndarray]  # images (N x H x W [x 3] in [0, 1]), masks, labels


@dataclass(frozen=True)
class Recipe:
    id: str  # the model id
    task: str
    labels: tuple[str, ...]
    spec: InputSpec
    arch: dict
    make_dataset: Callable[..., Dataset]  # (n, seed=, split=) -> Dataset, balanced
    augment: str  # "lr_flip" (a mirrored chest is still a chest) or "dihedral" (tissue has no orientation)
    target_layer: str
    feature_layers: tuple[str, ...]
    n_train: int
    n_val: int
    epochs: int
    batch_size: int
    lr: float
    case_word: str  # what one generated input is called in the card
    title: str
    tags: str
    disclaimer: str
    model_text: str
    data_text: str
    limits: str
    notebook: str

    def model_input(self, images: np.ndarray, spec: InputSpec | None = None) -> np.ndarray:
        """Generated images (N x H x W or N x H x W x C, in [0, 1]) as inputs, N x C x H x W, normalised
        with `spec` (a loaded model's config; the recipe's own when training)."""
        chw = images[:, None] if images.ndim == 3 else np.moveaxis(images, -1, 1)
        return (spec or self.spec).normalize(chw)


STAGES = ("stem", "layer1", "layer2", "layer3", "layer4")

RECIPES: Registry[Recipe] = Registry("recipe")

RECIPES.register(Recipe(
    id="lung_xray-resnet-compact", task="lung_xray", labels=phantoms.LABELS,
    spec=InputSpec(128, 128, 1, (0.5,), (0.25,)),
    arch={"in_channels": 1, "num_classes": 2, "widths": [16, 32, 64, 128], "blocks": [1, 1, 1, 1],
          "strides": [1, 2, 2, 1]},
    make_dataset=phantoms.make_dataset, augment="lr_flip", target_layer="layer4", feature_layers=STAGES,
    n_train=8000, n_val=400, epochs=14, batch_size=32, lr=1e-3, case_word="phantoms",
    title="compact ResNet for synthetic chest X-ray phantoms",
    tags="chest-x-ray", notebook="training_notebooks/train_lung_xray.ipynb",
    disclaimer="It was trained only on synthetic phantoms made by `workbench/data/phantoms.py`; it has never "
               "seen a real radiograph. It exists so that explanations can be checked against a lesion mask "
               "that is known by construction.",
    model_text="Input: one grayscale channel, 128x128, scaled to [0, 1] then `(x - 0.5) / 0.25`.",
    data_text="balanced: `normal`, or `affected` with 1-3 nodules (radius 2.5-5 px) or patchy opacities "
              "(6-12 px) inside the lung fields, with contrast comparable to the ribs; random size, position, "
              "rotation (±7°), contrast, blur and noise. Every case has a counterfactual twin without its "
              "lesions (`make_phantom(..., twin=True)`).",
    limits="Synthetic anatomy only; lesion appearance, scanner physics and patient variation of real X-rays "
           "are absent. Real images will be classified, but the output means nothing clinically; the "
           "out-of-distribution check says so beside every prediction.",
))

RECIPES.register(Recipe(
    id="histopathology-resnet18-compact", task="histopathology", labels=histology.LABELS,
    spec=InputSpec(64, 64, 3, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)),
    arch={"in_channels": 3, "num_classes": 9, "widths": [16, 32, 64, 128], "blocks": [2, 2, 2, 2],
          "strides": [1, 2, 2, 1]},
    make_dataset=histology.make_dataset, augment="dihedral", target_layer="layer4", feature_layers=STAGES,
    n_train=4500, n_val=450, epochs=6, batch_size=64, lr=2e-3, case_word="patches",
    title="compact ResNet-18 for synthetic H&E tissue patches (PathMNIST classes)",
    tags="histopathology, pathmnist", notebook="training_notebooks/train_histopathology.ipynb",
    disclaimer="It was trained only on synthetic H&E patches made by `workbench/data/histology.py`; it has "
               "never seen a real slide. It exists so that explanations can be checked against the structure "
               "that defines each tissue class (nuclei, gland lumens, fat cells), known by construction.",
    model_text="The ResNet-18 layout (two basic blocks in each of four stages) at a quarter of the width. "
               "Input: RGB, 64x64 (a real 224x224 patch is resized), scaled to [0, 1] then `(x - 0.5) / 0.25`.",
    data_text="the nine PathMNIST classes in PathMNIST's label order, balanced, rendered through a "
              "hematoxylin and eosin stain model with per-slide stain variation, blur and noise, each with the "
              "structure that defines it (see `workbench/data/histology.py`) and its mask.",
    limits="Synthetic tissue only: real staining, sectioning artefacts and the variety of real tissue are "
           "absent. Real patches will be classified, but the output means nothing diagnostically; the "
           "out-of-distribution check says so beside every prediction.",
))
