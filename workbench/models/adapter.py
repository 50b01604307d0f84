"""The framework-neutral model interface every method, metric and view is written against.

Arrays in and out are numpy; batches are N x C x H x W float32 in the model's input scale.
A fair lock serialises use (a cached model is shared by every app session), and the adapter counts
the forward and backward passes it runs, per item, so an explanation reports what it really cost.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from workbench import events
from workbench.errors import InputError
from workbench.interrupt import checkpoint, holding_shared
from workbench.models.config import ModelInfo
from workbench.models.ood import FeatureStats, pooled
from workbench.models.target import Target


@dataclass
class PassCount:
    """Forward and backward passes, one per item of each batch a model ran on."""

    forward: int = 0
    backward: int = 0
    on_change: Callable[[PassCount], None] | None = field(default=None, repr=False, compare=False)

    @property
    def passes(self) -> int:
        return self.forward + self.backward


def random_like(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """Gaussian weights with the tensor's own spread (its standard deviation, or its mean magnitude when
    all entries are equal, as a batch-norm scale of ones is): scale kept, everything learned gone."""
    spread = float(weights.std()) or float(np.abs(weights).mean()) or 0.05
    return rng.normal(0.0, spread, weights.shape).astype(weights.dtype)


def randomised_revision(info: ModelInfo, layers: Sequence[str], seed: int) -> ModelInfo:
    """The copy's identity: its own revision, so no cache ever mixes its maps with the model's."""
    return replace(info, revision=f"{info.revision}+random{len(layers)}@{seed}")


class FairLock:
    """A reentrant lock granted in the order it was asked for. Every session shares a cached model, and each
    explanation takes its lock many times (a batch at a time); with a plain RLock the thread that just released it
    takes it straight back while the woken waiter is still being scheduled, so under load one session can wait
    behind another's whole run (benchmarks/bench_load.py measured a 52 s p95 with ten sessions)."""

    poll_seconds = 0.2  # how often a queued thread asks whether its run was stopped

    def __init__(self) -> None:
        self._changed = threading.Condition(threading.Lock())
        self._queue: collections.deque[int] = collections.deque()
        self._owner: int | None = None
        self._depth = 0
        self._waits = threading.local()

    def waited_seconds(self) -> float:
        """Seconds this thread has spent queued for the lock behind other threads, so far: a run's time less its
        waits is the time of its own work (`workbench.service.PassRates`)."""
        return getattr(self._waits, "seconds", 0.0)

    def acquire(self) -> bool:
        me = threading.get_ident()
        with self._changed:
            if self._owner == me:
                self._depth += 1
                return True
        checkpoint()  # a batch boundary outside the lock: where a slow job gives way to a quick one (jobs.py)
        with self._changed:
            self._queue.append(me)
            holding_shared(+1)  # queued or owning: no pausing for other jobs until released
            start = time.perf_counter()
            try:
                while self._owner is not None or self._queue[0] != me:
                    self._changed.wait(self.poll_seconds)
                    checkpoint()  # a stopped run leaves the queue instead of waiting its turn
            except BaseException:  # interrupted while queued: leave the queue, or every later thread waits forever
                holding_shared(-1)
                self._queue.remove(me)
                self._changed.notify_all()
                raise
            finally:
                self._waits.seconds = self.waited_seconds() + time.perf_counter() - start
            self._queue.popleft()
            self._owner, self._depth = me, 1
            return True

    def release(self) -> None:
        with self._changed:
            if self._owner != threading.get_ident():
                raise RuntimeError("release of a lock this thread does not hold")
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                holding_shared(-1)
                self._changed.notify_all()

    def waiting(self) -> int:
        """Threads queued for the lock (for tests and diagnostics)."""
        with self._changed:
            return len(self._queue)

    def __enter__(self) -> FairLock:
        self.acquire()
        return self

    def __exit__(self, *_exc) -> None:
        self.release()


