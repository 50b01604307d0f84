"""Batch evaluation of explanations on generated cases whose truth is known by construction.

For every model, case and method, one row: the localisation scores against the truth, the faithfulness
and complexity scores, and the seconds the method took. Before any map is scored, the model's reliance
on the object is measured from the case's counterfactual twin (the same case with the object left out):
a model that does not change its answer without the object does not use it, and then a map that misses
the object says nothing against the method. Localisation is averaged over relied-on cases only.

Rows are pure functions of (model revision, case, method, parameters, seed), written one per line to a
JSONL file (the CLI) or kept in memory (the app's session) as they are made: a run that is stopped and
started again reads them and resumes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.errors import InputError
from workbench.evaluation.cases import EVAL_BASELINES, TWIN, CaseSource, EvalCase
from workbench.evaluation.intervals import RESAMPLES, bootstrap_interval, clearly_worse, defined
from workbench.io.writers import csv_text
from workbench.methods import BASELINE_METHODS, METHODS
from workbench.metrics import METRICS
from workbench.metrics.agreement import Stability
from workbench.metrics.sanity import DEFAULT_CHECK, SANITY_CHECKS
from workbench.models import ModelAdapter, Target
from workbench.service import faithfulness_curves
from workbench.tasks import TASKS

LOCALISATION = ("pointing_game", "rank_accuracy", "energy_pointing_game", "iou", "dice", "hd95")
CURVES = ("deletion_auc", "insertion_auc")
OTHERS = (*CURVES, "sparseness")


def truth_mask(task, model: ModelAdapter, case: EvalCase) -> np.ndarray | None:
    """The case's truth on the model's input grid, by the one rule that draws and scores truths
    (`GroundTruth.as_mask`); a span needs the picture's time axis, a mask does not."""
    if case.truth is None:
        return None
    spec = model.info.input
    axes = task.picture(case.raw, spec).axes if case.truth.mask is None else None
    return case.truth.as_mask(spec.size, axes)


def predicted_class(model: ModelAdapter, probabilities: np.ndarray) -> int:
    """A classifier's predicted class, by its own rule (`ModelInfo.decide`); for a segmentation (K x H x W), the
    class predicted on most pixels after the first (by convention the background), or the first when nothing
    else is predicted."""
    if probabilities.ndim == 1:
        return int(model.info.decide(probabilities[None])[0])
    counts = np.bincount(probabilities.argmax(0).ravel(), minlength=len(probabilities))
    return int(counts[1:].argmax()) + 1 if counts[1:].any() else 0


@dataclass(frozen=True)
class Prepared:
    """A case as a model sees it: its input, the target explained, the truth on the model's grid, and the
    model's reliance on the object (None where unknown: no twin, or a segmentation without truth)."""

    x: np.ndarray
    twin: np.ndarray | None  # the twin as the model reads it, when the case has one
    target: Target
    truth: np.ndarray | None
    detected: bool | None
    relies: bool | None
    probability_drop: float | None


def prepare(model: ModelAdapter, case: EvalCase) -> Prepared:
    """The case and its twin through the model once: the class (the case's, or the predicted one), for a
    segmentation the region (the truth), and whether the answer flips without the object."""
    task = TASKS[model.info.task]
    spec = model.info.input
    x = task.preprocess(case.raw, spec)
    twin = None if case.twin is None else task.preprocess(case.twin, spec)
    batch = x if twin is None else np.concatenate([x, twin])
    probabilities = model.predict(batch)
    c = model.info.labels.index(case.label) if case.label is not None else predicted_class(model, probabilities[0])
    truth = truth_mask(task, model, case)
    if model.info.output_kind == "segmentation":  # the class's mean probability over the object
        region = truth if truth is not None and truth.any() else None
        p = None if region is None else probabilities[:, c][:, region].mean(axis=1)
    else:
        region, p = None, probabilities[:, c]
    detected = None if p is None else bool(p[0] > 0.5)
    relies = None if case.twin is None or p is None else bool(detected and p[1] <= 0.5)
    return Prepared(x, twin, Target(c, region), truth, detected, relies, None if relies is None else float(p[0] - p[1]))


