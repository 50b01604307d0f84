"""The server's settings: what the operator decides for every browser session, read once from the environment.

The app is a shared server: anything that could run code on it (pickled weights, a path on its disk) or hold its
cores for minutes is the operator's choice, made here and off (or bounded) by default. The CLIs run on the user's
own machine and keep their flags (`--trust-pickle`, a model folder as `--model`). A value that does not parse logs a
warning and keeps the default: a typo never silently widens what a session may do.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields

log = logging.getLogger(__name__)

# One request's budget in passes over a 128 x 128 one-channel input (a bundled model's): LIME at 2,000 samples on
# the largest bundled model (the 128 x 128 DenseNet) costs 2,000, about 20 s here (benchmarks/bench_methods.py).
# A larger input costs more per pass, in proportion to its values (a 224 x 224 RGB image: 9.2 passes a pass).
REFERENCE_VALUES = 128 * 128
DEFAULT_MAX_PASSES = 4000
DEFAULT_HUB_MAX_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class Setting:
    env: str
    help: str


@dataclass(frozen=True)
class ServerSettings:
    """Each field is one environment variable (`SETTINGS` names it and says what it does)."""

    trust_pickle: bool = False
    local_models: bool = False
    hub: bool = True
    max_passes: int = DEFAULT_MAX_PASSES
    max_cases: int = 500
    workers: int = 0  # 0: the number of cores
    hub_max_bytes: int = DEFAULT_HUB_MAX_BYTES
    log_level: str = "WARNING"
    device: str = "auto"

    @property
    def job_slots(self) -> int:
        return self.workers or os.cpu_count() or 1

    def rows(self) -> list[tuple[str, str, str]]:
        """(variable, value, what it does), for the sidebar's "This server" and `make serve`."""
        return [(SETTINGS[f.name].env, _shown(getattr(self, f.name), f.name, self), SETTINGS[f.name].help)
                for f in fields(self)]


SETTINGS = {
    "trust_pickle": Setting("WORKBENCH_TRUST_PICKLE", "1: the sidebar offers a switch to load a Hub repo's pickled "
                            "weights (they can run code on this server); 0: such a repo is refused"),
    "local_models": Setting("WORKBENCH_LOCAL_MODELS", "1: the sidebar's model field accepts a folder on this server"),
    "hub": Setting("WORKBENCH_HUB", "0: no Hugging Face Hub models, bundled ones only"),
    "max_passes": Setting("WORKBENCH_MAX_PASSES", "one Run's budget in model passes (per 128x128 one-channel "
                          "input; a larger input counts in proportion); a Run over it is refused before it starts"),
    "max_cases": Setting("WORKBENCH_MAX_CASES", "the largest number of cases (N) the Evaluation and "
                         "Model performance tabs take"),
    "workers": Setting("WORKBENCH_WORKERS", "jobs computed at once on this server (0: one per core); the rest "
                       "wait in arrival order"),
    "hub_max_bytes": Setting("WORKBENCH_HUB_MAX_BYTES", "the most a Hub repo's files may hold, in bytes"),
    "log_level": Setting("WORKBENCH_LOG_LEVEL", "the server log's level (DEBUG shows converted errors' causes)"),
    "device": Setting("WORKBENCH_DEVICE", "where PyTorch models run: auto (a CUDA GPU when torch sees one, else the "
                      "CPU), cpu, cuda or cuda:N; Keras models use TensorFlow's own placement"),
}
_FLAGS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _shown(value, name: str, settings: ServerSettings) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if name == "workers" and not value:
        return f"0 ({settings.job_slots} cores)"
    return str(value)


def _parse(name: str, text: str, default):
    """The value `text` gives the field, or None when it does not parse."""
    if isinstance(default, bool):
        return _FLAGS.get(text.strip().lower())
    if isinstance(default, int):
        try:
            value = int(text.strip())
        except ValueError:
            return None
        return value if value >= (0 if name == "workers" else 1) else None
    if name == "device":  # checked against the machine when a model loads (workbench.device), without torch here
        return text.strip().lower() if re.fullmatch(r"auto|cpu|cuda(:\d+)?", text.strip().lower()) else None
    return text.strip().upper() if text.strip().upper() in _LEVELS else None


def read_settings(environ: Mapping[str, str]) -> ServerSettings:
    """Settings from an environment; a bad value is logged and replaced by the default."""
    defaults, values = ServerSettings(), {}
    for f in fields(ServerSettings):
        env = SETTINGS[f.name].env
        if env not in environ:
            continue
        value = _parse(f.name, environ[env], getattr(defaults, f.name))
        if value is None:
            log.warning("%s=%r is not a valid value; using the default %s.", env, environ[env],
                        _shown(getattr(defaults, f.name), f.name, defaults))
            continue
        values[f.name] = value
    return ServerSettings(**values)


@functools.cache
def server_settings() -> ServerSettings:
    """This process's settings, read from the environment once (tests clear the cache after changing it)."""
    return read_settings(os.environ)


def configure_logging(level: str | None = None) -> logging.Logger:
    """The one `workbench` logger writes to stderr at the server's level (warnings by default). Messages never
    hold input contents or tokens: names, sizes and exception types only."""
    logger = logging.getLogger("workbench")
    if not any(getattr(h, "workbench", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.workbench = True
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level or server_settings().log_level)
    return logger


def serving_notice(settings: ServerSettings, port: str) -> str:
    """What `make serve` prints before it starts: the settings every session gets, and who can use them."""
    rows = settings.rows()
    env_width, value_width = (max(len(row[k]) for row in rows) for k in (0, 1))
    lines = ["Serving the workbench on every network interface with these settings (environment variables):", ""]
    lines += [f"  {env:<{env_width}} = {value:<{value_width}}  {help}" for env, value, help in rows]
    lines += ["", f"Warning: anyone who can reach port {port} of this machine can use the app with these settings. "
              "For yourself alone, use `make run` (this machine only)."]
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] != ["--serving"]:
        sys.exit("usage: python -m workbench.settings --serving [PORT]")
    print(serving_notice(server_settings(), sys.argv[2] if len(sys.argv) > 2 else "8501"))
