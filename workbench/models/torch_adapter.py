"""A PyTorch module behind the adapter interface."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from workbench.errors import ModelError, converted
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


class LogitsOf(torch.nn.Module):
    """A transformers classifier as a plain module: pixel values in, logits out (its output object dropped)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values=x).logits


def as_grid(array: np.ndarray, size: tuple[int, int]) -> np.ndarray | None:
    """A layer output as N x C x h x w maps over the input, or None when it is not one: a 4-D feature map with more
    than one cell, or N x T x D tokens of which all but the first 0-2 (class and distillation tokens) fold into an
    h x w grid of the input's aspect (ViT-like models). A reshape, so gradients fold the same way."""
    if array.ndim == 4:
        return array if array.shape[-2] * array.shape[-1] > 1 else None
    if array.ndim != 3:
        return None
    height, width = size
    for prefix in range(3):
        cells = array.shape[1] - prefix
        rows = int(round(np.sqrt(cells * height / width))) if cells > 1 else 0
        if rows and cells % rows == 0 and rows * width == (cells // rows) * height:
            return np.ascontiguousarray(array[:, prefix:].reshape(len(array), rows, cells // rows, -1)
                                        .transpose(0, 3, 1, 2))
    return None


class ScoreModule(torch.nn.Module):
    """The explained score as a module (N x 1, the score operator of models/target.py applied to the model's
    output): what a library that runs its own passes (Captum) attributes, with target 0."""

    def __init__(self, model: torch.nn.Module, target: Target, kind: str) -> None:
        super().__init__()
        self.model, self.target, self.kind = model, target, kind

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return target_score(self.model(x), self.target, TorchOps, self.kind)[:, None]


@dataclass
class LayerFlow:
    """What a probe pass found about the flow through a model's leaf modules (`TorchAdapter.flow`)."""

    reused: list[str] = field(default_factory=list)  # leaves that run more than once
    unchained: list[str] = field(default_factory=list)  # leaves whose input is neither the input nor a leaf's output
    output_after_last: bool = False  # the model's output is computed after its last leaf (a functional head)

    def first_break(self) -> str | None:
        """The first place where a module's input is computed outside modules, in words; None when there is none."""
        if self.unchained:
            return f"the input of '{self.unchained[0]}' is no layer's output"
        return "the output is computed after the last layer" if self.output_after_last else None


def _storage(t: torch.Tensor) -> int:
    return t.untyped_storage().data_ptr()


def _first_tensor(out: object) -> torch.Tensor | None:
    """A module's output, or the first item of a tuple output (transformers layers return tuples)."""
    if isinstance(out, tuple | list) and out:
        out = out[0]
    return out if isinstance(out, torch.Tensor) else None


class TorchAdapter(ModelAdapter):
    def __init__(self, module: torch.nn.Module, info: ModelInfo, tokens: bool = False) -> None:
        super().__init__(info)
        self.module = module.eval()
        self.tokens = tokens  # a foreign model: layers found from the gradient, token outputs folded into grids
        self._feature_layers: list[str] | None = None
        self._flow: LayerFlow | None = None

    def on(self, device: str) -> TorchAdapter:
        """Move the model to `device` (`workbench.device.resolve_device`): once, and every batch after it."""
        self.module.to(device)
        self.device = device
        return self

    @classmethod
    def foreign(cls, module: torch.nn.Module, info: ModelInfo) -> TorchAdapter:
        """A model from another library: its CAM layer is the last map over the input the score depends on
        (none found: the CAM methods say so and stay off)."""
        adapter = cls(module, info, tokens=True)
        found = adapter.layers()
        adapter.info = replace(info, target_layer=found[0] if found else "")
        return adapter

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
        except Exception as err:  # noqa: BLE001 - a damaged file fails in safetensors' or torch's own ways: one message
            raise converted(ModelError(f"model '{info.id}' could not be built from its config and weights: "
                                       f"{str(err).splitlines()[0]}"), err) from None
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
            yield torch.from_numpy(np.ascontiguousarray(batch[i:i + self.batch_size], np.float32)).to(self.device)

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

    @contextlib.contextmanager
    def scored_module(self, target: Target) -> Iterator[ScoreModule]:
        """The model as a module giving the target score, for a library that runs its own passes (Captum). Under
        the lock with the model prepared; hooks on the module count every forward pass (and the backward pass
        through its output) and give the interruption checkpoint, as the adapter's own passes do. Afterwards the
        hooks are removed and attributes the library left on the modules (LRP's rules, DeepLift's inputs) deleted,
        so a shared model is as it was."""

        def after(_m: torch.nn.Module, _inputs: object, out: object) -> None:
            tensor = _first_tensor(out)
            if tensor is not None and tensor.requires_grad:
                tensor.register_hook(lambda grad: self._count(backward=len(grad)))

        with self._prepared():
            modules = list(self.module.modules())
            known = [set(vars(m)) for m in modules]  # under the lock: no other run's attributes among them
            handles = [self.module.register_forward_pre_hook(lambda _m, inputs: self._count(forward=len(inputs[0]))),
                       self.module.register_forward_hook(after)]
            try:
                yield ScoreModule(self.module, target, self.info.output)
            finally:
                for handle in handles:
                    handle.remove()
                for module, names in zip(modules, known):
                    for name in set(vars(module)) - names:
                        delattr(module, name)

    def flow(self) -> LayerFlow:
        """How the forward pass runs through its leaf modules, found by running it once on a random input (cached):
        rules written per module (LRP's, DeepLift's) see only the modules, and assume each runs once."""
        if self._flow is None:
            self._flow = self._probe_flow()
        return self._flow

    def _probe_flow(self) -> LayerFlow:
        spec = self.info.input
        x = torch.from_numpy(np.random.default_rng(0).normal(0, 1, (1, spec.channels, *spec.size)).astype(np.float32))
        x = x.to(self.device)
        produced = [(_storage(x), x.clone())]
        flow = LayerFlow()
        calls: dict[str, int] = {}

        def from_a_leaf(t: torch.Tensor | None) -> bool:
            return t is not None and any(_storage(t) == ptr and t.numel() == value.numel()
                                         and torch.equal(t.reshape(-1), value.reshape(-1)) for ptr, value in produced)

        def before(name: str):
            def hook(_m: torch.nn.Module, inputs: tuple) -> None:
                calls[name] = calls.get(name, 0) + 1
                if calls[name] == 2:
                    flow.reused.append(name)
                if not from_a_leaf(_first_tensor(inputs)):
                    flow.unchained.append(name)
            return hook

        def after(_m: torch.nn.Module, _inputs: tuple, out: object) -> None:
            tensor = _first_tensor(out)
            if tensor is not None:
                produced.append((_storage(tensor), tensor.detach().clone()))

        leaves = [(n, m) for n, m in self.module.named_modules() if n and next(m.children(), None) is None]
        handles = [h for n, m in leaves
                   for h in (m.register_forward_pre_hook(before(n)), m.register_forward_hook(after))]
        try:
            with self._prepared(), torch.no_grad():
                out = _first_tensor(self.module(x))
        finally:
            for handle in handles:
                handle.remove()
        flow.output_after_last = not from_a_leaf(out)
        return flow

    def target_scores(self, batch: np.ndarray, target: Target) -> np.ndarray:
        with self._prepared(), torch.no_grad():
            return torch.cat([self._score(x, target) for x in self._chunks(batch)]).cpu().numpy()

    def input_gradients(self, batch: np.ndarray, target: Target) -> np.ndarray:
        grads = []
        with self._prepared():
            for x in self._chunks(batch):
                x.requires_grad_(True)
                grads.append(self._grad(self._score(x, target), x))
        return torch.cat(grads).cpu().numpy()

    @contextlib.contextmanager
    def _capture(self, *layers: str) -> Iterator[dict[str, torch.Tensor]]:
        """Outputs of `layers` during the block; the hooks are removed however the block ends."""
        captured: dict[str, torch.Tensor] = {}
        handles = []
        try:
            for name in layers:
                handles.append(self._layer(name).register_forward_hook(
                    lambda _m, _i, out, name=name: captured.__setitem__(name, _first_tensor(out))))
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
        return [(self._map(torch.cat(a).cpu().numpy(), name), self._map(torch.cat(g).cpu().numpy(), name))
                for name, a, g in zip(layers, acts, grads)]

    def _map(self, array: np.ndarray, layer: str) -> np.ndarray:
        """A foreign model's layer output as maps over the input (tokens folded into their grid)."""
        if not self.tokens or array.ndim == 4:
            return array
        grid = as_grid(array, self.info.input.size)
        if grid is None:
            raise ValueError(f"layer '{layer}' of model '{self.info.id}' gives no map over the input "
                             f"(its output is {tuple(array.shape)}).")
        return grid

    def outputs_and_activations(self, batch: np.ndarray,
                                layers: Sequence[str]) -> tuple[np.ndarray, list[np.ndarray]]:
        outputs: list[torch.Tensor] = []
        acts: dict[str, list[torch.Tensor]] = {name: [] for name in layers}  # a layer named twice: one entry
        with self._prepared(), torch.no_grad(), self._capture(*acts) as captured:
            for x in self._chunks(batch):
                outputs.append(self._forward(x))
                for name in acts:
                    acts[name].append(captured[name])
        return torch.cat(outputs).cpu().numpy(), [self._map(torch.cat(acts[name]).cpu().numpy(), name)
                                                  for name in layers]

    def layers(self) -> list[str]:
        """Layers whose output is a feature map, the CAM layer first (see `_bundled_layers`, `_gradient_layers`)."""
        if self._feature_layers is None:
            self._feature_layers = self._gradient_layers() if self.tokens else self._bundled_layers()
        return list(self._feature_layers)

    def _bundled_layers(self) -> list[str]:
        """Convolutions and stages whose output is a feature map, config's first. Found by running the model
        once on a blank input: a stage never called in the forward pass, or one that ends in a flattening or
        fully connected head, has no map a CAM can read; a stage whose output is the model's (a segmentation
        head) would only show the prediction back."""
        candidates = [n for n, m in self.module.named_modules()
                      if n and isinstance(m, torch.nn.Sequential | torch.nn.Conv2d) and "shortcut" not in n]
        spec = self.info.input
        with self._prepared(), torch.no_grad(), self._capture(*candidates) as captured:
            out = self.module(torch.zeros(1, spec.channels, *spec.size, device=self.device))
            found = [n for n in candidates if isinstance(captured.get(n), torch.Tensor)
                     and captured[n].ndim == 4 and captured[n] is not out]
        return [self.info.target_layer, *(n for n in found if n != self.info.target_layer)]

    def _gradient_layers(self, limit: int = 40) -> list[str]:
        """A foreign model's layers whose output is a map over the input (a feature map, or tokens that fold into
        a grid) with a non-zero gradient of the first score on it, last computed first: the first is the last
        spatial map the score depends on (a CNN's last stage; a ViT's last block's input norm, since after it only
        the class token reaches the head). Linear layers and dropouts are left out (per-token projections)."""
        skip = (torch.nn.Linear, torch.nn.Dropout, torch.nn.Identity)
        names = [n for n, m in self.module.named_modules() if n and not isinstance(m, skip)]
        order: list[str] = []
        spec = self.info.input
        x = torch.from_numpy(np.random.default_rng(0).random((1, spec.channels, *spec.size), np.float32))
        x = x.to(self.device)
        # the order in which modules finish: containers after their children
        handles = [self._layer(n).register_forward_hook(lambda *_a, n=n: order.append(n)) for n in names]
        try:
            with self._prepared(), self._capture(*names) as captured:
                x.requires_grad_(True)
                score = self.module(x).reshape(1, -1)[:, 0].sum()
                outs = {n: t for n, t in captured.items() if t is not None and t.requires_grad}
                grads = torch.autograd.grad(score, list(outs.values()), allow_unused=True)
        finally:
            for handle in handles:
                handle.remove()
        found = []
        for name, grad in zip(outs, grads):
            grid = None if grad is None else as_grid(grad.cpu().numpy(), spec.size)
            if grid is not None and np.abs(grid).max() > 0:
                found.append(name)
        finished = {n: i for i, n in enumerate(order)}
        return sorted(found, key=lambda n: -finished.get(n, -1))[:limit]

    def weighted_layers(self) -> list[str]:
        return [n for n, m in self.module.named_modules() if n and any(True for _ in m.parameters(recurse=False))][::-1]

    def randomised(self, layers: Sequence[str], seed: int) -> TorchAdapter:
        rng = np.random.default_rng(seed)
        with self.lock:
            module = copy.deepcopy(self.module)
        with torch.no_grad():
            for name in layers:
                for p in dict(module.named_modules())[name].parameters(recurse=False):
                    p.copy_(torch.from_numpy(random_like(rng, p.detach().cpu().numpy())))
        copy_ = TorchAdapter(module, randomised_revision(self.info, layers, seed), self.tokens)
        copy_.device = self.device  # the copy's weights are where the model's are
        copy_._feature_layers = self._feature_layers
        return copy_