class ModelAdapter(ABC):
    batch_size = 32
    device = "cpu"  # where its passes run (`workbench.device`); maps come back to the CPU whatever it is

    def __init__(self, info: ModelInfo) -> None:
        self.info = info
        self.lock = FairLock()
        self._counters = threading.local()  # per thread: two sessions never mix their counts
        self.total = PassCount()  # every pass run on this adapter, by any thread (counted under its lock)

    def on(self, device: str) -> ModelAdapter:
        """Run on `device` (a resolved name, `workbench.device.resolve_device`). Frameworks that place their
        models themselves (TensorFlow) keep their own placement and say so in `device`."""
        return self

    @property
    def key(self) -> str:
        """Identity for caches: model id and revision."""
        return f"{self.info.id}@{self.info.revision}"

    @contextlib.contextmanager
    def counting(self, on_change: Callable[[PassCount], None] | None = None) -> Iterator[PassCount]:
        """Count the passes this thread runs inside the block (blocks may nest); `on_change` is called
        after each batch is counted (progress bars)."""
        stack = self._counters.__dict__.setdefault("stack", [])
        count = PassCount(on_change=on_change)
        stack.append(count)
        try:
            yield count
        finally:  # by identity: an enclosing block may hold an equal count (a rerun of the same method)
            del stack[next(i for i, c in enumerate(stack) if c is count)]

    def _count(self, forward: int = 0, backward: int = 0) -> None:
        events.count("passes", forward + backward)
        self.total.forward += forward
        self.total.backward += backward
        for count in getattr(self._counters, "stack", ()):
            count.forward += forward
            count.backward += backward
            if count.on_change is not None:
                count.on_change(count)
        checkpoint()

    # -- what each framework implements -------------------------------------------------------

    @abstractmethod
    def outputs_and_activations(self, batch: np.ndarray,
                                layers: Sequence[str]) -> tuple[np.ndarray, list[np.ndarray]]:
        """The head's raw output (N x K as `info.output` says, or N x K x H x W logits) and the
        activations at each of `layers`, from one forward pass per chunk, no gradients."""

    @abstractmethod
    def target_scores(self, batch: np.ndarray, target: Target) -> np.ndarray:
        """The explained score of each item (see models/target.py): shape N."""

    @abstractmethod
    def input_gradients(self, batch: np.ndarray, target: Target) -> np.ndarray:
        """d score / d input, same shape as the batch."""

    @abstractmethod
    def layer_gradients(self, batch: np.ndarray, target: Target,
                        layers: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each of `layers`: its activations A and d score / d A, both N x C' x h x w, all from
        one forward and one backward pass per chunk (NormGrad over several layers costs one pass)."""

    @abstractmethod
    def layers(self) -> list[str]:
        """Layer names usable as CAM targets, the config's `target_layer` first."""

    @abstractmethod
    def weighted_layers(self) -> list[str]:
        """Layers with trainable weights, from the output back to the input (the order in which the
        model-randomisation check destroys them)."""

    @abstractmethod
    def randomised(self, layers: Sequence[str], seed: int) -> ModelAdapter:
        """A copy of the model whose `layers` have random weights (see `random_like`). The copy is new:
        this adapter, which other sessions may share through a cache, is left untouched."""

    # -- written once on top ------------------------------------------------------------------

    def activations_and_gradients(self, batch: np.ndarray, target: Target,
                                  layer: str) -> tuple[np.ndarray, np.ndarray]:
        """Activations A at `layer` and d score / d A, both N x C' x h x w."""
        return self.layer_gradients(batch, target, [layer])[0]

    def outputs(self, batch: np.ndarray) -> np.ndarray:
        return self.outputs_and_activations(batch, ())[0]

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities: N x K for classifiers, N x K x H x W for segmentation (softmax over K)."""
        return self.probabilities(self.outputs(batch))

    def probabilities(self, outputs: np.ndarray) -> np.ndarray:
        """The head's outputs as probabilities (softmax over the class axis when they are logits, divided by the
        config's temperature first: calibrated probabilities for every caller)."""
        out = outputs.astype(np.float64)
        if self.info.output != "logits":
            return out.astype(np.float32)
        out = out / self.info.temperature
        out = np.exp(out - out.max(axis=1, keepdims=True))
        return (out / out.sum(axis=1, keepdims=True)).astype(np.float32)

    def resolve_target(self, x: np.ndarray, target: Target) -> Target:
        """A segmentation target without a region gets the region where the model predicts its
        class on `x`; a region must match the output grid; classifiers take no region."""
        if target.class_index not in range(len(self.info.labels)):
            raise InputError(f"class index {target.class_index} is not one of this model's "
                             f"{len(self.info.labels)} classes.")
        if self.info.output_kind != "segmentation":
            if target.region is not None:
                raise InputError("a region applies to segmentation models only.")
            return target
        if target.region is None:
            predicted = self.predict(x[:1])[0].argmax(axis=0) == target.class_index
            if not predicted.any():
                raise InputError(f"the model predicts '{self.info.labels[target.class_index]}' nowhere "
                                 "in this input; choose a region or another class.")
            return Target(target.class_index, predicted)
        grid = self.outputs(x[:1]).shape[-2:]
        if target.region.shape != grid:
            raise InputError(f"the region is {target.region.shape[0]}x{target.region.shape[1]}; the "
                             f"model's output is {grid[0]}x{grid[1]}.")
        if not target.region.any():
            raise InputError("the region is empty.")
        return target

    def features(self, batch: np.ndarray, layers: Sequence[str]) -> np.ndarray:
        """Pooled activations of `layers` (N x D): the space the OOD check measures in. Pooled a slice
        at a time: the full-resolution maps of the thousands of inputs a fit uses would not fit in memory."""
        step = 8 * self.batch_size
        return np.concatenate([pooled(self.outputs_and_activations(batch[i:i + step], layers)[1])
                               for i in range(0, max(len(batch), 1), step)])

    @cached_property
    def feature_stats(self) -> FeatureStats | None:
        """Training-input statistics shipped with the model (ood.safetensors), if any."""
        return FeatureStats.load(self.info.path)