def evaluate_case(model: ModelAdapter, case: EvalCase, method_ids: Sequence[str], params: dict[str, dict],
                  seed: int, source: str, baseline: str = "black") -> list[dict]:
    """One row per method for this case (the reliance fields repeated on each); without a truth, the
    localisation metrics are None. Deletion and insertion replace points with `baseline`: a name of
    EVAL_BASELINES, `twin` taking each point from the case's counterfactual twin."""
    ready = prepare(model, case)
    if baseline == TWIN and ready.twin is None:
        raise InputError(f"case {case.index} has no counterfactual twin for the twin baseline.")
    reference = ready.twin if baseline == TWIN else baseline
    has_truth = ready.truth is not None and ready.truth.any()
    metrics = [*(LOCALISATION if has_truth else ()), *OTHERS]
    rows = []
    for method_id in method_ids:
        e = METHODS[method_id].explain(model, ready.x, ready.target, params.get(method_id), seed)
        curves = faithfulness_curves(e, model, ready.x, reference)
        scores = {m: METRICS[m].score_curve(curves[m]) if m in curves else
                  METRICS[m].score(e, truth=ready.truth, model=model, x=ready.x) for m in metrics}
        rows.append({"model": model.info.id, "revision": model.info.revision, "source": source, "case": case.index,
                     "method": method_id, "params": e.params, "seed": seed, "baseline": baseline,
                     "label": e.target_label,
                     "detected": ready.detected, "relies": ready.relies, "probability_drop": ready.probability_drop,
                     "seconds": e.seconds, **{m: scores.get(m) for m in (*LOCALISATION, *OTHERS)}})
    return rows


def row_key(model: str, revision: str, source: str, case: int, method: str, params: dict, seed: int,
            baseline: str) -> str:
    """What a row is a function of: a row with the same key is the same row."""
    return json.dumps([model, revision, source, case, method, params, seed, baseline], sort_keys=True)


KEY_FIELDS = ("model", "revision", "source", "case", "method", "params", "seed", "baseline")


def read_rows(rows_path: Path) -> dict[str, dict]:
    """The rows a JSONL file holds, by key (none when it does not exist yet). A run killed while writing leaves
    its last line cut short: that line is cut off the file (its case is computed again), so rows appended next
    start on a line of their own."""
    if not rows_path.exists():
        return {}
    data = rows_path.read_bytes()
    if data and not data.endswith(b"\n"):
        data = data[:data.rfind(b"\n") + 1]
        rows_path.write_bytes(data)
    rows = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
    return {row_key(*(row[k] for k in KEY_FIELDS)): row for row in rows}


@dataclass(frozen=True)
class Work:
    """One model x case with the methods whose rows are missing: what a runner turns into rows."""

    model: int  # index into the models
    case: EvalCase
    methods: tuple[str, ...]


# Work items in, each item's fresh rows out, in the same order, as they are made (so each is stored at once).
Runner = Callable[[Sequence[ModelAdapter], Iterator[Work], dict[str, dict], int, str, str], Iterator[list[dict]]]


def run_here(models: Sequence[ModelAdapter], work: Iterator[Work], params: dict[str, dict], seed: int, source: str,
             baseline: str) -> Iterator[list[dict]]:
    """The local runner: each item in this process, one after the other."""
    for item in work:
        yield evaluate_case(models[item.model], item.case, item.methods, params[item.model], seed, source, baseline)


def evaluate(models: Sequence[ModelAdapter], method_ids: Sequence[str], source: CaseSource, seed: int = 0,
             params: dict[str, dict] | None = None, rows_path: Path | None = None,
             progress: Callable[[int, int], None] | None = None, done: dict[str, dict] | None = None,
             baseline: str = "black", runner: Runner = run_here) -> list[dict]:
    """Every model x case x method row, deletion and insertion replacing points with `baseline` (black, mean,
    blur, or each case's twin where the source has twins). Rows already in `done` (row key -> row) are served
    from it, not recomputed, and each fresh row is added to it as soon as its case is scored: a caller that
    keeps `done` (the app, in its session) resumes a stopped run. `rows_path` (JSONL) keeps `done` on disk, for
    the CLI. `runner` computes the missing rows: here (the default) or on a Ray cluster
    (evaluation/distributed.py), with the same rows."""
    if baseline not in EVAL_BASELINES:
        raise InputError(f"unknown baseline '{baseline}'; one of {', '.join(EVAL_BASELINES)}.")
    if baseline == TWIN and not source.twins:
        raise InputError("the twin baseline needs cases with counterfactual twins: generated cases have them, "
                         "a folder or a MedMNIST file does not.")
    params = params or {}
    tasks = {m.info.task for m in models}
    if len(tasks) != 1:
        raise InputError(f"the models are for different tasks: {sorted(tasks)}.")
    done = {} if done is None else done
    if rows_path is not None:
        done.update(read_rows(rows_path))
    resolved = [{m: METHODS[m].resolve_params(model, params.get(m)) for m in method_ids} for model in models]

    def keys_of(k: int, case: EvalCase) -> dict[str, str]:
        model = models[k]
        return {m: row_key(model.info.id, model.info.revision, source.name, case.index, m, resolved[k][m], seed,
                           baseline) for m in method_ids}

    items = [(k, case, keys_of(k, case)) for k in range(len(models)) for case in source.cases()]
    work = (Work(k, case, tuple(m for m, key in keys.items() if key not in done)) for k, case, keys in items)
    fresh = runner(models, (w for w in work if w.methods), resolved, seed, source.name, baseline)
    rows = []
    for count, (_, _, keys) in enumerate(items, 1):
        if any(key not in done for key in keys.values()):
            made = next(fresh)
            if rows_path is not None:
                with rows_path.open("a") as f:
                    f.writelines(json.dumps(r) + "\n" for r in made)
            done.update({keys[r["method"]]: r for r in made})
        rows += [done[keys[m]] for m in method_ids]
        if progress is not None:
            progress(count, len(items))
    return rows


