"""Reading user files into arrays and writing pictures: every decoder failure becomes an InputError."""

from workbench.io.audio import AUDIO_FILE_TYPES, decode_audio
from workbench.io.files import read_file
from workbench.io.image import IMAGE_FILE_TYPES, decode_image, encode_png
from workbench.io.limits import MAX_PIXELS

__all__ = ["AUDIO_FILE_TYPES", "IMAGE_FILE_TYPES", "MAX_PIXELS", "decode_audio", "decode_image", "encode_png",
           "read_file"]
