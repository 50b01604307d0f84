"""DICOM images through pydicom: rescale slope/intercept, window/level, MONOCHROME1 inverted.

Files without the 128-byte preamble and "DICM" marker are read with `force=True` when nothing
else recognises them.
"""

from __future__ import annotations

import io
import logging

import numpy as np

from workbench.errors import InputError, converted
from workbench.io.limits import check_size


def looks_like_dicom(data: bytes) -> bool:
    return data[128:132] == b"DICM"


def _first(value) -> float:
    """A DICOM value that may be multi-valued (several windows): its first entry."""
    try:
        return float(value[0])
    except TypeError:
        return float(value)


def decode_dicom(data: bytes, name: str = "the file", sniffed: bool = True) -> np.ndarray:
    """A DICOM image's first frame in [0, 1] as the modality and its display settings intend."""
    import pydicom
    from pydicom.pixels import apply_modality_lut

    unreadable = InputError(f"{name} is not a readable image (PNG, JPEG, TIFF, BMP, GIF, WebP or DICOM expected).")
    logging.getLogger("pydicom").setLevel(logging.ERROR)  # its warnings would reach the CLI's stderr
    try:
        ds = pydicom.dcmread(io.BytesIO(data), force=not sniffed)
    except Exception:  # noqa: BLE001  (pydicom raises many kinds for a file that is not DICOM)
        raise unreadable from None
    if "PixelData" not in ds:
        raise (unreadable if not sniffed else InputError(f"{name} is a DICOM file without an image."))
    check_size(int(ds.get("Columns", 0)), int(ds.get("Rows", 0)) * int(ds.get("NumberOfFrames", 1) or 1), name)
    if "TransferSyntaxUID" not in ds.file_meta:
        ds.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian  # what a preamble-less file uses
    try:
        pixels = ds.pixel_array
    except Exception as err:  # noqa: BLE001
        reason = str(err).splitlines()[0].rstrip(":") if str(err) else type(err).__name__
        syntax = ds.file_meta.TransferSyntaxUID.name
        raise converted(InputError(f"{name}: its DICOM pixel data ({syntax}) cannot be decoded ({reason})."),
                        err) from None
    if int(ds.get("NumberOfFrames", 1) or 1) > 1:
        pixels = pixels[0]
    if ds.get("PhotometricInterpretation", "MONOCHROME2") not in ("MONOCHROME1", "MONOCHROME2"):
        rgb = pixels.astype(np.float64)
        return (rgb / (rgb.max() or 1.0)).astype(np.float32)
    values = apply_modality_lut(pixels, ds).astype(np.float64)  # rescale slope and intercept
    if not np.isfinite(values).all():
        raise InputError(f"{name} holds NaN or infinite values.")
    if "WindowCenter" in ds and "WindowWidth" in ds:
        centre, width = _first(ds.WindowCenter), max(_first(ds.WindowWidth), 1.0)
        out = np.clip((values - (centre - 0.5)) / (width - 1 or 1.0) + 0.5, 0, 1)  # DICOM linear window
    else:
        out = (values - values.min()) / (np.ptp(values) or 1.0)
    if ds.PhotometricInterpretation == "MONOCHROME1":  # low values are white
        out = 1 - out
    return out.astype(np.float32)
