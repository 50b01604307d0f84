"""The one output of the per-baseline benchmarks (deletion_baselines.py, scattered_edits.py): a table with a row
per model and baseline, printed, and the results written as JSON."""

import json
from pathlib import Path

Column = tuple[str, str, str]  # header, key in a baseline's values (or the model's result), format spec


def report(results: list[dict], columns: list[Column], out: str) -> None:
    """Print one row per model x baseline (each value right-aligned under its header), then write `results`."""
    widths = [max(len(header), 8) for header, _, _ in columns]
    print(f"{'model':36} {'baseline':8} " + " ".join(f"{h:>{w}}" for (h, _, _), w in zip(columns, widths)))
    for r in results:
        for b, values in r["baselines"].items():
            cells = [format(values.get(key, r.get(key)), spec) for _, key, spec in columns]
            print(f"{r['model']:36} {b:8} " + " ".join(f"{c:>{w}}" for c, w in zip(cells, widths)))
    Path(out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"-> {out}")
