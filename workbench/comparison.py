"""The comparison grid's data: methods (rows) x models (columns) on one input.

What the app's grid shows is computed here and drawn by `workbench.render`: the one colour scale of
the whole grid, the agreement between one model's maps, and the downloads (every map, every overlay,
every metric). Another model takes the same method settings except its layers, which are its own.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from workbench.io.writers import csv_text
from workbench.methods import METHODS, Explanation
from workbench.metrics import METRICS
from workbench.metrics.agreement import spearman_matrix, top_k_iou_matrix
from workbench.models import ModelAdapter
from workbench.service import Curve

MODEL_KINDS = ("layer", "layers")  # parameter kinds whose values name one model's layers


@dataclass(frozen=True)
class Cell:
    """One model x method: the explanation with its scores, its deletion and insertion curves (by metric
    id) and, when asked for, its model-randomisation check (one of `metrics.sanity.SANITY_CHECKS`); or, when the
    method could not run on the model, why."""

    model_id: str
    method: str
    explanation: Explanation | None = None
    scores: dict[str, float] = field(default_factory=dict)
    curves: dict[str, Curve] = field(default_factory=dict)
    reason: str | None = None
    sanity: dict | None = None

    @property
    def name(self) -> str:
        """The cell's file name in the downloads, without extension."""
        return f"{self.model_id}__{self.method}"


def shared_params(model: ModelAdapter, method_id: str, params: dict) -> dict:
    """The values chosen for one model, as given to another: the parameters the other's spec has, except
    layer choices, which name one model's layers (the other takes its own default ones)."""
    kinds = {p.name: p.kind for p in METHODS[method_id].params(model)}
    return {name: value for name, value in params.items() if name in kinds and kinds[name] not in MODEL_KINDS}


def colour_scale(maps: Sequence[np.ndarray]) -> float:
    """One scale for a whole grid: the largest |value| of any map (1 when all are zero). Equal colours are
    then equal values in every cell, and no value is clipped."""
    largest = max((float(np.abs(m).max()) for m in maps), default=0.0)
    return largest if largest > 0 else 1.0


def agreement(maps: np.ndarray, k_percent: float) -> list[tuple[str, np.ndarray, tuple[float, float]]]:
    """(title, matrix, its range) for the Spearman rank correlation and the top-k% IoU of every pair of maps
    (N x H x W), the maps of one model."""
    return [("Spearman rank correlation", spearman_matrix(maps), (-1.0, 1.0)),
            (f"IoU of the top {k_percent:g}%", top_k_iou_matrix(maps, k_percent), (0.0, 1.0))]


PER_MAP, PER_METHOD, SHARED = "each map", "each method", "all maps"  # colour scale choices
HEADLINES = (("pointing_game", "best_iou"), ("deletion_auc", "insertion_auc"))  # with ground truth, without


def colour_scales(cells: Sequence[Cell], scaling: str) -> dict[str, float | None]:
    """Each drawn map's colour scale by cell name: None (the map's own, so every map shows), the largest |value|
    of the method's maps on every model, or of all maps. Only the first shows every map whatever its units."""
    done = [c for c in cells if c.explanation is not None]
    if scaling == PER_MAP:
        return {c.name: None for c in done}
    if scaling == SHARED:
        whole = colour_scale([c.explanation.map for c in done])
        return {c.name: whole for c in done}
    by_method = {m: colour_scale([c.explanation.map for c in done if c.method == m]) for m in {c.method for c in done}}
    return {c.name: by_method[c.method] for c in done}


def headline(cell: Cell) -> list[str]:
    """The two metric ids shown under a map: localisation when the truth is known, else faithfulness."""
    return next(([m for m in ids if m in cell.scores] for ids in HEADLINES if any(m in cell.scores for m in ids)),
                [])


def metric_rows(cells: Sequence[Cell]) -> tuple[list[str], list[dict]]:
    """The comparison's one table: the metric ids any cell has (registry order), and a row per cell with model,
    method, seconds, every metric (None where the cell has none) and, when checked, the sanity verdict."""
    ids = [m for m in METRICS if any(m in c.scores for c in cells)]
    checked = any(c.sanity is not None for c in cells)
    rows = [{"model": c.model_id, "method": c.method,
             "seconds": None if c.explanation is None else c.explanation.seconds,
             **{m: c.scores.get(m) for m in ids},
             **({"sanity": None if c.sanity is None else c.sanity["passed"]} if checked else {})} for c in cells]
    return ids, rows


def best_values(ids: Sequence[str], rows: Sequence[dict]) -> dict[str, float]:
    """Each metric's best value over the rows, in the metric's direction (a metric no row has is left out)."""
    best = {}
    for m in ids:
        values = [r[m] for r in rows if r[m] is not None and np.isfinite(r[m])]
        if values:
            best[m] = max(values) if METRICS[m].higher_is_better else min(values)
    return best


def curve_series(maps: Sequence[tuple[str, str, dict[str, Curve]]], several: bool) -> dict[str, dict[str, Curve]]:
    """Each map's deletion and insertion curves, from (method id, model id, curves by metric id), by the map's
    name (with its model when several models) and the curve's label: the series the app's chart and the PDF's
    figure both draw."""
    return {METHODS[method].name + (f" ({model_id})" if several else ""):
            {METRICS[m].label: curve for m, curve in curves.items()} for method, model_id, curves in maps if curves}


def metrics_csv(cells: Sequence[Cell]) -> str:
    """The table of `metric_rows` as CSV; a cell without a map has blanks."""
    ids, rows = metric_rows(cells)
    return csv_text(rows, list(rows[0]) if rows else ["model", "method", "seconds"])


def maps_npz(cells: Sequence[Cell]) -> bytes:
    """Every map, raw float32 at its model's input size, in one .npz: a zip of model__method.npy."""
    out = io.BytesIO()
    np.savez(out, **{c.name: c.explanation.map for c in cells if c.explanation is not None})
    return out.getvalue()
