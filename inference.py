"""Tasks, models and prediction.

Contracts:
  * Task: what the input is (decode, preprocess, labels, sample files with ground truth).
  * ModelInfo + ModelAdapter: a model loaded from a Hub-format folder (config.json,
    model.safetensors, README.md) behind one framework-neutral interface that every XAI method
    uses: predict, target_scores, input_gradients, activations_and_gradients, layers.
  * Target: what to explain (a class, optionally inside a region for segmentation outputs).

Bundled models (models/<id>/) and Hub repos (org/name[@revision]) load through one path:
`resolve_model_dir` turns either into a local folder, `load_model` reads it.

CLI:
  python inference.py --list --json
  python inference.py --task lung_xray --model MODEL --input FILE [--revision REV] --json
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import json
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Import order matters: torch (and its triton via torch._dynamo) before anything that may load
# TensorFlow, or the process segfaults (see ../shared/guide/environment.md).
import torch
import torch._dynamo  # noqa: F401

from workbench.imageio import InputError, decode_image, read_file

ROOT = Path(__file__).resolve().parent
MODELS_DIR = ROOT / "models"
SAMPLES_DIR = ROOT / "sample_files"


class ModelError(RuntimeError):
    """A model cannot be found, fetched or loaded; the message is meant for the user."""


# --------------------------------------------------------------------------------------------
# Tasks
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sample:
    """A bundled input file, with its ground-truth mask and label when known."""

    name: str
    path: Path
    mask_path: Path | None = None
    label: str | None = None

    def mask(self) -> np.ndarray | None:
        """The ground-truth mask as a bool array at the file's resolution, or None."""
        if self.mask_path is None:
            return None
        return decode_image(self.mask_path.read_bytes(), self.mask_path.name) > 0.5


@dataclass(frozen=True)
class InputSpec:
    """What a model expects: size, channels, and per-channel normalisation of [0, 1] input."""

    height: int
    width: int
    channels: int
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def from_dict(cls, d: dict) -> InputSpec:
        return cls(int(d["height"]), int(d["width"]), int(d["channels"]),
                   tuple(float(m) for m in d["mean"]), tuple(float(s) for s in d["std"]))

    def normalize(self, chw01: np.ndarray) -> np.ndarray:
        """[0, 1] image (C x H x W, or N x C x H x W) to the model's input scale."""
        shape = (-1, 1, 1)
        return ((chw01 - np.reshape(self.mean, shape)) / np.reshape(self.std, shape)).astype(np.float32)


@dataclass(frozen=True)
class Task:
    """An input kind the workbench explains. A task knows nothing about methods."""

    id: str
    name: str
    modality: str  # "image" or "audio"
    output_kind: str  # "classification" or "segmentation"
    labels: tuple[str, ...]
    description: str
    file_types: tuple[str, ...]
    default_input: InputSpec  # the task's standard input, used when no model spec is given

    @property
    def sample_dir(self) -> Path:
        return SAMPLES_DIR / self.id

    def samples(self) -> list[Sample]:
        """Sample files: `<name>.png`, with `<name>_mask.png` beside it when ground truth exists
        and the label as the name's first word (`affected_01.png` -> `affected`)."""
        if not self.sample_dir.is_dir():
            return []
        out = []
        for path in sorted(self.sample_dir.glob("*.png")):
            if path.stem.endswith("_mask"):
                continue
            mask = path.with_name(f"{path.stem}_mask.png")
            label = path.stem.split("_")[0]
            out.append(Sample(path.stem, path, mask if mask.exists() else None,
                              label if label in self.labels else None))
        return out

    def decode(self, data: bytes, name: str = "the file") -> np.ndarray:
        """File bytes to a float32 array in [0, 1] (H x W, or H x W x 3)."""
        return decode_image(data, name)

    def preprocess(self, raw: np.ndarray, spec: InputSpec | None = None) -> np.ndarray:
        """Decoded array to a model input batch of one: 1 x C x H x W float32, normalised."""
        spec = spec or self.default_input
        img = raw
        if img.ndim == 3 and spec.channels == 1:
            img = img @ np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601 luma
        if img.ndim == 2:
            img = img[None]
        else:
            img = np.moveaxis(img, -1, 0)
        if img.shape[0] != spec.channels:
            img = np.repeat(img[:1], spec.channels, axis=0)
        img = resize(img, (spec.height, spec.width))
        return spec.normalize(img)[None]


