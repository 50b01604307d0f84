"""`xai_models.py evaluate` (methods x models scored on cases with known truth) and `xai_models.py reproduce`
(a report's maps made again and compared)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from workbench.cli.common import DEVICE_HELP, method_params
from workbench.device import resolve_device
from workbench.errors import InputError, ModelError, fail
from workbench.evaluation.cases import EVAL_BASELINES
from workbench.methods import BASELINE_METHODS
from workbench.metrics.sanity import DEFAULT_CHECK, SANITY_CHECKS
from workbench.models import load_model
from workbench.service import check_methods, check_model_task, check_seed
from workbench.tasks import get_task


def evaluate_main(argv: Sequence[str] | None = None) -> int:
    """`xai_models.py evaluate`: methods x models scored on generated cases whose truth is known."""
    from workbench.evaluation.batch import (
        evaluate,
        run_here,
        sanity_verdicts,
        stability_scores,
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
    parser.add_argument("--no-baselines", action="store_true", help="leave out the trivial baselines (random, "
                        "centre, intensity, edges; no model pass each), whose rows the lift columns are measured "
                        "against and which are added by default")
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
    parser.add_argument("--sanity", nargs="?", const=DEFAULT_CHECK, default=None, choices=SANITY_CHECKS.ids(),
                        help="add each model x method's model-randomisation verdict; alone the cascading check (mprt), "
                             "or name one: mprt, smprt (smooth: maps averaged over noisy inputs) or emprt (efficient: "
                             "the map's entropy rises once the model is random)")
    parser.add_argument("--stability", type=int, default=0, metavar="K",
                        help="add each model x method's stability: the mean Spearman correlation between the maps "
                             "made with K seeds (the run's and the next ones), averaged over the cases. Costs K runs "
                             "of each stochastic method (LIME, Kernel SHAP, SmoothGrad, ...) per case; a method that "
                             "draws no random numbers is 1 without a run. Default: not computed")
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
        if args.stability == 1 or args.stability < 0:
            raise InputError("--stability compares the maps of K seeds: K must be 2 or more (0: not computed).")
        check_seed(args.seed)
        task = get_task(args.task)
        device = resolve_device(args.device)
        models = [load_model(m.strip(), device=device) for m in args.model.split(",") if m.strip()]
        for model in models:
            check_model_task(model, task)
        method_ids = [m.strip() for m in args.methods.split(",") if m.strip()]
        if not args.no_baselines:
            method_ids += [m for m in BASELINE_METHODS if m not in method_ids]
        for model in models:
            check_methods(task, model, method_ids)
        params = method_params(args.param)
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
        table = summarise(rows, sanity_verdicts(models, method_ids, cases, args.seed, params, args.sanity)
                          if args.sanity else None,
                          stability_scores(models, method_ids, cases, args.stability, args.seed, params)
                          if args.stability else None)
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
        print_table(table)
        print(f"-> {out} (every column, the lifts over the baselines among them)")
    return 0


def print_table(table: list[dict]) -> None:
    """Per model, each method's means with their 95% intervals; * marks the best of a metric and every method not
    clearly worse than it (a paired bootstrap). With --sanity, a last column says whether the method passes or fails
    the check: the verdict, in words, not only in the CSV."""
    from workbench.evaluation.batch import METRIC_COLUMNS

    for model in dict.fromkeys(r["model"] for r in table):
        rows = [r for r in table if r["model"] == model]
        metrics = [m for m in METRIC_COLUMNS if any(r[m] is not None for r in rows)]
        sanity = any(r["sanity"] is not None for r in rows)
        print(f"{model} (mean [95% interval]; * best or not clearly worse)")
        print(f"{'method':>22s} " + " ".join(f"{m:>22s}" for m in metrics) + (f" {'sanity':>7s}" if sanity else ""))
        for r in rows:
            cells = ["-" if r[m] is None else f"{r[m]:.3f} [{r[f'{m}_lo']:.2f},{r[f'{m}_hi']:.2f}]"
                     f"{'*' if m in r['best_or_tied'].split() else ' '}" for m in metrics]
            verdict = "-" if r["sanity"] is None else "passes" if r["sanity"] else "fails"
            print(f"{r['method']:>22s} " + " ".join(f"{c:>22s}" for c in cells) + (f" {verdict:>7s}" if sanity else ""))


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
