"""Batch evaluation on Ray: the same rows as a local run, with the model x case items spread over a pool of actors.

Each actor loads every model of the run once (by id and revision: bundled models from its own checkout, Hub models
from its Hub cache or the Hub), then scores the items it is handed with the same `evaluate_case` a local run calls.
The driver makes the cases and hands them out in order through `ray.util.ActorPool`, reading the rows back in that
order, so the JSONL store, resume and the table work as they do locally. Actors run torch with the driver's thread
count: the same kernels in the same order give the local run's numbers bit for bit.

Ray is an optional extra (`pip install -e .[ray]`); only `xai_models.py evaluate --ray` imports it.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence

from workbench.errors import InputError
from workbench.evaluation.batch import Runner, Work, evaluate_case
from workbench.models import ModelAdapter


class Evaluator:
    """One worker: the run's models, loaded once, and the items it is given."""

    def __init__(self, models: Sequence[tuple[str, str | None]], threads: int) -> None:
        import torch

        from workbench.models import load_model

        torch.set_num_threads(threads)
        self.models = [load_model(model_id, revision) for model_id, revision in models]

    def revisions(self) -> list[str]:
        return [m.info.revision for m in self.models]

    def score(self, item: Work, params: dict[str, dict], seed: int, source: str, baseline: str) -> list[dict]:
        return evaluate_case(self.models[item.model], item.case, item.methods, params[item.model], seed, source,
                             baseline)


def _check_reachable(address: str | None, timeout: float = 5.0) -> None:
    """A HOST:PORT (or ray://HOST:PORT) that takes no connection is reported at once: Ray itself retries for minutes."""
    if not address or address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except (OSError, ValueError):
        raise InputError(f"cannot start or reach Ray at {address}: nothing answers there.") from None


def ray_runner(address: str | None = None, workers: int | None = None) -> Runner:
    """A runner on Ray: a local cluster on this machine when `address` is None, else the cluster there. `workers`
    actors (default: one per CPU the cluster has), each with one CPU."""
    try:
        import ray
    except ImportError:
        raise InputError("--ray needs Ray: pip install -e .[ray] (make test installs it).") from None
    from ray.util import ActorPool

    def run(models: Sequence[ModelAdapter], work: Iterator[Work], params: dict[str, dict], seed: int, source: str,
            baseline: str) -> Iterator[list[dict]]:
        import torch

        if not ray.is_initialized():
            _check_reachable(address)
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
            except (ConnectionError, ValueError, RuntimeError) as err:
                raise InputError(f"cannot start or reach Ray at {address or 'this machine'}: {err}") from None
        count = workers or max(int(ray.cluster_resources().get("CPU", 1)), 1)
        refs = [(m.info.id, m.info.revision if m.info.source == "hub" else None) for m in models]
        actor = ray.remote(num_cpus=1)(Evaluator)
        actors = [actor.remote(refs, torch.get_num_threads()) for _ in range(count)]
        expected = [m.info.revision for m in models]
        for revisions in ray.get([a.revisions.remote() for a in actors]):
            if revisions != expected:  # a worker with other weights would make other rows under the same keys
                raise InputError(f"a Ray worker loaded the models at revisions {revisions}, not {expected}: give "
                                 "every worker the same models/ folder (or Hub cache) as this machine.")
        yield from ActorPool(actors).map(lambda a, item: a.score.remote(item, params, seed, source, baseline), work)

    return run
