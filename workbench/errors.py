"""The two kinds of error whose message is shown to the user as it is (UI) or on one stderr line (CLI)."""


class InputError(ValueError):
    """A problem with the user's input: a file, a parameter, a choice that does not apply."""


class ModelError(RuntimeError):
    """A model cannot be found, fetched or loaded."""
