"""The one training loop every bundled model goes through: AdamW, a learning-rate schedule,
shuffled mini-batches from a seeded generator, and a validation line after each epoch."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from workbench.training.recipes import Recipe

# (epoch, batch indices, generator) -> the batch's loss; the generator drives any augmentation.
BatchLoss = Callable[[int, torch.Tensor, torch.Generator], torch.Tensor]
Schedule = Callable[[torch.optim.Optimizer, int], torch.optim.lr_scheduler.LRScheduler]


def argmax_batches(module: torch.nn.Module, x: torch.Tensor, batch: int = 64) -> torch.Tensor:
    """The module's argmax over dim 1 (classes), in eval mode and without gradients, batch by batch."""
    module.eval()
    with torch.no_grad():
        return torch.cat([module(x[i:i + batch]).argmax(1) for i in range(0, len(x), batch)])


def fit(module: torch.nn.Module, recipe: Recipe, n_train: int, epochs: int, seed: int, batch_loss: BatchLoss,
        validate: Callable[[], dict[str, float]], schedule: Schedule, started: float,
        log: Callable[[str], None] = print) -> dict[str, float]:
    """Train `module` in place; returns the last epoch's validation scores."""
    opt = torch.optim.AdamW(module.parameters(), lr=recipe.lr, weight_decay=1e-4)
    sched = schedule(opt, epochs * ((n_train + recipe.batch_size - 1) // recipe.batch_size))
    gen = torch.Generator().manual_seed(seed)
    scores: dict[str, float] = {}
    for epoch in range(epochs):
        module.train()
        order = torch.randperm(n_train, generator=gen)
        total = 0.0
        for i in range(0, n_train, recipe.batch_size):
            idx = order[i:i + recipe.batch_size]
            loss = batch_loss(epoch, idx, gen)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        scores = validate()
        shown = ", ".join(f"{name} {value:.4f}" for name, value in scores.items())
        log(f"epoch {epoch + 1}/{epochs}: loss {total / n_train:.4f}, {shown}, "
            f"{time.perf_counter() - started:.0f} s")
    return scores
