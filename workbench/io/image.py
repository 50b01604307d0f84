"""Image files to float arrays, through one decoding path, and the one PNG encoder.

Every way a decoder can fail on a user's file ends here as an InputError with a message: Pillow's
errors (truncated, corrupt, oversized text chunks, anything else a plugin raises), a PNG whose
pixel data stops early (Pillow would fill the missing rows with zeros), non-finite floats, and
images over the pixel limit (checked from the header, before any pixel is decoded). DICOM goes
through pydicom (workbench/io/dicom.py).
"""

from __future__ import annotations

import io
import re
import struct
import warnings
import zlib

import numpy as np
from PIL import Image, UnidentifiedImageError

from workbench import events
from workbench.errors import InputError, converted
from workbench.io.dicom import decode_dicom, looks_like_dicom
from workbench.io.limits import MAX_PIXELS, check_size

# What the upload widget offers; any format Pillow reads is decoded whatever its name says.
IMAGE_FILE_TYPES = ("png", "jpg", "jpeg", "tif", "tiff", "bmp", "gif", "webp", "dcm", "dicom")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# Pillow's decompression-bomb check, once for the process, at the project's own input limit (checked again from the
# header, with the image's size in the message): it warns above it and refuses twice it, for every decoder call.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def decode_image(data: bytes, name: str = "the file") -> np.ndarray:
    """Decode an image file to float32 in [0, 1]: H x W (gray) or H x W x 3 (colour).

    16-bit images keep their full range; alpha is composited onto black (the background of a
    radiograph); palette images are expanded; multi-frame files give their first frame.
    """
    if not data:
        raise InputError(f"{name} is empty.")
    with warnings.catch_warnings():  # decoders warn about odd files; the user gets one message or none
        warnings.simplefilter("ignore")
        if looks_like_dicom(data):
            return decode_dicom(data, name)
        return _decode_pillow(data, name)


def _decode_pillow(data: bytes, name: str) -> np.ndarray:
    try:
        img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        return decode_dicom(data, name, sniffed=False)  # DICOM without its preamble, or not an image
    except Image.DecompressionBombError as err:  # over twice the limit: Pillow refuses it from the header
        counted = re.search(r"\((\d+) pixels\)", str(err))
        size = f"{int(counted[1]):,} pixels" if counted else f"over {2 * MAX_PIXELS:,} pixels"
        raise converted(InputError(f"{name} is {size}; the limit is {MAX_PIXELS:,} pixels."), err) from None
    except Exception as err:  # noqa: BLE001  (any decoder failure is a fact about the file)
        raise _corrupt(name, err) from None
    check_size(*img.size, name)
    if data.startswith(PNG_SIGNATURE):
        _check_png_complete(data, name)
    try:
        img.seek(0)
        img.load()
        return _to_float(img, name)
    except InputError:
        raise
    except Exception as err:  # noqa: BLE001
        raise _corrupt(name, err) from None


def _corrupt(name: str, err: Exception) -> InputError:
    detail = str(err).splitlines()[0] if str(err) else type(err).__name__
    return converted(InputError(f"{name} could not be decoded; it may be truncated or corrupt ({detail})."), err)


def _check_png_complete(data: bytes, name: str) -> None:
    """Inflate the IDAT stream (bounded) and compare with what the header promises."""
    pos, idat, header = len(PNG_SIGNATURE), [], None
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR" and len(body) >= 13:
            header = struct.unpack(">IIBBBBB", body[:13])
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if header is None:
        raise InputError(f"{name} is a PNG without a valid header.")
    width, height, depth, colour, _, _, interlace = header
    if colour not in PNG_CHANNELS:
        raise InputError(f"{name} is a PNG with an invalid colour type {colour}.")
    bits = PNG_CHANNELS[colour] * depth
    passes = ADAM7 if interlace else ((0, 0, 1, 1),)
    expected = sum(((height - y0 + dy - 1) // dy) * (1 + ((width - x0 + dx - 1) // dx * bits + 7) // 8)
                   for x0, y0, dx, dy in passes if width > x0 and height > y0)
    try:
        got = len(zlib.decompressobj().decompress(b"".join(idat), expected))
    except zlib.error as err:
        raise InputError(f"{name} could not be decoded; its pixel data is corrupt ({err}).") from None
    if got < expected:
        raise InputError(f"{name} is truncated: its pixel data stops at {100 * got // expected}% of the "
                         "image.")


def _to_float(img: Image.Image, name: str) -> np.ndarray:
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        if img.mode == "RGB":  # a gray palette (a GIF of a radiograph) stays one channel
            rgb = np.asarray(img, dtype=np.float32) / 255.0
            gray = (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
            return rgb[..., 0] if gray else rgb
    if img.mode.startswith("I;16"):
        return np.asarray(img, dtype=np.float32) / 65535.0
    if img.mode == "I":  # 32-bit integer container: scale by the range the values use
        arr = np.asarray(img, dtype=np.float64)
        top = 255.0 if arr.max() <= 255 else 65535.0 if arr.max() <= 65535 else float(arr.max())
        return np.clip(arr / top, 0, 1).astype(np.float32)
    if img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        if not np.isfinite(arr).all():
            raise InputError(f"{name} holds NaN or infinite values; it cannot be used as an image.")
        if arr.min() < 0 or arr.max() > 1:  # floats outside [0, 1]: stretch their range
            arr = (arr - arr.min()) / (np.ptp(arr) or 1.0)
        return arr.astype(np.float32)
    if img.mode in ("1", "L"):
        return np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    if img.mode in ("LA", "La", "RGBA", "RGBa", "PA"):
        arr = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
        rgb = arr[..., :3] * arr[..., 3:4]
        return rgb[..., 0] if img.mode.startswith("L") else rgb
    return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0


def encode_png(picture: np.ndarray) -> bytes:
    """uint8 (H x W or H x W x 3), float in [0, 1] or bool array as PNG bytes."""
    events.count("pngs")
    if picture.dtype != np.uint8:
        picture = (np.clip(picture.astype(np.float32), 0, 1) * 255).round().astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(picture).save(buf, "PNG")
    return buf.getvalue()
