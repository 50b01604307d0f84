"""The two command lines: `inference.py` (list, predict) and `xai_models.py` (explain).

Bad input prints one line on stderr and exits with code 2; nothing is written for it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workbench.device import resolve_device
from workbench.errors import InputError, ModelError, fail  # fail: also training/__main__.py's until it moves
from workbench.evaluation.cases import EVAL_BASELINES
from workbench.io import npy_bytes
from workbench.methods import METHODS, Explanation
from workbench.models import OOD_MESSAGE, ClassPrediction, ModelAdapter, list_models, load_model, predict
from workbench.render import overlay_png
from workbench.service import (
    WindowScores,
    check_methods,
    check_model_task,
    check_seed,
    faithfulness_curves,
    load_input,
    load_truth,
    prepare_input,
    run_methods,
    score_explanation,
    target_for,
)
from workbench.tasks import TASKS, Picture, Task, get_task


def listing() -> dict:
    """Tasks, bundled models and methods, as `--list` prints them."""
    models = list_models()
    frameworks = sorted({m.framework for m in models} | {"pytorch", "keras"})
    return {
        "tasks": [{"id": t.id, "name": t.name, "modality": t.modality, "output_kind": t.output_kind,
                   "labels": list(t.labels)} for t in TASKS.values()],
        "models": [{"id": m.id, "task": m.task, "framework": m.framework, "revision": m.revision}
                   for m in models],
        "methods": [{"id": m.id, "name": m.name,
                     "tasks": [t.id for t in TASKS.values() if m.supports_task(t)],
                     "frameworks": [f for f in frameworks if f in m.frameworks]}
                    for m in METHODS.values()],
    }


DEVICE_HELP = ("where PyTorch models run: auto (a CUDA GPU when torch sees one, else the CPU), cpu, cuda or cuda:N; "
               "Keras models use TensorFlow's own placement")


def _parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--task", help=f"task id: {', '.join(TASKS)}")
    parser.add_argument("--model", help="bundled model id (see --list), a model folder, or a Hub repo: "
                                        "hub:ORG/NAME[@REVISION] or ORG/NAME (default: the task's default model)")
    parser.add_argument("--revision", default=None, help="Hub revision (branch, tag or commit)")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="load this repo's pickled weights (.bin, .pt, .h5, ...), which can run code when read: "
                             "only for a repo you trust; recorded in every output")
    parser.add_argument("--device", default="auto", help=DEVICE_HELP)
    parser.add_argument("--input", help="input file")
    parser.add_argument("--window", type=int, default=None,
                        help="audio: the window to predict on or explain, from 0 (default: the one that "
                             "decided the clip's verdict)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def _setup(args: argparse.Namespace):
    """Validated task, loaded model, raw and preprocessed input, window scores (audio), notes."""
    for name in ("task", "input"):
        if not getattr(args, name):
            raise InputError(f"--{name} is required.")
    task = get_task(args.task)
    if not (args.model or task.default_model):
        raise InputError("--model is required.")
    model = load_model(args.model or task.default_model, args.revision, args.trust_pickle,
                       device=resolve_device(args.device))
    check_model_task(model, task)
    raw, notes = load_input(task, args.input)
    raw, x, windows = prepare_input(task, model, raw, args.window)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return task, model, raw, x, windows


def predict_main(argv: Sequence[str] | None = None) -> int:
    parser = _parser("Predict with a workbench model.")
    parser.add_argument("--list", action="store_true", help="list tasks, models and methods")
    args = parser.parse_args(argv)
    try:
        if args.list:
            _print_listing(listing(), args.json)
            return 0
        task, model, _raw, x, windows = _setup(args)
        pred = predict(model, x)
    except (InputError, ModelError) as err:
        return fail(str(err))
    read_outs = {} if isinstance(pred, ClassPrediction) else task.assess(pred.mask)
    if args.json:
        extra = {"notice": model.info.notice} if model.info.notice else {}
        if windows is not None:
            extra |= windows.to_json(model.info.labels)
        print(json.dumps({"model": model.info.id, "revision": model.info.revision, **trusted_record(model),
                          **pred.to_json(), **read_outs, **extra}))
        return 0
    print(f"model: {model.info.id} @ {model.info.revision}" + (" (pickled weights, trusted)" if model.info.trusted
                                                               else ""))
    if model.info.notice:
        print(f"notice: {model.info.notice}")
    if windows is not None:
        print(f"clip: {windows.label} (decided by window {windows.deciding} of {len(windows.spans)}; rule: "
              f"{windows.rule})")
        for k, ((a, b), probs) in enumerate(zip(windows.spans, windows.probabilities)):
            print(f"  window {k} ({a:.1f}-{b:.1f} s): " + ", ".join(
                f"{lab} {p:.4f}" for lab, p in zip(model.info.labels, probs)))
        print("window shown below:")
    print(pred.label)
    shares = pred.probabilities if isinstance(pred, ClassPrediction) else pred.class_share
    for label, p in shares.items():
        print(f"  {label}: {p:.4f}")
    for name, value in read_outs.items():
        print(f"{name}: {value}")
    if pred.in_distribution is False:
        print(f"warning: {OOD_MESSAGE} (OOD score {pred.ood_score:.2f}; above 1 is out)")
    return 0


def trusted_record(model) -> dict:
    """What a JSON output says of trust: the repos whose pickled weights were loaded (nothing when none were)."""
    return {"trusted": [model.info.id]} if model.info.trusted else {}


def _print_listing(rows: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    for kind, items in rows.items():
        print(f"{kind}:")
        for item in items:
            print("  " + ", ".join(f"{k}={v}" for k, v in item.items()))


def _method_params(pairs: Sequence[str]) -> dict[str, dict]:
    """`--param occlusion.window_width=16` pairs to {method: {name: value}} (validated later)."""
    out: dict[str, dict] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        method, dot, param = name.partition(".")
        if not (sep and dot and method and param):
            raise InputError(f"--param takes METHOD.NAME=VALUE, not '{pair}'.")
        out.setdefault(method, {})[param] = value
    return out


def evaluate_main(argv: Sequence[str] | None = None) -> int:
    """`xai_models.py evaluate`: methods x models scored on generated cases whose truth is known."""
    from workbench.evaluation.batch import (
        COLUMNS,
        evaluate,
        run_here,
        sanity_verdicts,
        summarise,
        table_csv,
    )
    from workbench.evaluation.cases import from_folder, from_npz, generated

    parser = argparse.ArgumentParser(prog="xai_models.py evaluate", description=(
        "Score methods on N generated cases of a task (known truth and counterfactual twins): one row per model x "
        "method. Localisation is averaged over the cases the model relies on (its label flips without the object); "
        "the others are excluded and counted."))
    parser.add_argument("--task", required=True, help="task id")
    parser.add_argument("--model", required=True, help="model id(s), comma-separated")
    parser.add_argument("--methods", default="gradcam,integrated_gradients", help="comma-separated method ids")
    parser.add_argument("--param", action="append", default=[], metavar="METHOD.NAME=VALUE")
    parser.add_argument("--n", type=int, default=50, help="number of cases (at most)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--folder", help="a folder of the task's files, each with <name>_mask.png (or <name>.json, a "
                                         "span) beside it when its truth is known, or for lung_xray a chest X-ray "
                                         "folder (NORMAL/, PNEUMONIA/): its held-out patients; default: generated "
                                         "cases")
    source.add_argument("--npz", help="a MedMNIST .npz file (labels, no masks: faithfulness and complexity only)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline", default="black", choices=EVAL_BASELINES,
                        help="what deletion and insertion put in place of the removed points: black, the input's "
                             "mean, a blurred copy, or (generated cases) each case's counterfactual twin")
    parser.add_argument("--sanity", action="store_true", help="add each model x method's randomisation check")
    parser.add_argument("--device", default="auto", help=DEVICE_HELP)
    parser.add_argument("--csv", required=True, help="output CSV; its rows so far are kept in CSV.rows.jsonl, so "
                                                     "a stopped run resumes")
    parser.add_argument("--json", action="store_true", help="print the table as JSON")
    parser.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                        help="run on Ray: alone, a local Ray on this machine; with an address (e.g. ray://head:10001 "
                             "or auto), that cluster. Same rows as a local run. Needs pip install -e .[ray]")
    parser.add_argument("--workers", type=int, default=None, help="Ray actors (default: one per CPU of the cluster)")
    args = parser.parse_args(argv)
    try:
        if args.n < 1:
            raise InputError("--n must be at least 1.")
        check_seed(args.seed)
        task = get_task(args.task)
        device = resolve_device(args.device)
        models = [load_model(m.strip(), device=device) for m in args.model.split(",") if m.strip()]
        for model in models:
            check_model_task(model, task)
        method_ids = [m.strip() for m in args.methods.split(",") if m.strip()]
        for model in models:
            check_methods(task, model, method_ids)
        params = _method_params(args.param)
        cases = (from_folder(task.id, args.folder, args.n, args.seed) if args.folder
                 else from_npz(task.id, args.npz, args.n) if args.npz else generated(task.id, args.n, args.seed))
        out = Path(args.csv)
        if not out.parent.is_dir():
            raise InputError(f"cannot write to {args.csv}: its folder does not exist.")
        if out.is_dir():
            raise InputError(f"cannot write to {args.csv}: it is a folder; give a file name, e.g. {out / 'table.csv'}.")
        if not os.access(out.parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
            raise InputError(f"cannot write to {args.csv}: permission denied.")  # before hours of work, not after
        runner = run_here
        if args.ray is not None:
            from workbench.evaluation.distributed import ray_runner

            runner = ray_runner(args.ray or None, args.workers)
        rows = evaluate(models, method_ids, cases, args.seed, params=params,
                        rows_path=out.with_name(out.name + ".rows.jsonl"), baseline=args.baseline, runner=runner,
                        progress=lambda k, total: print(f"\rcase {k}/{total}", end="", file=sys.stderr))
        print(file=sys.stderr)
        table = summarise(rows, sanity_verdicts(models, method_ids, cases, args.seed, params) if args.sanity else None)
    except (InputError, ModelError) as err:
        return fail(str(err))
    except OSError as err:  # the CSV or its rows file: a read-only folder, a full disk
        return fail(f"cannot write to {err.filename or args.csv}: {err.strerror or err}.")
    try:
        out.write_text(table_csv(table), newline="")
    except OSError as err:
        return fail(f"cannot write to {args.csv}: {err.strerror or err} (the rows are kept in "
                    f"{out.name}.rows.jsonl; run again to write the table).")
    if args.json:
        print(json.dumps(table))
    else:
        print(" ".join(f"{c:>14s}" for c in COLUMNS[1:]))
        for row in table:
            print(" ".join(f"{'-' if row[c] is None else row[c]:>14}" for c in COLUMNS[1:]) + f"  {row['model']}")
        print(f"-> {out}")
    return 0


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
    parser = _parser("Explain a model's prediction with several methods (or: xai_models.py evaluate --help, to "
                     "score methods on generated cases; xai_models.py reproduce --help, to check a report).")
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
    parser.add_argument("--sanity", action="store_true",
                        help="also run the model-randomisation check on each map (the method again on copies of "
                             "the model with its layers randomised from the top; passes when the map changes)")
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
    params = _method_params(args.param)
    task, model, raw, x, windows = _setup(args)
    picture = task.picture(raw, model.info.input)
    truth = None
    if args.truth:
        if windows is not None and windows.explained != 0:
            raise InputError("ground truth is given from the clip's start, for its first window; this clip's "
                             f"explained window is {windows.explained}: add --window 0.")
        truth = load_truth(task, args.truth, raw).as_mask(model.info.input.size, picture.axes)
    target = target_for(model, predict(model, x), args.target, args.component)
    method_ids = [m.strip() for m in args.methods.split(",") if m.strip()]
    explanations = run_methods(task, model, x, method_ids, target, args.seed, params)
    return ExplainRun(task, model, windows, picture, x, truth, explanations)


def score_explanations(args: argparse.Namespace, run: ExplainRun) -> None:
    """Each map's curves, scores and (with --sanity) randomisation check, into `run.curves` and `run.records`."""
    run.curves = [faithfulness_curves(e, run.model, run.x) for e in run.explanations]
    run.records = [{**e.summary(), "scores": score_explanation(e, run.model, run.x, run.truth, c)}
                   for e, c in zip(run.explanations, run.curves)]
    if args.sanity:
        from workbench.metrics.sanity import model_randomisation

        for record, e in zip(run.records, run.explanations):
            record["sanity"] = model_randomisation(run.model, run.x, e, seed=args.seed)


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
            ", randomisation check " + ("passed" if row["sanity_passed"] else "FAILED (the map ignores the model)"))
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
    from workbench.comparison import zip_files
    from workbench.io.files import read_file
    from workbench.report import Analysis, build_report, report_files, report_pdf

    model = run.model
    analysis = Analysis(run.task.id, Path(args.input).name, read_file(args.input),
                        None if run.windows is None else run.windows.explained, args.target, args.component,
                        run.explanations, [model])
    sanity = {(model.info.id, r["method"]): bool(r["sanity"]["passed"]) for r in run.records if "sanity" in r}
    report = build_report(analysis, [r["scores"] for r in run.records], {model.info.id: run.truth}, sanity,
                          run.curves)
    if args.zip:
        Path(args.zip).write_bytes(zip_files(report_files(report), deflate=True))
    if args.report:
        Path(args.report).write_bytes(report_pdf(report))


