"""Reading user files into arrays and writing pictures: every decoder failure becomes an InputError."""

from workbench.io.audio import decode_audio
from workbench.io.files import read_file
from workbench.io.image import MAX_PIXELS, decode_image, encode_png

__all__ = ["MAX_PIXELS", "decode_audio", "decode_image", "encode_png", "read_file"]
