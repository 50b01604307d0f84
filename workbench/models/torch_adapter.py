"""A PyTorch module behind the adapter interface."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from workbench.errors import ModelError
from workbench.models.adapter import ModelAdapter, random_like, randomised_revision
from workbench.models.config import ModelInfo
from workbench.models.target import Target, target_score


class TorchOps:
    """The score operator's tensor operations in PyTorch."""

    log = staticmethod(torch.log)
    clip = staticmethod(torch.clamp)

    @staticmethod
    def sum(t: torch.Tensor, axes: tuple[int, ...]) -> torch.Tensor:
        return t.sum(dim=axes)

    @staticmethod
    def constant(array: np.ndarray, like: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(array, dtype=like.dtype, device=like.device)


class TorchAdapter(ModelAdapter):
    def __init__(self, module: torch.nn.Module, info: ModelInfo) -> None:
        super().__init__(info)
        self.module = module.eval()
        self._feature_layers: list[str] | None = None

    @classmethod
    def from_folder(cls, info: ModelInfo) -> TorchAdapter:
        """Build the config's architecture and read `model.safetensors`; never unpickles."""
        from safetensors.torch import load_file

        from workbench.models.nets import build

        weights = info.path / "model.safetensors"
        if not weights.exists():
            raise ModelError(f"model '{info.id}' has no model.safetensors; other weight formats "
                             "(pickled .bin/.pt) are refused because loading them can run code.")
        try:
            module = build(info.architecture, **info.arch_params)
            module.load_state_dict(load_file(str(weights)))
        except (KeyError, RuntimeError, TypeError, ValueError) as err:
            raise ModelError(f"model '{info.id}' could not be built from its config and weights: "
                             f"{str(err).splitlines()[0]}") from None
        return cls(module, info)

    @contextlib.contextmanager
    def _prepared(self) -> Iterator[None]:
        """Hold the lock, put the module in eval mode with frozen weights, restore afterwards."""
        with self.lock:
            was_training = self.module.training
            flags = [p.requires_grad for p in self.module.parameters()]
            self.module.eval()
            for p in self.module.parameters():
                p.requires_grad_(False)
            try:
                yield
            finally:
                for p, flag in zip(self.module.parameters(), flags):
                    p.requires_grad_(flag)
                self.module.train(was_training)

    def _chunks(self, batch: np.ndarray) -> Iterator[torch.Tensor]:
        for i in range(0, len(batch), self.batch_size):
            yield torch.from_numpy(np.ascontiguousarray(batch[i:i + self.batch_size], np.float32))

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        self._count(forward=len(x))
        return self.module(x)

    def _score(self, x: torch.Tensor, target: Target) -> torch.Tensor:
        return target_score(self._forward(x), target, TorchOps, self.info.output)

    def _grad(self, score: torch.Tensor, wrt: torch.Tensor) -> torch.Tensor:
        self._count(backward=len(score))
        return torch.autograd.grad(score.sum(), wrt)[0]

    def _layer(self, layer: str) -> torch.nn.Module:
        module = dict(self.module.named_modules()).get(layer)
        if module is None or layer == "":
            raise ValueError(f"model '{self.info.id}' has no layer '{layer}'.")
        return module

    def target_scores(self, batch: np.ndarray, target: Target) -> np.ndarray:
        with self._prepared(), torch.no_grad():
            return torch.cat([self._score(x, target) for x in self._chunks(batch)]).numpy()

    def input_gradients(self, batch: np.ndarray, target: Target) -> np.ndarray:
        grads = []
        with self._prepared():
            for x in self._chunks(batch):
                x.requires_grad_(True)
                grads.append(self._grad(self._score(x, target), x))
        return torch.cat(grads).numpy()

    @contextlib.contextmanager
    def _capture(self, *layers: str) -> Iterator[dict[str, torch.Tensor]]:
        """Outputs of `layers` during the block; the hooks are removed however the block ends."""
        captured: dict[str, torch.Tensor] = {}
        handles = []
        try:
            for name in layers:
                handles.append(self._layer(name).register_forward_hook(
                    lambda _m, _i, out, name=name: captured.__setitem__(name, out)))
            yield captured
        finally:
            for handle in handles:
                handle.remove()

    def layer_gradients(self, batch: np.ndarray, target: Target,
                        layers: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        acts: list[list[torch.Tensor]] = [[] for _ in layers]
        grads: list[list[torch.Tensor]] = [[] for _ in layers]
        with self._prepared(), self._capture(*layers) as captured:
            for x in self._chunks(batch):
                x.requires_grad_(True)  # so the graph reaches the layers even with frozen weights
                score = self._score(x, target)
                outs = [captured[name] for name in layers]
                self._count(backward=len(score))
                for store_a, store_g, out, grad in zip(acts, grads, outs, torch.autograd.grad(score.sum(), outs)):
                    store_a.append(out.detach())
                    store_g.append(grad)
        return [(torch.cat(a).numpy(), torch.cat(g).numpy()) for a, g in zip(acts, grads)]

    def outputs_and_activations(self, batch: np.ndarray,
                                layers: Sequence[str]) -> tuple[np.ndarray, list[np.ndarray]]:
        outputs: list[torch.Tensor] = []
        acts: dict[str, list[torch.Tensor]] = {name: [] for name in layers}  # a layer named twice: one entry
        with self._prepared(), torch.no_grad(), self._capture(*acts) as captured:
            for x in self._chunks(batch):
                outputs.append(self._forward(x))
                for name in acts:
                    acts[name].append(captured[name])
        return torch.cat(outputs).numpy(), [torch.cat(acts[name]).numpy() for name in layers]

    def layers(self) -> list[str]:
        """Convolutions and stages whose output is a feature map, config's first. Found by running the model
        once on a blank input: a stage never called in the forward pass, or one that ends in a flattening or
        fully connected head, has no map a CAM can read; a stage whose output is the model's (a segmentation
        head) would only show the prediction back."""
        if self._feature_layers is None:
            candidates = [n for n, m in self.module.named_modules()
                          if n and isinstance(m, torch.nn.Sequential | torch.nn.Conv2d) and "shortcut" not in n]
            spec = self.info.input
            with self._prepared(), torch.no_grad(), self._capture(*candidates) as captured:
                out = self.module(torch.zeros(1, spec.channels, *spec.size))
                found = [n for n in candidates if isinstance(captured.get(n), torch.Tensor)
                         and captured[n].ndim == 4 and captured[n] is not out]
            self._feature_layers = [self.info.target_layer, *(n for n in found if n != self.info.target_layer)]
        return list(self._feature_layers)

    def weighted_layers(self) -> list[str]:
        return [n for n, m in self.module.named_modules() if n and any(True for _ in m.parameters(recurse=False))][::-1]

    def randomised(self, layers: Sequence[str], seed: int) -> TorchAdapter:
        rng = np.random.default_rng(seed)
        with self.lock:
            module = copy.deepcopy(self.module)
        with torch.no_grad():
            for name in layers:
                for p in dict(module.named_modules())[name].parameters(recurse=False):
                    p.copy_(torch.from_numpy(random_like(rng, p.detach().numpy())))
        return TorchAdapter(module, randomised_revision(self.info, layers, seed))
