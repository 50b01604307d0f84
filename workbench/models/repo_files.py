"""What a model repo holds, read from its file names and config.json: its kind, and which weights are safe to load.

Four kinds: the workbench's own format (config.json with `framework` and `task`), a transformers image classifier
(config.json with `model_type`), a timm model (config.json with `architecture` and `pretrained_cfg`), and a Keras 3
`.keras` file. Weights in safetensors or `.keras` (read in safe mode) carry no code. Pickled weights (`.bin`,
`.pt`, `.pth`, `.ckpt`, `.pkl`) and legacy `.h5` Keras files (whose Lambda layers are code) can run anything when
read, so they are refused unless the user trusts that repo, and then they are recorded as trusted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from workbench.errors import ModelError

KINDS = ("workbench", "transformers", "timm", "keras")
# Read before the weights: config, preprocessing, card, the workbench's OOD statistics and label names.
METADATA_FILES = ("config.json", "preprocessor_config.json", "README.md", "ood.safetensors", "labels.json")
SAFE_SUFFIXES = (".safetensors", ".keras")
PICKLED_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".h5")
TRUST_HINT = ("To load it anyway, trust this repo: the app's 'Trust pickled weights from this repo' switch, or "
              "--trust-pickle on the command line; the trust is recorded with every explanation and report.")


class PickleRefused(ModelError):
    """A repo with only pickled weights, not trusted: the message says how to trust it (a shared server whose
    operator does not allow that words its own, from `repo` and `pickled`)."""

    def __init__(self, repo: str, pickled: list[str]) -> None:
        self.repo, self.pickled = repo, pickled
        super().__init__(f"{self.what} so the workbench refuses it by default. {TRUST_HINT}")

    @property
    def what(self) -> str:
        return (f"'{self.repo}' has only pickled weights ({', '.join(self.pickled)}). Loading a pickle can run any "
                "code its author put in it,")


def top_level(names: Iterable[str]) -> list[str]:
    """Files at the repo's top (sub-folders hold other formats: onnx/, flax/ and the like)."""
    return sorted(n for n in names if "/" not in n)


def size_text(n: int) -> str:
    return f"{n / 1024**3:.2f} GB" if n >= 1024**3 else f"{n / 1024**2:.1f} MB"


def weight_files(names: Iterable[str], repo: str, trust_pickle: bool = False) -> list[str]:
    """The weight files to fetch and load, main weights first: safe ones whenever the repo has them (pickled ones
    beside them are never fetched); pickled ones only when the repo is trusted."""
    names = [n for n in names if n not in METADATA_FILES]
    safe = sorted((n for n in names if n.endswith(SAFE_SUFFIXES)), key=lambda n: (not n.startswith("model"), n))
    if safe:
        return safe
    pickled = sorted(n for n in names if n.endswith(PICKLED_SUFFIXES))
    if pickled and not trust_pickle:
        raise PickleRefused(repo, pickled)
    if pickled:
        return pickled
    raise ModelError(f"'{repo}' has no model weights the workbench can read (safetensors or .keras); "
                     f"its files: {', '.join(names) or 'none'}.")


def read_config(folder: Path, repo: str) -> dict:
    path = folder / "config.json"
    if not path.is_file():
        return {}
    try:
        config = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as err:
        raise ModelError(f"'{repo}': config.json is not valid JSON ({err}).") from None
    if not isinstance(config, dict):
        raise ModelError(f"'{repo}': config.json must hold a JSON object.")
    return config


def repo_kind(config: dict, weights: Iterable[str], repo: str) -> str:
    """The repo's kind (one of KINDS), from its config and weight files."""
    weights = list(weights)
    if "framework" in config and "task" in config:
        return "workbench"
    if "architecture" in config and ("pretrained_cfg" in config or "num_classes" in config):
        return "timm"
    if "model_type" in config or "architectures" in config:
        if config.get("auto_map"):
            raise ModelError(f"'{repo}' needs its own Python code to build the model (auto_map, trust_remote_code); "
                             "the workbench never runs a repo's code.")
        return "transformers"
    if any(w.endswith((".keras", ".h5")) for w in weights):
        return "keras"
    raise ModelError(f"'{repo}' is not a model the workbench can read: expected the workbench's config.json, a "
                     "transformers or timm config.json, or a .keras file.")
