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
