"""Cooperative interruption between two batches of model passes.

A long explanation is hundreds of batches. The app's Stop button, a closed browser tab and a newer rerun all ask
the running script to end, but Streamlit can only act on that request when the script calls into it. The caller
installs a check for its thread (`interruptible`); the model adapter calls `checkpoint()` after every batch and
while it waits for a shared model's lock, so a stopped run ends after at most one more batch and never holds or
queues for the lock afterwards."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

_local = threading.local()


@contextlib.contextmanager
def interruptible(check: Callable[[], None]) -> Iterator[None]:
    """Within the block, `checkpoint()` on this thread calls `check`, which raises to end the work."""
    before = getattr(_local, "check", None)
    _local.check = check
    try:
        yield
    finally:
        _local.check = before


def checkpoint() -> None:
    """Raise here if this thread's work was asked to end (no-op when no check is installed)."""
    check = getattr(_local, "check", None)
    if check is not None:
        check()


@contextlib.contextmanager
def also(extra: Callable[[Callable[[], None]], None]) -> Iterator[None]:
    """Within the block, `checkpoint()` runs this thread's check and then `extra(check)`: extra work at every batch
    boundary (a slow job giving way to a quick one) that can itself call the check while it waits."""
    before = getattr(_local, "check", None)
    outer = before or (lambda: None)

    def chained() -> None:
        outer()
        if not getattr(_local, "shared", 0):  # never pause while holding what other threads wait for
            extra(outer)

    _local.check = chained
    try:
        yield
    finally:
        _local.check = before


def holding_shared(change: int) -> None:
    """A shared lock (a model's) taken (+1) or let go (-1) by this thread: `also`'s extra work waits for none."""
    _local.shared = getattr(_local, "shared", 0) + change
