"""A stopped run (the app's Stop, a closed tab, a newer rerun) ends at the next batch, leaves the shared model as
it found it, and a run stopped while queued for the model's lock leaves the queue."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from workbench.interrupt import checkpoint, interruptible
from workbench.methods import METHODS
from workbench.models import Target

OCCLUSION = {"window_height": 8, "window_width": 8, "stride_height": 2, "stride_width": 2}  # 13 x 13 positions


class Stopped(Exception):
    """What Streamlit's StopException is to the app."""


def stop_requested_after(batches: int):
    """A check whose stop request arrives after `batches` checkpoints have passed."""
    calls = 0

    def check() -> None:
        nonlocal calls
        calls += 1
        if calls > batches:
            raise Stopped

    return check


def test_checkpoint_calls_the_check_of_its_own_thread_only():
    seen = []
    with interruptible(lambda: seen.append(threading.get_ident())):
        checkpoint()
        other = threading.Thread(target=checkpoint)
        other.start()
        other.join()
    checkpoint()
    assert seen == [threading.get_ident()]


def test_a_stopped_method_ends_at_the_next_batch_and_leaves_the_model_as_it_was(tiny, tiny_input):
    tiny.batch_size = 4
    whole = METHODS["occlusion"].explain(tiny, tiny_input, Target(1), OCCLUSION).map
    flags = [p.requires_grad for p in tiny.module.parameters()]
    ran, at_stop = [], []
    counter = tiny.module.register_forward_pre_hook(lambda *_: ran.append(1))
    stop_after = stop_requested_after(8)  # checkpoints: one after each batch, one as it takes the model's lock

    def check() -> None:
        try:
            stop_after()
        except Stopped:
            at_stop.append(len(ran))
            raise

    with pytest.raises(Stopped), interruptible(check):
        METHODS["occlusion"].explain(tiny, tiny_input, Target(1), OCCLUSION)
    counter.remove()
    assert 3 <= len(ran) == at_stop[0] < 43, "no batch runs once the stop is asked for (170 passes = 43 batches)"
    assert all(not m._forward_hooks and not m._backward_hooks for m in tiny.module.modules()), "hooks removed"
    assert [p.requires_grad for p in tiny.module.parameters()] == flags
    taker = threading.Thread(target=lambda: tiny.lock.acquire() and tiny.lock.release())
    taker.start()
    taker.join(timeout=10)
    assert not taker.is_alive() and tiny.lock.waiting() == 0, "the lock is free"
    np.testing.assert_array_equal(METHODS["occlusion"].explain(tiny, tiny_input, Target(1), OCCLUSION).map, whole)


def test_a_run_stopped_while_queued_for_the_lock_leaves_the_queue(tiny, tiny_input):
    held, release = threading.Event(), threading.Event()
    stop = threading.Event()
    outcome: list[BaseException | None] = []

    def holder() -> None:  # another session's long run
        with tiny.lock:
            held.set()
            release.wait(timeout=30)

    def queued() -> None:
        def check() -> None:
            if stop.is_set():
                raise Stopped
        try:
            with interruptible(check):
                tiny.predict(tiny_input)
            outcome.append(None)
        except Stopped as err:
            outcome.append(err)

    threads = [threading.Thread(target=holder), threading.Thread(target=queued)]
    threads[0].start()
    held.wait(timeout=10)
    threads[1].start()
    for _ in range(1000):  # up to 10 s: under the suite's load a new thread can take a while to run
        if tiny.lock.waiting() == 1:
            break
        time.sleep(0.01)
    assert tiny.lock.waiting() == 1, "the second run waits for the lock"
    stop.set()
    threads[1].join(timeout=10)
    assert not threads[1].is_alive() and isinstance(outcome[0], Stopped), "it ended without the lock"
    assert tiny.lock.waiting() == 0
    release.set()
    threads[0].join(timeout=10)
    assert tiny.predict(tiny_input).shape == (1, 2), "the next run gets the lock"
