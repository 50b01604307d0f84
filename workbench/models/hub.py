"""Where a model's files are: a bundled id, a model folder, or a Hub repo fetched by huggingface_hub.

From the local folder on, bundled and Hub models are one path. A Hub fetch lists the repo first (one call,
`HUB_TIMEOUT`), refuses what is unsafe or too big before a byte of weights moves (repo_files.py), then
downloads the files one at a time into the standard cache (`HF_HUB_CACHE`), reporting bytes as they arrive.
The standard variables (`HF_HUB_OFFLINE`, `HF_ENDPOINT`, `HF_TOKEN`, `HF_HUB_CACHE`) are huggingface_hub's own.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import InputError, ModelError
from workbench.models.repo_files import METADATA_FILES, size_text, top_level, weight_files
from workbench.paths import MODELS_DIR
from workbench.settings import server_settings

HUB_PREFIX = "hub:"
HUB_TIMEOUT = 4.0  # seconds for the listing call: an unreachable Hub is reported well within 5 s
_REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+$")

Progress = Callable[[int, int], None]  # (bytes done, bytes in all), called as a download goes


@dataclass(frozen=True)
class ModelSource:
    """A resolved model: its local folder, the revision loaded (a Hub commit, or a digest of the weights of
    a bundled or local model), where it came from, and the weight files it loads (pickled ones only with trust)."""

    folder: Path
    revision: str
    source: str  # "bundled", "local" or "hub"
    weights: tuple[str, ...]
    trusted: bool = False  # pickled weights loaded because the user trusted this repo


def parse_model_ref(text: str, revision: str | None = None) -> tuple[str, str | None]:
    """`hub:ORG/NAME[@REVISION]` (the CLIs' and the app's form) to (repo id, revision); any other id is kept,
    with `revision` as given."""
    text = text.strip()
    if not text.startswith(HUB_PREFIX):
        return text, revision
    repo, _, rev = text[len(HUB_PREFIX):].partition("@")
    if not _REPO_ID.match(repo):
        raise InputError(f"'{text}' is not a Hub model reference: write hub:ORG/NAME or hub:ORG/NAME@REVISION.")
    return repo, rev or revision


def max_bytes() -> int:
    """The size limit of one Hub repo's files (`WORKBENCH_HUB_MAX_BYTES`, default 2 GB; a bad value is logged)."""
    return server_settings().hub_max_bytes


