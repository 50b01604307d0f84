"""`inference.py`: list what is registered, and predict."""

from __future__ import annotations

import json
from collections.abc import Sequence

from workbench.cli.common import base_parser, setup, trusted_record
from workbench.errors import InputError, ModelError, fail
from workbench.methods import METHODS
from workbench.models import OOD_MESSAGE, ClassPrediction, list_models, predict
from workbench.tasks import TASKS


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


def predict_main(argv: Sequence[str] | None = None) -> int:
    parser = base_parser("Predict with a workbench model.")
    parser.add_argument("--list", action="store_true", help="list tasks, models and methods")
    args = parser.parse_args(argv)
    try:
        if args.list:
            _print_listing(listing(), args.json)
            return 0
        task, model, _raw, x, windows, _clip = setup(args)
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
        print(f"clip: {windows.label} (decided by window {windows.deciding} of {len(windows.spans)}: "
              f"{windows.reason}; rule: {windows.rule})")
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


def _print_listing(rows: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    for kind, items in rows.items():
        print(f"{kind}:")
        for item in items:
            print("  " + ", ".join(f"{k}={v}" for k, v in item.items()))
