"""Fair shares of a shared server's cores: at most N jobs compute at once, the rest wait in arrival order.

A job is one unit of model work a session asked for (an explanation, an evaluation run). Streamlit runs one script
at a time per session, and a new Run (or Stop) ends the running one at its next batch (workbench.interrupt), so a
session holds at most one job. The queue is for the server: with ten sessions on two cores, each job still gets
whole cores instead of a tenth of them, and a waiting session is told how many runs are ahead of it.

Slow jobs (estimated above `CHEAP_SECONDS`) may hold at most N - 1 slots when N >= 2, so a cheap request never
waits behind long ones for more than a slot's turn. Within each kind the order is arrival order. A job waiting
for its slot polls the caller's interruption check, so Stop (or a closed tab) takes it out of the queue.

A slot is not a core: a model pass uses every core, so a slow job running beside a quick one would still take half
the machine from it. A running slow job therefore gives way at its batch boundaries (the adapter's `checkpoint()`)
while a cheap job runs or waits, but for at most `GIVE_WAY` times the time it has run: a quick map is computed at
nearly full speed, and a slow job still gets at least a third of the machine, so it ends.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from workbench.interrupt import also, checkpoint

log = logging.getLogger(__name__)
CHEAP_SECONDS = 2.0  # a job estimated at most this long is cheap: it may use the slot slow jobs leave free
GIVE_WAY = 2.0  # a slow job pauses for cheap ones at most this many times the time it has run


@dataclass(eq=False)
class _Ticket:
    slow: bool
    started: float = 0.0
    paused: float = 0.0  # seconds this (slow) job has paused for cheap ones


class JobQueue:
    poll_seconds = 0.2  # how often a waiting job checks whether it was stopped

    def __init__(self, slots: int) -> None:
        self.slots = max(1, int(slots))
        self.slow_slots = max(1, self.slots - 1)
        self._changed = threading.Condition(threading.Lock())
        self._queue: collections.deque[_Ticket] = collections.deque()
        self._running = 0
        self._running_slow = 0

    def _may_start(self, ticket: _Ticket) -> bool:
        return self._running < self.slots and (not ticket.slow or self._running_slow < self.slow_slots)

    def _next(self) -> _Ticket | None:
        """The first waiter, in arrival order, that a free slot can take now."""
        return next((t for t in self._queue if self._may_start(t)), None)

    def _cheap_active(self) -> bool:
        return self._running > self._running_slow or any(not t.slow for t in self._queue)

    def _give_way(self, job: _Ticket, check: Callable[[], None]) -> None:
        """At a slow job's batch boundary: pause while a cheap job runs or waits, within the `GIVE_WAY` share.
        `check` (the caller's Stop) is called while paused."""
        start = time.perf_counter()
        try:
            while True:
                with self._changed:
                    now = time.perf_counter()
                    ran = now - job.started - job.paused - (now - start)
                    if not self._cheap_active() or job.paused + (now - start) >= GIVE_WAY * ran:
                        return
                    self._changed.wait(self.poll_seconds)
                check()
        finally:
            job.paused += time.perf_counter() - start

    def state(self) -> tuple[int, int]:
        """(jobs running, jobs waiting)."""
        with self._changed:
            return self._running, len(self._queue)

    @contextlib.contextmanager
    def slot(self, slow: bool, on_wait: Callable[[int], None] | None = None) -> Iterator[None]:
        """Hold one of the server's slots for the block. While waiting, `on_wait(n)` hears how many runs are ahead
        (running, or queued before this one) whenever that number changes."""
        ticket, arrived = _Ticket(slow), time.perf_counter()
        with self._changed:
            self._queue.append(ticket)
            behind = self._running + len(self._queue) - 1  # runs ahead on arrival
        told = None
        try:
            while True:
                with self._changed:
                    if self._next() is ticket:
                        self._queue.remove(ticket)
                        self._running += 1
                        self._running_slow += slow
                        break
                    ahead = self._running + self._queue.index(ticket)
                if on_wait is not None and ahead != told:
                    on_wait(ahead)
                    told = ahead
                checkpoint()  # a stopped run leaves the queue instead of waiting its turn
                with self._changed:
                    if self._next() is not ticket:
                        self._changed.wait(self.poll_seconds)
        except BaseException:
            with self._changed:
                self._queue.remove(ticket)
                self._changed.notify_all()
            raise
        started = ticket.started = time.perf_counter()
        try:
            if slow:
                with also(lambda check: self._give_way(ticket, check)):
                    yield
            else:
                yield
        finally:
            with self._changed:
                self._running -= 1
                self._running_slow -= slow
                self._changed.notify_all()
            # one line a job, at INFO (WORKBENCH_LOG_LEVEL=INFO): the load benchmark reads the waits from it
            log.info("job %s: waited %.2f s behind %d run(s), ran %.2f s (%.2f s of it giving way)",
                     "slow" if slow else "cheap", started - arrived, behind, time.perf_counter() - started,
                     ticket.paused)