def _file_digest(path: Path) -> str:
    stat = path.stat()
    return _digest(path.resolve(), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _digest(path: Path, _size: int, _mtime_ns: int) -> str:
    """sha256 of a weights file, read again only when its size or time stamp changes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _on_disk(folder: Path, source: str, repo: str, trust_pickle: bool) -> ModelSource:
    names = top_level(p.name for p in folder.iterdir() if p.is_file())
    weights = weight_files(names, repo, trust_pickle)
    trusted = not weights[0].endswith((".safetensors", ".keras"))
    revision = folder.name if source == "hub" else _file_digest(folder / weights[0])
    return ModelSource(folder, revision, source, tuple(weights), trusted)


def resolve_model(model_id: str, revision: str | None = None, trust_pickle: bool = False,
                  progress: Progress | None = None, local: bool = True) -> ModelSource:
    """Bundled id, model folder path (only with `local`: a shared server's operator decides) or Hub repo id (or
    `hub:` reference) to its local files.

    A bundled (or local) model's revision is a digest of its weights, so caches keyed on it are content-addressed;
    a Hub model's is the commit its revision resolved to.
    """
    model_id, revision = parse_model_ref(model_id, revision)
    bundled, folder = MODELS_DIR / model_id, Path(model_id)
    if "/" not in model_id and (bundled / "config.json").is_file():
        return _on_disk(bundled, "bundled", model_id, trust_pickle)
    if local and folder.is_dir():
        return _on_disk(folder, "local", model_id, trust_pickle)
    if not _REPO_ID.match(model_id):
        if not local:
            raise InputError(f"'{model_id}' is not a bundled model or a Hub repo id (org/name); this server does "
                             "not load models from its own folders (WORKBENCH_LOCAL_MODELS=0).")
        raise ModelError(f"unknown model '{model_id}': not in models/, not a model folder and not a "
                         "Hub repo id (org/name).")
    return _on_disk(_fetch(model_id, revision, trust_pickle, progress), "hub", model_id, trust_pickle)


def _cached(repo: str, revision: str | None, reason: str) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo, revision=revision, local_files_only=True))
    except (LocalEntryNotFoundError, FileNotFoundError, OSError):
        raise ModelError(f"'{repo}' is not in the local Hub cache and {reason}; fetch it once where the Hub "
                         "can be reached (or set HF_HUB_CACHE to a cache that holds it).") from None


def _fetch(repo: str, revision: str | None, trust_pickle: bool, progress: Progress | None) -> Path:
    """List the repo, check what would be fetched, download it at the listed commit, record the ref."""
    import httpx2 as httpx  # huggingface_hub 2 speaks httpx2
    from huggingface_hub import HfApi, constants
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if constants.HF_HUB_OFFLINE:
        return _cached(repo, revision, "HF_HUB_OFFLINE is set")
    try:
        listing = HfApi().model_info(repo, revision=revision, files_metadata=True, timeout=HUB_TIMEOUT)
    except (GatedRepoError, RepositoryNotFoundError):
        raise ModelError(f"'{repo}' is not on the Hub, or it is private or gated (set HF_TOKEN to a token "
                         "that may read it).") from None
    except RevisionNotFoundError:
        raise ModelError(f"'{repo}' has no revision '{revision}' (a branch, tag or commit).") from None
    except HfHubHTTPError as err:  # before OSError, its base class
        raise ModelError(f"the Hub refused to list '{repo}': {str(err).splitlines()[0]}") from None
    except (httpx.TransportError, OfflineModeIsEnabled, OSError):
        return _cached(repo, revision, f"the Hub ({constants.ENDPOINT}) cannot be reached")
    sizes = {s.rfilename: s.size or 0 for s in listing.siblings or [] if "/" not in s.rfilename}
    wanted = [*(f for f in METADATA_FILES if f in sizes), *weight_files(top_level(sizes), repo, trust_pickle)]
    total, limit = sum(sizes[f] for f in wanted), max_bytes()
    if total > limit:
        raise ModelError(f"'{repo}' holds {size_text(total)} of weights and metadata, over the limit of "
                         f"{size_text(limit)} (WORKBENCH_HUB_MAX_BYTES); nothing was downloaded.")
    try:
        folder = _download(repo, listing.sha, wanted, [sizes[f] for f in wanted], progress)
    except HfHubHTTPError as err:
        raise ModelError(f"the Hub refused a file of '{repo}': {str(err).splitlines()[0]}") from None
    except (httpx.TransportError, OSError) as err:
        raise ModelError(f"the download of '{repo}' broke off: {str(err).splitlines()[0]}") from None
    _record_ref(folder, revision or "main", listing.sha)
    return folder


def _download(repo: str, commit: str, files: list[str], sizes: list[int], progress: Progress | None) -> Path:
    from huggingface_hub import hf_hub_download

    total, done = sum(sizes), 0
    path = None
    for name, size in zip(files, sizes):
        path = hf_hub_download(repo, name, revision=commit, etag_timeout=HUB_TIMEOUT,
                               tqdm_class=_progress_bar(progress, done, total) if progress else None)
        done += size
        if progress:
            progress(done, total)
    return Path(path).parent


def _progress_bar(progress: Progress, before: int, total: int) -> type:
    """A tqdm stand-in for huggingface_hub that reports one file's bytes as part of the whole download."""

    class Bar:
        def __init__(self, *_args, **_kwargs) -> None:
            self.n = 0

        def update(self, n: int | float | None = 1) -> None:
            self.n += int(n or 0)
            progress(min(before + self.n, total), total)

        def __enter__(self) -> Bar:
            return self

        def __exit__(self, *_exc) -> None:
            pass

        def __getattr__(self, _name: str) -> Callable[..., None]:  # close, refresh, set_postfix_str, ...
            return lambda *_a, **_k: None

    return Bar


def _record_ref(snapshot: Path, revision: str, commit: str) -> None:
    """Write refs/<revision> the way huggingface_hub does, so the repo is found offline by its branch or tag."""
    if revision == commit:
        return
    ref = snapshot.parent.parent / "refs" / revision
    ref.parent.mkdir(parents=True, exist_ok=True)
    ref.write_text(commit)
