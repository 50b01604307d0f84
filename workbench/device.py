"""Where PyTorch models run: `auto` (CUDA when torch sees a GPU, else the CPU), `cpu`, `cuda` or `cuda:N`.

One setting for the CLIs (`--device`) and the app (`WORKBENCH_DEVICE`). The PyTorch adapter moves its model once
and every batch to the device; maps, metrics and records come back as float32 numpy on the CPU, so nothing above
the adapter changes. Keras models use TensorFlow's own placement (a GPU build uses its GPU; here, the CPU).
A device also sets how many input copies a method builds and scores at once (`chunk_bytes`): a GPU takes far
larger batches than the CPU's 64 MB.
"""

from __future__ import annotations

import re

from workbench.errors import InputError

AUTO = "auto"
CHOICES = "auto, cpu, cuda or cuda:N"
CHUNK_BYTES = {"cpu": 64 * 2**20, "cuda": 1024 * 2**20}  # input copies built and scored at once, per device kind
TENSORFLOW = "tensorflow"  # a Keras model's device: wherever TensorFlow places it


def resolve_device(name: str | None) -> str:
    """The device a setting names, checked against this machine ('cpu' or 'cuda:N'); InputError says why not."""
    import torch

    name = (name or AUTO).strip().lower()
    if name == AUTO:
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return name
    found = re.fullmatch(r"cuda(?::(\d+))?", name)
    if found is None:
        raise InputError(f"unknown device '{name}': give {CHOICES}.")
    if not torch.cuda.is_available():
        raise InputError(f"device '{name}' asked for, but torch sees no CUDA GPU on this machine: use cpu or auto.")
    index = int(found[1] or 0)
    if index >= torch.cuda.device_count():
        raise InputError(f"device '{name}': this machine has {torch.cuda.device_count()} CUDA GPU(s), numbered "
                         "from 0.")
    return f"cuda:{index}"


def chunk_bytes(device: str) -> int:
    """The memory budget of a method's batch of input copies on `device`."""
    return CHUNK_BYTES["cuda" if device.startswith("cuda") else "cpu"]
