"""What the command lines share: the task/model/input arguments, loading them, `--param` pairs and the trust
record every JSON output carries."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from workbench.device import resolve_device
from workbench.errors import InputError
from workbench.models import load_model
from workbench.service import check_model_task, load_input, prepare_input
from workbench.tasks import TASKS, get_task

DEVICE_HELP = ("where PyTorch models run: auto (a CUDA GPU when torch sees one, else the CPU), cpu, cuda or cuda:N; "
               "Keras models use TensorFlow's own placement")


def base_parser(description: str) -> argparse.ArgumentParser:
    """The arguments predict and explain share: task, model, revision, trust, device, input, window, --json."""
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


def setup(args: argparse.Namespace):
    """Validated task, loaded model, raw (audio: the window) and preprocessed input, window scores (audio) and the
    whole decoded input (what a ground-truth span is measured from); notes go to stderr."""
    for name in ("task", "input"):
        if not getattr(args, name):
            raise InputError(f"--{name} is required.")
    task = get_task(args.task)
    if not (args.model or task.default_model):
        raise InputError("--model is required.")
    model = load_model(args.model or task.default_model, args.revision, args.trust_pickle,
                       device=resolve_device(args.device))
    check_model_task(model, task)
    clip, notes = load_input(task, args.input)
    raw, x, windows = prepare_input(task, model, clip, args.window)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return task, model, raw, x, windows, clip


def trusted_record(model) -> dict:
    """What a JSON output says of trust: the repos whose pickled weights were loaded (nothing when none were)."""
    return {"trusted": [model.info.id]} if model.info.trusted else {}


def method_params(pairs: Sequence[str]) -> dict[str, dict]:
    """`--param occlusion.window_width=16` pairs to {method: {name: value}} (validated later)."""
    out: dict[str, dict] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        method, dot, param = name.partition(".")
        if not (sep and dot and method and param):
            raise InputError(f"--param takes METHOD.NAME=VALUE, not '{pair}'.")
        out.setdefault(method, {})[param] = value
    return out
