"""`xai_models.py`: explain an input with several methods, in three steps (parse, compute, write), or hand the
`evaluate` and `reproduce` subcommands on."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workbench.cli.common import base_parser, method_params, setup, trusted_record
from workbench.cli.evaluate import evaluate_main, reproduce_main
from workbench.errors import InputError, ModelError, fail
from workbench.io import npy_bytes, zip_files
from workbench.methods import Explanation
from workbench.metrics.sanity import DEFAULT_CHECK, SANITY_CHECKS
from workbench.models import ModelAdapter, predict
from workbench.render import overlay_png
from workbench.service import (
    WindowScores,
    faithfulness_curves,
    load_truth,
    run_methods,
    score_explanation,
    target_for,
    truth_in_window,
)
from workbench.tasks import Picture, Task


def explain_main(argv: Sequence[str] | None = None) -> int:
    """`xai_models.py`: explain an input with several methods (parse, compute, write), or run the `evaluate` and
    `reproduce` subcommands."""
    if argv is None:
        argv = sys.argv[1:]
    if list(argv[:1]) == ["evaluate"]:
        return evaluate_main(argv[1:])
    if list(argv[:1]) == ["reproduce"]:
        return reproduce_main(argv[1:])
    args = parse_explain(argv)
    try:
        run = compute_explanations(args)
    except (InputError, ModelError) as err:
        return fail(str(err))
    score_explanations(args, run)
    try:  # only writing can fail from here on, and only for reasons of the output paths
        write_explanations(args, run)
    except OSError as err:
        return fail(f"cannot write to {err.filename or args.out or args.zip or args.report}: {err.strerror or err}.")
    _print_explained(args, run)
    return 0


def parse_explain(argv: Sequence[str]) -> argparse.Namespace:
    """The explain command line's arguments (argparse exits with code 2 on a malformed one)."""
    parser = base_parser("Explain a model's prediction with several methods (or: xai_models.py evaluate --help, "
                         "to score methods on generated cases; xai_models.py reproduce --help, to check a report).")
    parser.add_argument("--methods", default="gradcam,integrated_gradients,occlusion",
                        help="comma-separated method ids")
    parser.add_argument("--param", action="append", default=[], metavar="METHOD.NAME=VALUE",
                        help="a method parameter, e.g. occlusion.window_width=16 (repeatable)")
    parser.add_argument("--out", help="output folder for <method>.npy, <method>.png and explanations.json")
    parser.add_argument("--zip", help="write a report ZIP: maps, overlays, metrics.csv, explanation.txt and "
                                      "manifest.json (check it later with `xai_models.py reproduce`)")
    parser.add_argument("--report", help="write the report as a PDF: input, prediction, maps, metrics, curves, "
                                         "agreement and a text that states what the numbers say")
    parser.add_argument("--target", default=None, help="label to explain (default: the predicted one)")
    parser.add_argument("--component", type=int, default=None,
                        help="segmentation: explain only this connected region of the target class "
                             "(0 = the largest); default: all of it")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--truth", default=None,
                        help="ground truth to score each map against: a mask image, or for audio a .json file "
                             '{"span": [start_s, end_s]} (seconds from the clip\'s start)')
    parser.add_argument("--sanity", nargs="?", const=DEFAULT_CHECK, default=None, choices=SANITY_CHECKS.ids(),
                        help="also run a model-randomisation check on each map (the method again on copies of the "
                             "model with layers randomised; passes when the map changes): "
                             f"{', '.join(SANITY_CHECKS.ids())}; alone: {DEFAULT_CHECK}")
    return parser.parse_args(argv)


@dataclass
class ExplainRun:
    """What one explain command computed, handed from the compute step to the write step."""

    task: Task
    model: ModelAdapter
    windows: WindowScores | None
    picture: Picture
    x: np.ndarray
    truth: np.ndarray | None
    explanations: list[Explanation]
    curves: list = field(default_factory=list)
    records: list[dict] = field(default_factory=list)


