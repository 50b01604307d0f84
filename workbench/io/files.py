"""Reading a file from disk for decoding."""

from workbench.errors import InputError


def read_file(path: str) -> bytes:
    """Read a file, turning OS errors into InputError."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as err:
        raise InputError(f"cannot read {path}: {err.strerror}.") from None
