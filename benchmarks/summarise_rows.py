"""An evaluation's stored rows summarised again: means with their 95% bootstrap intervals and the best-or-tied marks.

  python benchmarks/summarise_rows.py ROWS.jsonl [ROWS.jsonl ...] [--metrics pointing_game,rank_accuracy]
                                      [--out FILE]

`xai_models.py evaluate --csv X.csv` keeps every case's row in `X.csv.rows.jsonl`; the summary of those rows (the
same `summarise` the CLI and the app call) gives each mean its interval without scoring anything again, so tables
measured before intervals existed get them from their own cases. Rows of several files are pooled (one run split
over several commands). Prints one line per model x method, writes the summary as JSON (default
benchmarks/results/summarised_rows.json).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from workbench.evaluation.batch import METRIC_COLUMNS, read_rows, summarise
from workbench.paths import ROOT


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="+", help="rows files written by xai_models.py evaluate")
    parser.add_argument("--metrics", default="pointing_game,rank_accuracy", help="the metrics to print")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "summarised_rows.json"))
    args = parser.parse_args(argv)
    rows = [row for path in args.rows for row in read_rows(Path(path)).values()]
    table = summarise(rows)
    metrics = [m for m in args.metrics.split(",") if m in METRIC_COLUMNS]
    for r in table:
        cells = ["-" if r[m] is None else f"{m} {r[m]:.2f} [{r[f'{m}_lo']:.2f}, {r[f'{m}_hi']:.2f}]"
                 f"{'*' if m in r['best_or_tied'].split() else ''}" for m in metrics]
        print(f"{r['model']:40s} {r['method']:22s} n={r['cases'] - r['excluded']:<4d} " + "  ".join(cells))
    Path(args.out).write_text(json.dumps({"rows": args.rows, "table": table}, indent=1) + "\n")
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
