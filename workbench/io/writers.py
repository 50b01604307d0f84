"""The one writer of each output format the CLI, the app, the report and the evaluation share: a metric table as
CSV text, an array as .npy bytes, files packed in a ZIP (the PNG encoder is `image.encode_png`). Written once, the
files a user gets from the app, the report ZIP and the command line cannot drift apart."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence

import numpy as np


def csv_text(rows: Sequence[dict], columns: Sequence[str], line_end: str = "\n") -> str:
    """A metric table as CSV: a header of `columns`, then one line per row (a missing value is blank).
    `line_end` is the csv module's own "\\r\\n" only for the evaluation tables, which have always had it."""
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator=line_end)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    """An array as the bytes `np.save` writes to a .npy file (dtype and shape as they are, nothing normalised)."""
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


def zip_files(files: dict[str, bytes], deflate: bool = False) -> bytes:
    """Files in one zip, stored as they are (PNGs are compressed already), or deflated (maps and text shrink)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()
