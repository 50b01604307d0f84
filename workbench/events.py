"""Counts of this process's costly events: inputs decoded, model passes, PNGs encoded, figures drawn.

What an interaction costs, counted where it happens rather than timed: a benchmark or a test reads the counts
before and after (the app logs them per rerun at DEBUG), so "this slider computes nothing" is checked by a count.
"""

from __future__ import annotations

import threading
from collections import Counter

EVENTS = ("decodes", "passes", "pngs", "figures")
_counts: Counter[str] = Counter()
_lock = threading.Lock()


def count(event: str, n: int = 1) -> None:
    with _lock:
        _counts[event] += n


def snapshot() -> dict[str, int]:
    """Every event's count so far (all sessions of this process)."""
    with _lock:
        return {e: _counts[e] for e in EVENTS}


def since(before: dict[str, int]) -> dict[str, int]:
    """What happened after `before` (a snapshot)."""
    now = snapshot()
    return {e: now[e] - before[e] for e in EVENTS}