def _mean(values: list) -> float | None:
    kept = defined(values)
    return round(float(kept.mean()), 4) if kept.size else None


def _scored_cases(group: list[dict], metric: str) -> list[dict]:
    """The rows a metric's mean is taken over: for localisation (and the twin's curves) the cases the model relies
    on, for the rest every case."""
    twin = all(r["baseline"] == TWIN for r in group)
    if metric in LOCALISATION or (twin and metric in CURVES):
        return [r for r in group if r["relies"] is not False]
    return group


def summarise(rows: list[dict], sanity: dict[tuple[str, str], bool] | None = None,
              stability: dict[tuple[str, str], float | None] | None = None,
              resamples: int = RESAMPLES) -> list[dict]:
    """One row per model x method: localisation means over the cases not shown to be ignored by the model
    (its answer did not flip without the object: excluded), the rest over all cases. With the twin baseline,
    deletion and insertion are averaged over the kept cases too: where the model keeps its answer on the twin,
    taking points from the twin removes nothing it uses, so the curve stays flat whatever the map.

    Each mean has its 95% bootstrap interval over those cases (`<metric>_lo`, `<metric>_hi`, seeded by the run's
    seed); each localisation metric its lift over the best trivial baseline in the run (`<metric>_lift`, positive:
    better than every baseline, in the metric's own direction); and `best_or_tied` names the metrics on which the
    method is the model's best or not clearly worse than the best (a paired bootstrap over the same cases)."""
    seed = rows[0]["seed"] if rows else 0
    out = []
    for model, method in dict.fromkeys((r["model"], r["method"]) for r in rows):
        group = [r for r in rows if r["model"] == model and r["method"] == method]
        row = {"model": model, "method": method}
        for m in METRIC_COLUMNS:
            values = defined([r[m] for r in _scored_cases(group, m)])
            interval = bootstrap_interval(values, seed, resamples)
            row[m] = round(float(values.mean()), 4) if values.size else None
            row[f"{m}_lo"], row[f"{m}_hi"] = (None, None) if interval is None else (round(interval[0], 4),
                                                                                     round(interval[1], 4))
        row["sanity"] = None if sanity is None else sanity.get((model, method))
        row["stability"] = None if stability is None else stability.get((model, method))
        row |= {"cases": len(group), "excluded": len(group) - len(_scored_cases(group, LOCALISATION[0])),
                "seconds_per_case": _mean([r["seconds"] for r in group]), "resamples": resamples}
        out.append(row)
    for model in dict.fromkeys(r["model"] for r in out):
        summary = [r for r in out if r["model"] == model]
        _lifts(summary)
        _best_or_tied(summary, [r for r in rows if r["model"] == model], seed, resamples)
    return out


def _lifts(summary: list[dict]) -> None:
    """Each method's localisation scores against the best trivial baseline's (None without baselines, and for the
    baselines themselves)."""
    baselines = [r for r in summary if r["method"] in BASELINE_METHODS]  # the trivial maps lifts are measured against
    for m in LOCALISATION:
        sign = 1 if METRICS[m].higher_is_better else -1
        scores = [sign * r[m] for r in baselines if r[m] is not None]
        best = max(scores) if scores else None
        for r in summary:
            lift = None if best is None or r[m] is None or r["method"] in BASELINE_METHODS else sign * r[m] - best
            r[f"{m}_lift"] = None if lift is None else round(lift, 4)