def compute_explanations(args: argparse.Namespace) -> ExplainRun:
    """Every requested map of the input; raises InputError or ModelError for anything the user can change."""
    if not (args.out or args.zip or args.report):
        raise InputError("--out, --zip or --report is required.")
    params = method_params(args.param)
    task, model, raw, x, windows, clip = setup(args)
    picture = task.picture(raw, model.info.input)
    truth = None
    if args.truth:
        explained, note = truth_in_window(load_truth(task, args.truth, clip), windows)
        if note:
            print(f"note: {note}", file=sys.stderr)
        truth = None if explained is None else explained.as_mask(model.info.input.size, picture.axes)
    target = target_for(model, predict(model, x), args.target, args.component)
    method_ids = [m.strip() for m in args.methods.split(",") if m.strip()]
    explanations = run_methods(task, model, x, method_ids, target, args.seed, params)
    return ExplainRun(task, model, windows, picture, x, truth, explanations)


def score_explanations(args: argparse.Namespace, run: ExplainRun) -> None:
    """Each map's curves, scores and (with --sanity) randomisation check, into `run.curves` and `run.records`."""
    run.curves = [faithfulness_curves(e, run.model, run.x) for e in run.explanations]
    run.records = [{**e.summary(), "scores": score_explanation(e, run.model, run.x, run.truth, c)}
                   for e, c in zip(run.explanations, run.curves)]
    if args.sanity:  # the app's call (views/caches.get_randomisation): the map's own seed, so both give one verdict
        for record, e in zip(run.records, run.explanations):
            record["sanity"] = SANITY_CHECKS[args.sanity].run(run.model, run.x, e, seed=e.seed)


def write_explanations(args: argparse.Namespace, run: ExplainRun) -> None:
    """The maps folder (--out) and the report ZIP and PDF (--zip, --report); raises OSError for a bad path."""
    if args.out:
        _write_maps(Path(args.out), run.explanations, run.records, run.picture, run.truth)
    if args.zip or args.report:
        _write_report(args, run)


def _print_explained(args: argparse.Namespace, run: ExplainRun) -> None:
    """One JSON list (--json) or one line per method, then where each report went."""
    rows = [{"method": r["method"], "model": r["model"], "revision": r["revision"], **trusted_record(run.model),
             "device": r["device"], "seconds": r["seconds"], "passes": r["passes"], "scores": r["scores"],
             **({"sanity_passed": r["sanity"]["passed"]} if "sanity" in r else {})} for r in run.records]
    if args.json:
        print(json.dumps(rows))
        return
    for row in rows:
        scores = "".join(f", {name} {value:.3f}" for name, value in row["scores"].items())
        sanity = "" if "sanity_passed" not in row else (
            f", {SANITY_CHECKS[args.sanity].name} " + ("passed" if row["sanity_passed"] else
                                                       "FAILED (the map ignores the model)"))
        where = f" -> {args.out}/{row['method']}.png" if args.out else ""
        print(f"{row['method']}: {row['seconds']:.3f} s, {row['passes']} passes{scores}{sanity}{where}")
    for path in (args.zip, args.report):
        if path:
            print(f"report -> {path}")


def _write_maps(out: Path, explanations: list, records: list[dict], picture, truth: np.ndarray | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for e in explanations:
        (out / f"{e.method}.npy").write_bytes(npy_bytes(e.map))
        (out / f"{e.method}.png").write_bytes(overlay_png(picture, e.map, truth))
    (out / "explanations.json").write_text(json.dumps(records, indent=2))


def _write_report(args: argparse.Namespace, run: ExplainRun) -> None:
    """The report ZIP and/or PDF of this run (`workbench.report`), built in memory, then each written in one go."""
    from workbench.io.files import read_file
    from workbench.report import Analysis, build_report, report_files, report_pdf

    model = run.model
    analysis = Analysis(run.task.id, Path(args.input).name, read_file(args.input),
                        None if run.windows is None else run.windows.explained, args.target, args.component,
                        run.explanations, [model])
    sanity = {(model.info.id, r["method"]): bool(r["sanity"]["passed"]) for r in run.records if "sanity" in r}
    report = build_report(analysis, [r["scores"] for r in run.records], {model.info.id: run.truth}, sanity,
                          run.curves, sanity_check=args.sanity)
    if args.zip:
        Path(args.zip).write_bytes(zip_files(report_files(report), deflate=True))
    if args.report:
        Path(args.report).write_bytes(report_pdf(report))