def reproduce_main(argv: Sequence[str]) -> int:
    """`xai_models.py reproduce REPORT --input FILE`: every map of a report made again and compared."""
    from workbench.io.files import read_file
    from workbench.report import read_report, reproduce

    parser = argparse.ArgumentParser(prog="xai_models.py reproduce", description=(
        "Make every map of a report again from its input and print each one's largest difference from the "
        "recorded map (0 on the same machine: every seed is recorded)."))
    parser.add_argument("report", help="a report ZIP, or its manifest.json (maps/ beside it when present)")
    parser.add_argument("--input", required=True, help="the input file the report was made from")
    parser.add_argument("--json", action="store_true", help='print {"max_difference": ..., "maps": [...]}')
    parser.add_argument("--trust-pickle", action="store_true",
                        help="load the pickled weights of the repos the report marks trusted (they can run code)")
    parser.add_argument("--device", default="auto", help=DEVICE_HELP + "; a map made on another device than the "
                        "report's is compared within a tolerance, not bit for bit")
    args = parser.parse_args(argv)
    try:
        manifest, maps = read_report(args.report)
        result = reproduce(manifest, read_file(args.input), maps, args.trust_pickle, resolve_device(args.device))
    except (InputError, ModelError) as err:
        return fail(str(err))
    if args.json:
        print(json.dumps(result))
    else:
        for m in result["maps"]:
            print(f"{m['model']} {m['method']}: largest difference {m['max_difference']:.3g} "
                  f"(against the recorded {m['compared_with']})")
        if result.get("tolerance") is not None:
            print(f"note: made on {result['devices']['now']}, recorded on {result['devices']['recorded']}: GPU "
                  f"kernels are not bit-equal to CPU ones, so a map agrees within {result['tolerance']:g} of its "
                  "largest |value|, not exactly.")
    return 0
