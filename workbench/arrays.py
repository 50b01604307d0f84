"""Array helpers every layer shares: the one resize, and content hashes for cache keys."""

from __future__ import annotations

import hashlib

import numpy as np
import torch


def resize(array: np.ndarray, size: tuple[int, int], mode: str = "auto") -> np.ndarray:
    """Resize the last two axes of a float array (H x W, C x H x W or N x C x H x W).

    mode "auto" (inputs): area averaging when shrinking, bilinear when enlarging;
    mode "bilinear" (maps): bilinear with half-pixel centres, as Captum and pytorch-grad-cam upsample CAMs.
    """
    size = (int(size[0]), int(size[1]))
    if array.shape[-2:] == size:
        return np.asarray(array, np.float32)
    lead = array.shape[:-2]
    t = torch.from_numpy(np.ascontiguousarray(array, np.float32)).reshape(1, -1, *array.shape[-2:])
    shrink = array.shape[-2] >= size[0] and array.shape[-1] >= size[1]
    if mode == "auto" and shrink:
        out = torch.nn.functional.interpolate(t, size=size, mode="area")
    else:
        out = torch.nn.functional.interpolate(t, size=size, mode="bilinear", align_corners=False)
    return out.reshape(*lead, *size).numpy()


def content_hash(*arrays: np.ndarray | None, length: int = 16) -> str:
    """sha256 of arrays' shapes, dtypes and bytes: the input and region part of cache keys."""
    digest = hashlib.sha256()
    for a in arrays:
        if a is None:
            digest.update(b"none")
            continue
        a = np.ascontiguousarray(a)
        digest.update(f"{a.dtype.str}{a.shape}".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()[:length]
