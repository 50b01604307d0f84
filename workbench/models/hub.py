"""Where a model's files are: a bundled id, a model folder, or a Hub repo resolved by huggingface_hub.

From the local folder on, bundled and Hub models are one path.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from workbench.errors import ModelError
from workbench.paths import MODELS_DIR

WEIGHT_FILES = ("model.safetensors", "model.keras")
HUB_FILES = ["config.json", "README.md", "ood.safetensors", *WEIGHT_FILES]


def _file_digest(path: Path) -> str:
    stat = path.stat()
    return _digest(path.resolve(), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _digest(path: Path, _size: int, _mtime_ns: int) -> str:
    """sha256 of a weights file, read again only when its size or time stamp changes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def resolve_model_dir(model_id: str, revision: str | None = None) -> tuple[Path, str, str]:
    """Bundled id, model folder path or Hub repo id -> (local folder, revision, source).

    A bundled (or local) model's revision is a digest of its weights, so caches keyed on it are
    content-addressed; a Hub model's is the commit its revision resolved to.
    """
    bundled, folder = MODELS_DIR / model_id, Path(model_id)
    for local, source in ((bundled, "bundled"), (folder, "local")):
        if (source == "local" or "/" not in model_id) and (local / "config.json").is_file():
            weights = next((local / f for f in WEIGHT_FILES if (local / f).exists()), None)
            return local, _file_digest(weights) if weights else "none", source
    if "/" not in model_id:
        raise ModelError(f"unknown model '{model_id}': not in models/, not a model folder and not a "
                         "Hub repo id (org/name).")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        folder = Path(snapshot_download(model_id, revision=revision, allow_patterns=HUB_FILES))
    except LocalEntryNotFoundError:
        raise ModelError(f"'{model_id}' is not in the local Hub cache and the Hub cannot be reached "
                         "(offline); download it once where there is a network.") from None
    except (HfHubHTTPError, OSError, ValueError) as err:
        raise ModelError(f"could not fetch '{model_id}' from the Hugging Face Hub: {err}".splitlines()[0]) from None
    return folder, folder.name, "hub"
