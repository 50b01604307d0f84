"""Image files to float arrays (with the bad-input checks the app and CLI share), and the one PNG encoder."""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from workbench.errors import InputError

MAX_PIXELS = 50_000_000


def decode_image(data: bytes, name: str = "the file") -> np.ndarray:
    """Decode PNG/JPEG bytes to float32 in [0, 1]: H x W (gray) or H x W x 3 (colour).

    16-bit images keep their full range; alpha is composited onto black (the background of a
    radiograph); palette images are expanded. Raises InputError for anything unreadable.
    """
    if not data:
        raise InputError(f"{name} is empty.")
    # Our own size limit replaces Pillow's decompression-bomb check (we read the header first).
    Image.MAX_IMAGE_PIXELS = None
    try:
        img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise InputError(f"{name} is not a readable image (PNG or JPEG expected).") from None
    w, h = img.size
    if w * h > MAX_PIXELS:
        raise InputError(f"{name} is {w}x{h} = {w * h / 1e6:.0f} megapixels; the limit is "
                         f"{MAX_PIXELS / 1e6:.0f} megapixels.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img.load()
    except (OSError, SyntaxError, ValueError) as err:
        raise InputError(f"{name} could not be decoded; it may be truncated or corrupt ({err}).") from None
    return _to_float(img)


def _to_float(img: Image.Image) -> np.ndarray:
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        return np.asarray(img, dtype=np.float32) / 65535.0
    if img.mode == "I":  # 32-bit int container, in practice 16-bit data
        arr = np.asarray(img, dtype=np.float32)
        return np.clip(arr / (65535.0 if arr.max() > 255 else 255.0), 0, 1)
    if img.mode == "F":
        arr = np.asarray(img, dtype=np.float32)
        return np.clip(arr / max(float(arr.max()), 1.0), 0, 1)
    if img.mode in ("1", "L"):
        return np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    if img.mode in ("LA", "La", "RGBA", "RGBa", "PA"):
        arr = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
        rgb = arr[..., :3] * arr[..., 3:4]
        return rgb[..., 0] if img.mode.startswith("L") else rgb
    return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0


def encode_png(picture: np.ndarray) -> bytes:
    """uint8 (H x W or H x W x 3), float in [0, 1] or bool array as PNG bytes."""
    if picture.dtype != np.uint8:
        picture = (np.clip(picture.astype(np.float32), 0, 1) * 255).round().astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(picture).save(buf, "PNG")
    return buf.getvalue()
