"""How large an input may be: checked from a file's header, before any pixel is decoded."""

from workbench.errors import InputError

MAX_PIXELS = 50_000_000


def check_size(width: int, height: int, name: str) -> None:
    if width * height > MAX_PIXELS:
        raise InputError(f"{name} is {width}x{height} = {width * height:,} pixels; the limit is "
                         f"{MAX_PIXELS:,} pixels.")
