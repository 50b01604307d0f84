"""Command line for training and evaluating the bundled models.

  python -m workbench.training train --out models/lung_xray-resnet-compact
  python -m workbench.training evaluate --model lung_xray-resnet-compact --n 1000
  python -m workbench.training ood --model models/lung_xray-resnet-compact
  python -m workbench.training ood-evaluate --model lung_xray-resnet-compact --n 300
"""

from __future__ import annotations

import argparse
import json

from workbench.training.classifier import evaluate_lung_model, train_lung_model, write_model_card
from workbench.training.ood import evaluate_feature_stats, write_feature_stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    tr = sub.add_parser("train", help="train the lung X-ray model (writes its OOD statistics too)")
    tr.add_argument("--out", required=True)
    tr.add_argument("--n-train", type=int, default=8000)
    tr.add_argument("--epochs", type=int, default=14)
    tr.add_argument("--seed", type=int, default=0)
    ev = sub.add_parser("evaluate", help="held-out accuracy of a model")
    ev.add_argument("--model", required=True)
    ev.add_argument("--n", type=int, default=1000)
    ood = sub.add_parser("ood", help="(re)compute a model folder's out-of-distribution statistics")
    ood.add_argument("--model", required=True, help="model folder")
    ood.add_argument("--seed", type=int, default=0)
    ood_ev = sub.add_parser("ood-evaluate", help="held-out phantoms in, non-phantom probes out?")
    ood_ev.add_argument("--model", required=True)
    ood_ev.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    if args.cmd == "train":
        summary = train_lung_model(args.out, n_train=args.n_train, epochs=args.epochs, seed=args.seed)
        evaluation = evaluate_lung_model(args.out)
        write_model_card(args.out, summary, evaluation)
        print(json.dumps({"training": summary, "held_out": evaluation}, indent=2))
    elif args.cmd == "evaluate":
        print(json.dumps(evaluate_lung_model(args.model, n=args.n), indent=2))
    elif args.cmd == "ood-evaluate":
        print(json.dumps(evaluate_feature_stats(args.model, n=args.n), indent=2))
    else:
        stats = write_feature_stats(args.model, seed=args.seed)
        print(json.dumps({"layers": stats.layers, "threshold": stats.threshold, "n_fit": stats.n_fit,
                          "n_held_out": stats.n_held_out}, indent=2))


if __name__ == "__main__":
    main()
