"""How well a model does, measured again on demand: the held-out evaluation its card reports, on N cases.

Only a bundled model's recipe says which generator made its training data, and so what held-out data
is; for any other model (a Hub repo, a folder) nothing here knows, and the caller is told so. It lives in
`training`, beside the recipes it reads, because training may import evaluation and never the other way round.
"""

from __future__ import annotations

import re

from workbench.errors import InputError
from workbench.models import ModelAdapter, ModelInfo

CARD_SECTION = "Held-out evaluation"


def has_recipe(info: ModelInfo) -> bool:
    """Whether the model is one the training code made (its id names a recipe)."""
    from workbench.training.recipes import RECIPES  # the generators load only when a card is shown

    return info.id in RECIPES


def held_out_report(model: ModelAdapter, n: int) -> dict:
    """The recipe's own evaluation (the one that wrote the card's numbers) on `n` held-out cases made as the
    card's were (split test, seed 0; for the image tasks, the first `n` of the card's):
    per-class precision, recall, F1, specificity and the confusion matrix for a classifier; Dice, Boundary IoU,
    ASSD and HD95 for a segmenter."""
    from workbench.training.recipes import RECIPES
    from workbench.training.runner import trainer  # the training loops load only when a report is asked for

    if not has_recipe(model.info):
        raise InputError(f"'{model.info.id}' is not a bundled model: the data it was trained on, and so what "
                         "held-out data would be, is unknown here.")
    if n < 1:
        raise InputError("the number of held-out cases must be at least 1.")
    recipe = RECIPES[model.info.id]
    return trainer(recipe)[1](model, recipe, n=n)


def card_section(card: str, title: str = CARD_SECTION) -> str | None:
    """One `## title` section of a model card (its text up to the next `##` heading), or None."""
    found = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", card, re.MULTILINE | re.DOTALL)
    return found.group(1).strip() if found else None
