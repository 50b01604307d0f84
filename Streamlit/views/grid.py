"""The comparison grid's columns, one per model, from the app's caches: a rerun recomputes nothing.

The sidebar's model takes the Run's explanations; every other model gets the same input (prepared for
its own input size), methods, seed and target, and its own layers. A method it cannot run leaves an
empty cell that says why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from views.caches import (
    get_curves,
    get_model,
    get_prediction,
    get_randomisation,
    get_scores,
    get_stability,
    get_window,
)
from views.explanations import explain_all
from views.sidebar import Selection
from workbench.arrays import content_hash
from workbench.comparison import Cell, shared_params
from workbench.errors import InputError, ModelError
from workbench.methods import METHODS, Explanation
from workbench.models import ModelAdapter, Prediction
from workbench.service import explain_request, input_hash, target_for, truth_in_window
from workbench.tasks import Picture, Task

FAILED = "failed in this run (the message is above the tabs); press Run to try it again"


@dataclass(frozen=True)
class Column:
    """One model: the picture its maps are drawn over, the truth on its grid, its prediction and a cell per
    method (in the Run's order)."""

    model_id: str
    picture: Picture | None
    truth: np.ndarray | None
    prediction: Prediction | None
    cells: list[Cell]


@dataclass(frozen=True)
class Scoring:
    """How the grid's maps are scored: the deletion/insertion baseline, and which sanity check to run on each map
    (an id of `metrics.sanity.SANITY_CHECKS`; None: none)."""

    baseline: str = "black"
    sanity: str | None = None
    stability: int = 0  # seeds of the stability score (0: not asked for; that many runs of each stochastic method)


def build_columns(sel: Selection, results: list[Explanation], scoring: Scoring = Scoring()) -> list[Column]:
    """The sidebar's model first, then each model it is compared with."""
    done = {e.method: e for e in results}
    main = Column(sel.model_id, sel.picture, sel.truth, sel.prediction,
                  [_scored(sel.model_id, sel.revision, sel.model, sel.x, sel.truth, done[m], scoring) if m in done
                   else Cell(sel.model_id, m, reason=FAILED) for m, _ in sel.request.methods])
    return [main, *(_other(sel, model_id, scoring) for model_id in sel.request.compare)]


def _scored(model_id: str, revision: str | None, model: ModelAdapter, x: np.ndarray, truth: np.ndarray | None,
            e: Explanation, scoring: Scoring) -> Cell:
    key = explain_request(model, x, e.method, e.target, e.params, e.seed).key
    scores = get_scores(model_id, revision, key, content_hash(truth), scoring.baseline, e, x, truth)
    if scoring.stability:
        scores = scores | {"stability": get_stability(model_id, revision, key, scoring.stability, e, x)["stability"]}
    return Cell(model_id, e.method, e, scores, get_curves(model_id, revision, key, scoring.baseline, e, x),
                sanity=get_randomisation(model_id, revision, key, scoring.sanity, e, x) if scoring.sanity else None)


def _other(sel: Selection, model_id: str, scoring: Scoring) -> Column:
    """Another bundled model's column; a model that cannot load or take the target has every cell say why."""
    request = sel.request
    try:
        model = get_model(model_id, None)
        window = None if sel.windows is None else sel.window
        raw, x, windows = get_window(sel.task, model_id, None, model, sel.clip, sel.clip_hash, window)
        picture = sel.task.picture(raw, model.info.input)
        prediction = get_prediction(model_id, None, model.key, input_hash(x), x)
        target = target_for(model, prediction, request.label, request.component)
    except (InputError, ModelError) as err:
        return Column(model_id, None, None, None, [Cell(model_id, m, reason=str(err)) for m, _ in request.methods])
    explained_truth = truth_in_window(sel.ground_truth, windows, window)[0]  # the main column's note says why not
    truth = None if explained_truth is None else explained_truth.as_mask(model.info.input.size, picture.axes)
    reasons, runs = {}, []
    for method_id, params in request.methods:
        try:
            runs.append((method_id, _settings(sel.task, model, method_id, params)))
        except InputError as err:
            reasons[method_id] = str(err)
    explained, failed = explain_all(model_id, None, model, x, target, runs, request.seed, f"{model_id}: ") \
        if runs else ([], {})
    reasons.update(failed)
    done = {e.method: e for e in explained}
    cells = [_scored(model_id, None, model, x, truth, done[m], scoring) if m in done
             else Cell(model_id, m, reason=reasons[m]) for m, _ in request.methods]
    return Column(model_id, picture, truth, prediction, cells)


def _settings(task: Task, model: ModelAdapter, method_id: str, params: dict) -> dict:
    """The Run's settings of a method as given to another model; InputError says why it cannot run there."""
    method = METHODS[method_id]
    reason = method.incompatibility(task, model)
    if reason is not None:
        raise InputError(reason)
    params = shared_params(model, method_id, params)
    method.resolve_params(model, params)  # a value out of this model's range is refused here
    return params