def resize(chw: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize C x H x W float array; area averaging when shrinking, bilinear when enlarging."""
    if chw.shape[1:] == tuple(size):
        return chw.astype(np.float32)
    t = torch.from_numpy(np.ascontiguousarray(chw, np.float32))[None]
    shrink = chw.shape[1] >= size[0] and chw.shape[2] >= size[1]
    mode = "area" if shrink else "bilinear"
    kwargs = {} if shrink else {"align_corners": False}
    return torch.nn.functional.interpolate(t, size=size, mode=mode, **kwargs)[0].numpy()


TASKS: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    TASKS[task.id] = task
    return task


register_task(Task(
    id="lung_xray",
    name="Lung X-ray: normal vs affected",
    modality="image",
    output_kind="classification",
    labels=("normal", "affected"),
    description="Chest radiograph phantoms; 'affected' cases hold 1-3 nodules or opacities whose "
                "masks are known, so an explanation can be checked against the truth.",
    file_types=("png", "jpg", "jpeg"),
    default_input=InputSpec(128, 128, 1, (0.5,), (0.25,)),
))


def get_task(task_id: str) -> Task:
    if task_id not in TASKS:
        raise InputError(f"unknown task '{task_id}'; available: {', '.join(TASKS)}.")
    return TASKS[task_id]


# --------------------------------------------------------------------------------------------
# Model metadata and loading
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelInfo:
    """A model's config.json and card, plus where and at which revision it was loaded."""

    id: str
    task: str
    framework: str  # "pytorch" (or "keras")
    architecture: str
    arch_params: dict
    labels: tuple[str, ...]
    input: InputSpec
    target_layer: str
    revision: str
    path: Path
    card: str = ""
    source: str = "bundled"  # "bundled", "local" or "hub"

    @classmethod
    def from_folder(cls, model_id: str, folder: Path, revision: str, source: str) -> ModelInfo:
        try:
            cfg = json.loads((folder / "config.json").read_text())
            card_path = folder / "README.md"
            return cls(id=model_id, task=cfg["task"], framework=cfg["framework"],
                       architecture=cfg["architecture"], arch_params=dict(cfg.get("arch_params", {})),
                       labels=tuple(cfg["labels"]), input=InputSpec.from_dict(cfg["input"]),
                       target_layer=cfg["target_layer"], revision=revision, path=folder,
                       card=card_path.read_text() if card_path.exists() else "", source=source)
        except FileNotFoundError:
            raise ModelError(f"model '{model_id}' has no config.json in {folder}.") from None
        except (KeyError, ValueError, TypeError) as err:
            raise ModelError(f"model '{model_id}': config.json is invalid ({err}).") from None


def _file_digest(path: Path) -> str:
    stat = path.stat()
    return _digest(path.resolve(), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _digest(path: Path, _size: int, _mtime_ns: int) -> str:
    """sha256 of a weights file, read again only when its size or time stamp changes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def resolve_model_dir(model_id: str, revision: str | None = None) -> tuple[Path, str, str]:
    """Bundled id, model folder path or Hub repo id -> (local folder, revision, source).

    A bundled (or local) model's revision is a digest of its weights (so caches keyed on it are
    content-addressed); a Hub model's is the commit the revision resolved to.
    """
    bundled, folder = MODELS_DIR / model_id, Path(model_id)
    for local, source in ((bundled, "bundled"), (folder, "local")):
        if (source == "local" or "/" not in model_id) and (local / "config.json").is_file():
            weights = next((p for p in (local / "model.safetensors", local / "model.keras") if p.exists()), None)
            return local, _file_digest(weights) if weights else "none", source
    if "/" not in model_id:
        raise ModelError(f"unknown model '{model_id}': not in models/, not a model folder and not a "
                         "Hub repo id (org/name).")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        folder = Path(snapshot_download(
            model_id, revision=revision,
            allow_patterns=["config.json", "README.md", "model.safetensors", "model.keras"]))
    except LocalEntryNotFoundError:
        raise ModelError(f"'{model_id}' is not in the local Hub cache and the Hub cannot be reached "
                         "(offline); download it once where there is a network.") from None
    except (HfHubHTTPError, OSError, ValueError) as err:
        raise ModelError(f"could not fetch '{model_id}' from the Hugging Face Hub: {err}".splitlines()[0]) from None
    return folder, folder.name, "hub"


def list_models(task: str | None = None) -> list[ModelInfo]:
    """The bundled models (optionally for one task); Hub models are loaded by id on demand."""
    out = []
    for cfg in sorted(MODELS_DIR.glob("*/config.json")):
        folder = cfg.parent
        try:
            folder_path, rev, source = resolve_model_dir(folder.name)
            info = ModelInfo.from_folder(folder.name, folder_path, rev, source)
        except ModelError:
            continue
        if task is None or info.task == task:
            out.append(info)
    return out


def load_model(model_id: str, revision: str | None = None) -> ModelAdapter:
    """Load a bundled or Hub model into its framework adapter. Never unpickles anything."""
    folder, rev, source = resolve_model_dir(model_id, revision)
    info = ModelInfo.from_folder(model_id, folder, rev, source)
    if info.framework == "pytorch":
        return TorchAdapter.from_folder(info)
    raise ModelError(f"model '{model_id}': framework '{info.framework}' is not supported yet.")


# --------------------------------------------------------------------------------------------
# Model adapters
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """What to explain: a class, and for segmentation outputs the region whose class score counts."""

    class_index: int
    region: np.ndarray | None = field(default=None, compare=False)


class ModelAdapter(ABC):
    """Framework-neutral interface every XAI method is written against.

    Arrays in and out are numpy: batches are N x C x H x W float32 in the model's input scale.
    A lock serialises use, because a cached model is shared by every app session.
    """

    batch_size = 32

    def __init__(self, info: ModelInfo) -> None:
        self.info = info
        self.lock = threading.RLock()

    @property
    def key(self) -> str:
        """Identity for caches: model id and revision."""
        return f"{self.info.id}@{self.info.revision}"

    @abstractmethod
    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Class probabilities, N x K."""

    @abstractmethod
    def target_scores(self, batch: np.ndarray, target: Target) -> np.ndarray:
        """The explained score (a logit, or a region's summed logits) for each item: shape N."""

    @abstractmethod
    def input_gradients(self, batch: np.ndarray, target: Target) -> np.ndarray:
        """d score / d input, same shape as the batch."""

    @abstractmethod
    def activations_and_gradients(self, batch: np.ndarray, target: Target,
                                  layer: str) -> tuple[np.ndarray, np.ndarray]:
        """Activations A at `layer` and d score / d A, both N x C' x h x w."""

    @abstractmethod
    def layers(self) -> list[str]:
        """Layer names usable as CAM targets; `info.target_layer` is the default."""


class TorchAdapter(ModelAdapter):
    """A PyTorch module behind the adapter interface."""

    def __init__(self, module: torch.nn.Module, info: ModelInfo) -> None:
        super().__init__(info)
        self.module = module.eval()

    @classmethod
    def from_folder(cls, info: ModelInfo) -> TorchAdapter:
        from safetensors.torch import load_file

        from workbench import nets

        weights = info.path / "model.safetensors"
        if not weights.exists():
            raise ModelError(f"model '{info.id}' has no model.safetensors; other weight formats "
                             "(pickled .bin/.pt) are refused because loading them can run code.")
        try:
            module = nets.build(info.architecture, **info.arch_params)
            module.load_state_dict(load_file(str(weights)))
        except (KeyError, RuntimeError, TypeError) as err:
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

    @staticmethod
    def _score(output: torch.Tensor, target: Target) -> torch.Tensor:
        if output.ndim == 2:
            return output[:, target.class_index]
        logits = output[:, target.class_index]  # segmentation: N x H x W
        if target.region is None:
            return logits.flatten(1).sum(1)
        region = torch.as_tensor(target.region, dtype=logits.dtype, device=logits.device)
        return (logits * region).flatten(1).sum(1)

    def logits(self, batch: np.ndarray) -> np.ndarray:
        with self._prepared(), torch.no_grad():
            return torch.cat([self.module(x) for x in self._chunks(batch)]).numpy()

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return torch.softmax(torch.from_numpy(self.logits(batch)), dim=1).numpy()

    def target_scores(self, batch: np.ndarray, target: Target) -> np.ndarray:
        with self._prepared(), torch.no_grad():
            return torch.cat([self._score(self.module(x), target) for x in self._chunks(batch)]).numpy()

    def input_gradients(self, batch: np.ndarray, target: Target) -> np.ndarray:
        grads = []
        with self._prepared():
            for x in self._chunks(batch):
                x.requires_grad_(True)
                score = self._score(self.module(x), target).sum()
                grads.append(torch.autograd.grad(score, x)[0])
        return torch.cat(grads).numpy()

    def activations_and_gradients(self, batch: np.ndarray, target: Target,
                                  layer: str) -> tuple[np.ndarray, np.ndarray]:
        module = dict(self.module.named_modules()).get(layer)
        if module is None or layer == "":
            raise ValueError(f"model '{self.info.id}' has no layer '{layer}'.")
        acts, grads = [], []
        captured: list[torch.Tensor] = []
        with self._prepared():
            handle = module.register_forward_hook(lambda _m, _i, out: captured.append(out))
            try:
                for x in self._chunks(batch):
                    captured.clear()
                    x.requires_grad_(True)  # so the graph reaches the layer even with frozen weights
                    score = self._score(self.module(x), target).sum()
                    acts.append(captured[0].detach())
                    grads.append(torch.autograd.grad(score, captured[0])[0])
            finally:
                handle.remove()
        return torch.cat(acts).numpy(), torch.cat(grads).numpy()

    def layers(self) -> list[str]:
        """Convolutional stages and blocks (modules whose output is a 4-D feature map)."""
        names = [n for n, m in self.module.named_modules()
                 if n and isinstance(m, torch.nn.Sequential | torch.nn.Conv2d)
                 and "shortcut" not in n]
        if self.info.target_layer in names:
            names.remove(self.info.target_layer)
        return [self.info.target_layer, *names]


# --------------------------------------------------------------------------------------------
# Prediction and CLI
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Prediction:
    label: str
    probabilities: dict[str, float]

    @property
    def class_index(self) -> int:
        return list(self.probabilities).index(self.label)


def predict_input(model: ModelAdapter, x: np.ndarray) -> Prediction:
    """Probabilities of a 1 x C x H x W input, with the most likely label."""
    probs = model.predict(x)[0]
    labels = model.info.labels
    return Prediction(labels[int(np.argmax(probs))], {lab: float(p) for lab, p in zip(labels, probs)})


def check_model_task(model: ModelAdapter, task: Task) -> None:
    if model.info.task != task.id:
        raise InputError(f"model '{model.info.id}' is for task '{model.info.task}', not '{task.id}'.")


def load_input(task: Task, model: ModelAdapter, path: str) -> tuple[np.ndarray, np.ndarray]:
    """Read, decode and preprocess a file: (raw array in [0, 1], model input 1 x C x H x W)."""
    raw = task.decode(read_file(path), Path(path).name)
    return raw, task.preprocess(raw, model.info.input)


def registry_listing() -> dict:
    """Tasks, bundled models and methods, as the CLI's --list prints them."""
    from xai_models import METHODS

    models = list_models()
    frameworks = sorted({m.framework for m in models} | {"pytorch", "keras"})
    return {
        "tasks": [{"id": t.id, "name": t.name, "modality": t.modality, "output_kind": t.output_kind,
                   "labels": list(t.labels)} for t in TASKS.values()],
        "models": [{"id": m.id, "task": m.task, "framework": m.framework, "revision": m.revision}
                   for m in models],
        "methods": [{"id": m.id, "name": m.name,
                     "tasks": [t.id for t in TASKS.values() if m.supports_task(t)],
                     "frameworks": [f for f in frameworks if f in m.frameworks]}
                    for m in METHODS.values()],
    }


def cli_fail(message: str) -> int:
    """One line on stderr, exit code 2: how every CLI reports bad input."""
    print(f"error: {message}", file=sys.stderr)
    return 2


def add_model_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", help="task id, e.g. lung_xray")
    parser.add_argument("--model", help="bundled model id (see --list) or Hub repo id org/name")
    parser.add_argument("--revision", default=None, help="Hub revision (branch, tag or commit)")
    parser.add_argument("--input", help="input file (PNG or JPEG)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def load_task_model_input(args: argparse.Namespace):
    """Shared CLI set-up: validated task, loaded model and preprocessed input."""
    for name in ("task", "model", "input"):
        if not getattr(args, name):
            raise InputError(f"--{name} is required.")
    task = get_task(args.task)
    model = load_model(args.model, args.revision)
    check_model_task(model, task)
    raw, x = load_input(task, model, args.input)
    return task, model, raw, x


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Predict with a workbench model.")
    parser.add_argument("--list", action="store_true", help="list tasks, models and methods")
    add_model_args(parser)
    args = parser.parse_args(argv)
    try:
        if args.list:
            listing = registry_listing()
            if args.json:
                print(json.dumps(listing, indent=2))
            else:
                for kind, rows in listing.items():
                    print(f"{kind}:")
                    for row in rows:
                        print("  " + ", ".join(f"{k}={v}" for k, v in row.items()))
            return 0
        _task, model, _raw, x = load_task_model_input(args)
        pred = predict_input(model, x)
    except (InputError, ModelError) as err:
        return cli_fail(str(err))
    if args.json:
        print(json.dumps({"label": pred.label, "probabilities": pred.probabilities}))
    else:
        print(pred.label)
        for label, p in pred.probabilities.items():
            print(f"  {label}: {p:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
