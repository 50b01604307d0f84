"""How long batch evaluation takes: Grad-CAM with every localisation, faithfulness and complexity metric.

  python benchmarks/bench_evaluation.py [--model ID] [--method ID] [--n N] [--out FILE] [--quick]

Times, on N held-out generated cases (default 200 lung phantoms): the whole evaluation (`evaluation.
explanations.evaluate`, rows not stored), the explanations alone, the localisation and complexity metrics
on all maps at once (vectorised), and deletion plus insertion (their 2 x 21 model passes a map). Target:
the whole evaluation of Grad-CAM on 200 phantoms within 60 s. Prints a table, writes JSON (default
benchmarks/results/evaluation.json; --quick: a smoke run on 3 phantoms, written to the temporary folder).
"""

import argparse
import json
import time

import numpy as np
from outputs import output_path

from workbench.evaluation.batch import LOCALISATION, evaluate, prepare
from workbench.evaluation.cases import generated
from workbench.methods import METHODS
from workbench.metrics import METRICS
from workbench.models import load_model


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="lung_xray-resnet-compact")
    parser.add_argument("--method", default="gradcam")
    parser.add_argument("--n", type=int, default=None, help="cases (default 200; --quick: 3)")
    parser.add_argument("--out", default=None, help="default benchmarks/results/evaluation.json")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 3 cases")
    args = parser.parse_args(argv)
    args.n = args.n or (3 if args.quick else 200)
    model = load_model(args.model)
    source = generated(model.info.task, args.n)
    total = seconds(lambda: evaluate([model], [args.method], source))
    cases = [prepare(model, c) for c in source.cases()]
    explanations = []
    explain = seconds(lambda: explanations.extend(METHODS[args.method].explain(model, c.x, c.target) for c in cases))
    maps = np.stack([e.map for e in explanations])
    truths = np.stack([c.truth for c in cases])
    localisation = seconds(lambda: [METRICS[m].score_maps(maps, truths) for m in (*LOCALISATION, "sparseness")])
    faithfulness = seconds(lambda: [METRICS[m].score(e, model=model, x=c.x) for e, c in zip(explanations, cases)
                                    for m in ("deletion_auc", "insertion_auc")])
    result = {"model": args.model, "method": args.method, "n": args.n, "evaluate_seconds": round(total, 2),
              "explanations_seconds": round(explain, 2), "localisation_and_complexity_seconds": round(localisation, 2),
              "deletion_insertion_seconds": round(faithfulness, 2), "target_seconds": 60,
              "meets_target": total <= 60}
    out = output_path(args.out, "evaluation.json", args.quick)
    out.write_text(json.dumps(result, indent=2) + "\n")
    for key, value in result.items():
        print(f"{key:38s} {value}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
