"""Train, evaluate and write the card of any recipe: what the CLI and the notebooks call."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from workbench.training.classifier import evaluate, train, write_model_card
from workbench.training.recipes import Recipe
from workbench.training.segmentation import evaluate_segmenter, train_segmenter, write_segmentation_card

# Tiny settings for CI's smoke runs: every step runs, nothing is learnt.
SMOKE = {"n_train": 32, "n_val": 16, "epochs": 1, "n_ood": 32}
SMOKE_EVAL = {"n": 20}
# The audio detectors also calibrate and measure their clip rule on long recordings, and score whole ones; a window
# costs a text-to-speech or vocoder run (about 0.3 s without the speech cache), so they make fewer.
SMOKE_AUDIO = {"n_train": 12, "n_val": 8, "n_ood": 16, "n_long": 2}
SMOKE_AUDIO_EVAL = {"n": 8, "n_long": 2, "n_whole": 2}


def trainer(recipe: Recipe) -> tuple[Callable, Callable, Callable]:
    """(train, evaluate, write card) for the recipe's kind of model."""
    if recipe.framework == "keras":
        from workbench.training.audio import evaluate_audio, train_keras, write_audio_card

        return train_keras, evaluate_audio, write_audio_card
    if recipe.output_kind == "segmentation":
        return train_segmenter, evaluate_segmenter, write_segmentation_card
    return train, evaluate, write_model_card


def train_and_card(recipe: Recipe, out: str | Path, smoke: bool = False, seed: int = 0,
                   log: Callable[[str], None] = print) -> dict:
    """Train into `out`, evaluate on held-out data and write the card; returns both summaries."""
    train_fn, evaluate_fn, card_fn = trainer(recipe)
    audio = recipe.framework == "keras"
    summary = train_fn(recipe, out, seed=seed, log=log, **(SMOKE | (SMOKE_AUDIO if audio else {}) if smoke else {}))
    evaluation = evaluate_fn(str(out), recipe,
                             **(SMOKE_EVAL | (SMOKE_AUDIO_EVAL if audio else {}) if smoke else {}))
    card_fn(out, recipe, summary, evaluation)
    return {"training": summary, "held_out": evaluation}
