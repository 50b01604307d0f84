"""Where a benchmark writes its JSON: a measurement to benchmarks/results/ (what docs/benchmarks.md quotes), a
`--quick` smoke run to the temporary folder, so that a smoke run never replaces a measured result."""

from __future__ import annotations

import tempfile
from pathlib import Path

from workbench.paths import ROOT

RESULTS = ROOT / "benchmarks" / "results"


def output_path(out: str | Path | None, name: str, quick: bool = False) -> Path:
    """`out` when given; else benchmarks/results/NAME, or for a quick run NAME's stem + `_quick.json` in the
    temporary folder. The parent folder is made."""
    path = Path(out) if out else Path(tempfile.gettempdir()) / f"{Path(name).stem}_quick.json" if quick else (
        RESULTS / name)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
