"""Reading user files into arrays; writing pictures, tables and arrays. Every decoder failure becomes an InputError."""

from workbench.io.audio import AUDIO_FILE_TYPES, decode_audio
from workbench.io.files import read_file
from workbench.io.image import IMAGE_FILE_TYPES, decode_image, encode_png
from workbench.io.limits import MAX_PIXELS
from workbench.io.writers import csv_text, npy_bytes, zip_files

__all__ = ["AUDIO_FILE_TYPES", "IMAGE_FILE_TYPES", "MAX_PIXELS", "csv_text", "decode_audio", "decode_image",
           "encode_png", "npy_bytes", "read_file", "zip_files"]
