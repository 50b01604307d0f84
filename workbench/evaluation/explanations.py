"""Batch evaluation of explanations on generated cases whose truth is known by construction.

For every model, case and method, one row: the localisation scores against the truth, the faithfulness
and complexity scores, and the seconds the method took. Before any map is scored, the model's reliance
on the object is measured from the case's counterfactual twin (the same case with the object left out):
a model that does not change its answer without the object does not use it, and then a map that misses
the object says nothing against the method. Localisation is averaged over relied-on cases only.

Rows are pure functions of (model revision, case, method, parameters, seed), written one per line to a
JSONL file as they are made: a run that is stopped and started again reads it and resumes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.arrays import resize
from workbench.errors import InputError
from workbench.methods import METHODS
from workbench.metrics import METRICS
from workbench.metrics.sanity import model_randomisation
from workbench.models import ModelAdapter, Target
from workbench.tasks import TASKS, GroundTruth

LOCALISATION = ("pointing_game", "rank_accuracy", "energy_pointing_game", "iou", "dice", "hd95")
OTHERS = ("deletion_auc", "insertion_auc", "sparseness")


@dataclass(frozen=True)
class EvalCase:
    """One generated case: raw input and its twin (task.preprocess reads both), the class to explain, the truth."""

    index: int
    raw: np.ndarray
    twin: np.ndarray
    label: str
    truth: GroundTruth


def _mask(mask: np.ndarray) -> GroundTruth:
    return GroundTruth(mask=mask)


def lung_cases(n: int, seed: int, split: str) -> Iterator[EvalCase]:
    from workbench.data import phantoms

    for i in range(n):
        case = phantoms.make_phantom(seed, split, i, label=1)
        twin = phantoms.make_phantom(seed, split, i, label=1, twin=True)
        yield EvalCase(i, case.image, twin.image, phantoms.LABELS[1], _mask(case.mask))


def histology_cases(n: int, seed: int, split: str) -> Iterator[EvalCase]:
    """Patches of the classes with a defining structure (nuclei, glands, fat cells...), classes in turn."""
    from workbench.data import histology

    with_structure = [k for k in range(len(histology.LABELS))
                      if histology.make_patch(seed, split, 10_000 + k, label=k).mask.any()]
    for i in range(n):
        k = with_structure[i % len(with_structure)]
        patch = histology.make_patch(seed, split, i, label=k)
        twin = histology.make_patch(seed, split, i, label=k, twin=True)
        yield EvalCase(i, patch.image, twin.image, histology.LABELS[k], _mask(patch.mask))


def object_cases(n: int, seed: int, split: str) -> Iterator[EvalCase]:
    """Chests with one to four foreign objects; the class explained is the object class covering more pixels,
    its truth those pixels, its region (what a segmentation target sums over) the same pixels."""
    from workbench.data import foreign_objects

    objects = [foreign_objects.LABELS.index(k) for k in ("object_over_lungs", "object_elsewhere")]
    for i in range(n):
        case = foreign_objects.make_case(seed, split, i, n_objects=1 + i % 4)
        twin = foreign_objects.make_case(seed, split, i, n_objects=1 + i % 4, twin=True)
        labels = case.label_map
        k = max(objects, key=lambda c: int((labels == c).sum()))
        yield EvalCase(i, case.image, twin.image, foreign_objects.LABELS[k], _mask(labels == k))


def audio_cases(n: int, seed: int, split: str) -> Iterator[EvalCase]:
    """Partial spoofs (a span re-synthesised) and their real twins."""
    from workbench.data import speech

    for i in range(n):
        window, twin, _, _, span = speech.make_window(seed, split, 2 * i + 1, "partial")
        yield EvalCase(i, window, twin, speech.LABELS[1], GroundTruth(span=span))


CASE_SOURCES: dict[str, Callable[[int, int, str], Iterator[EvalCase]]] = {
    "lung_xray": lung_cases, "histopathology": histology_cases, "iqa_segmentation": object_cases,
    "audio_deepfake": audio_cases}


def truth_mask(task, model: ModelAdapter, case: EvalCase) -> np.ndarray:
    spec = model.info.input
    if case.truth.mask is not None:
        return resize(case.truth.mask.astype(np.float32), spec.size) > 0.5
    return case.truth.as_mask(spec.size, task.picture(case.raw, spec).axes)


def evaluate_case(model: ModelAdapter, case: EvalCase, method_ids: Sequence[str], params: dict[str, dict],
                  seed: int) -> list[dict]:
    """One row per method for this case (the reliance fields repeated on each)."""
    task = TASKS[model.info.task]
    spec = model.info.input
    x, twin = task.preprocess(case.raw, spec), task.preprocess(case.twin, spec)
    c = model.info.labels.index(case.label)
    truth = truth_mask(task, model, case)
    probabilities = model.predict(np.concatenate([x, twin]))[:, c]
    if model.info.output_kind == "segmentation":  # the class's mean probability over the object, and its region
        p_case, p_twin = probabilities[:, truth].mean(axis=1)
        target = Target(c, truth)
    else:
        (p_case, p_twin), target = probabilities, Target(c)
    detected = bool(p_case > 0.5)
    relies = detected and bool(p_twin <= 0.5)  # the label flips when the object is left out
    rows = []
    for method_id in method_ids:
        e = METHODS[method_id].explain(model, x, target, params.get(method_id), seed)
        scores = {m: METRICS[m].score(e, truth=truth, model=model, x=x) for m in (*LOCALISATION, *OTHERS)}
        rows.append({"model": model.info.id, "revision": model.info.revision, "case": case.index,
                     "method": method_id, "params": e.params, "seed": seed, "detected": detected, "relies": relies,
                     "probability_drop": float(p_case - p_twin), "seconds": e.seconds, **scores})
    return rows


def row_key(model: str, revision: str, case: int, method: str, params: dict, seed: int) -> str:
    """What a row is a function of: a row with the same key is the same row."""
    return json.dumps([model, revision, case, method, params, seed], sort_keys=True)


def evaluate(models: Sequence[ModelAdapter], method_ids: Sequence[str], n: int, seed: int = 0, split: str = "test",
             params: dict[str, dict] | None = None, rows_path: Path | None = None,
             progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """Every model x case x method row; rows already in `rows_path` (JSONL) are read, not recomputed."""
    params = params or {}
    tasks = {m.info.task for m in models}
    if len(tasks) != 1:
        raise InputError(f"the models are for different tasks: {sorted(tasks)}.")
    task_id = tasks.pop()
    if task_id not in CASE_SOURCES:
        raise InputError(f"no generated cases with known truth for '{task_id}'; "
                         f"evaluation runs on {', '.join(CASE_SOURCES)}.")
    done = {}
    if rows_path is not None and rows_path.exists():
        for line in rows_path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                done[row_key(*(row[k] for k in ("model", "revision", "case", "method", "params", "seed")))] = row
    rows, total, count = [], n * len(models), 0
    for model in models:
        resolved = {m: METHODS[m].resolve_params(model, params.get(m)) for m in method_ids}
        for case in CASE_SOURCES[task_id](n, seed, split):
            keys = {m: row_key(model.info.id, model.info.revision, case.index, m, resolved[m], seed)
                    for m in method_ids}
            missing = [m for m in method_ids if keys[m] not in done]
            fresh = evaluate_case(model, case, missing, resolved, seed) if missing else []
            if rows_path is not None and fresh:
                with rows_path.open("a") as f:
                    f.writelines(json.dumps(r) + "\n" for r in fresh)
            done |= {keys[r["method"]]: r for r in fresh}
            rows += [done[keys[m]] for m in method_ids]
            count += 1
            if progress is not None:
                progress(count, total)
    return rows


def summarise(rows: list[dict], sanity: dict[tuple[str, str], bool] | None = None) -> list[dict]:
    """One row per model x method: localisation means over relied-on cases, the rest over all cases."""
    out = []
    for model, method in dict.fromkeys((r["model"], r["method"]) for r in rows):
        group = [r for r in rows if r["model"] == model and r["method"] == method]
        relied = [r for r in group if r["relies"]]
        row = {"model": model, "method": method}
        for m in LOCALISATION:
            values = [r[m] for r in relied if not np.isnan(r[m])]
            row[m] = round(float(np.mean(values)), 4) if values else None
        for m in OTHERS:
            row[m] = round(float(np.mean([r[m] for r in group])), 4)
        row["sanity"] = None if sanity is None else sanity.get((model, method))
        row |= {"cases": len(group), "excluded": len(group) - len(relied),
                "seconds_per_case": round(float(np.mean([r["seconds"] for r in group])), 4)}
        out.append(row)
    return out


def sanity_verdicts(models: Sequence[ModelAdapter], method_ids: Sequence[str], seed: int = 0,
                    params: dict[str, dict] | None = None) -> dict[tuple[str, str], bool]:
    """The model-randomisation check of each model x method, on the task's first generated case."""
    out = {}
    for model in models:
        task = TASKS[model.info.task]
        case = next(CASE_SOURCES[model.info.task](1, seed, "test"))
        x = task.preprocess(case.raw, model.info.input)
        c = model.info.labels.index(case.label)
        target = Target(c, truth_mask(task, model, case) if model.info.output_kind == "segmentation" else None)
        for m in method_ids:
            e = METHODS[m].explain(model, x, target, (params or {}).get(m), seed)
            out[(model.info.id, m)] = bool(model_randomisation(model, x, e, steps=3, seed=seed)["passed"])
    return out