def _best_or_tied(summary: list[dict], rows: list[dict], seed: int, resamples: int) -> None:
    """Per metric, the best mean and every method whose per-case difference from it is not clearly negative."""
    for r in summary:
        r["best_or_tied"] = []
    by_method = {r["method"]: {row["case"]: row for row in rows if row["method"] == r["method"]} for r in summary}
    for m in METRIC_COLUMNS:
        sign = 1 if METRICS[m].higher_is_better else -1
        scored = [r for r in summary if r[m] is not None]
        if not scored:
            continue
        best = max(scored, key=lambda r: sign * r[m])
        best_cases = {row["case"]: row for row in _scored_cases(list(by_method[best["method"]].values()), m)}
        for r in scored:
            cases = [c for c in best_cases if c in by_method[r["method"]]]
            pairs = np.array([[by_method[r["method"]][c][m], best_cases[c][m]] for c in cases], np.float64)
            pairs = pairs.reshape(-1, 2)[~np.isnan(pairs.reshape(-1, 2)).any(axis=1)]  # None -> NaN: left out
            candidate, reference = pairs[:, 0], pairs[:, 1]
            if r is best or not clearly_worse(candidate, reference, METRICS[m].higher_is_better, seed, resamples):
                r["best_or_tied"].append(m)
    for r in summary:
        r["best_or_tied"] = " ".join(r["best_or_tied"])


METRIC_COLUMNS = (*LOCALISATION, *OTHERS)
COLUMNS = ("model", "method",
           *(f"{m}{suffix}" for m in METRIC_COLUMNS for suffix in ("", "_lo", "_hi", *(("_lift",) if m in LOCALISATION
                                                                                     else ()))),
           "best_or_tied", "sanity", "stability", "cases", "excluded", "seconds_per_case", "resamples")


def table_csv(table: list[dict]) -> str:
    """The summary as CSV, in the one column order the CLI writes and the app offers for download."""
    return csv_text(table, COLUMNS, line_end="\r\n")


def reliance_counts(rows: list[dict]) -> dict[str, dict[str, int]]:
    """Per model, its cases by reliance on the object: relied on, not detected (its answer missed the object),
    not flipped (it kept its answer on the twin without the object), or unknown (no twin). `summarise`
    excludes the not detected and not flipped ones from localisation."""
    out = {}
    for model in dict.fromkeys(r["model"] for r in rows):
        cases = list({r["case"]: r for r in rows if r["model"] == model}.values())
        out[model] = {"cases": len(cases), "relies": sum(r["relies"] is True for r in cases),
                      "not_detected": sum(r["relies"] is False and not r["detected"] for r in cases),
                      "not_flipped": sum(r["relies"] is False and bool(r["detected"]) for r in cases),
                      "unknown": sum(r["relies"] is None for r in cases)}
    return out


def sanity_verdicts(models: Sequence[ModelAdapter], method_ids: Sequence[str], source: CaseSource, seed: int = 0,
                    params: dict[str, dict] | None = None, check: str = DEFAULT_CHECK) -> dict[tuple[str, str], bool]:
    """Each model x method's verdict of the sanity check `check` (an id of SANITY_CHECKS), on the source's first
    case."""
    run = SANITY_CHECKS[check].run
    out = {}
    for model in models:
        ready = prepare(model, next(source.cases()))
        for m in method_ids:
            e = METHODS[m].explain(model, ready.x, ready.target, (params or {}).get(m), seed)
            out[(model.info.id, m)] = bool(run(model, ready.x, e, seed=seed)["passed"])
    return out


def stability_scores(models: Sequence[ModelAdapter], method_ids: Sequence[str], source: CaseSource, runs: int,
                     seed: int = 0, params: dict[str, dict] | None = None) -> dict[tuple[str, str], float | None]:
    """Each model x method's stability (`Stability` with `runs` seeds from the run's seed) averaged over the source's
    cases: `runs` explanations per case of a stochastic method; a method that is not stochastic is 1 by definition
    and costs none."""
    metric = Stability(runs)
    out = {}
    for model in models:
        ready = [prepare(model, case) for case in source.cases()]
        for m in method_ids:
            method = METHODS[m]
            out[(model.info.id, m)] = 1.0 if not method.stochastic else _mean([
                metric.score(method.explain(model, r.x, r.target, (params or {}).get(m), seed), model=model, x=r.x)
                for r in ready])
    return out
