"""The two kinds of error whose message is shown to the user as it is (UI) or on one stderr line (CLI)."""

import logging
import sys


class InputError(ValueError):
    """A problem with the user's input: a file, a parameter, a choice that does not apply."""


class ModelError(RuntimeError):
    """A model cannot be found, fetched or loaded."""


def user_message(err: BaseException) -> str:
    """The one line a user is shown for an error. The user's own errors say what to change; anything else is a
    model or library failing, named by its type, and logged with its traceback for the operator."""
    if isinstance(err, InputError | ModelError):
        logging.getLogger("workbench").debug("shown to the user: %s", type(err).__name__, exc_info=err)
        return str(err)
    logging.getLogger("workbench").error("unexpected %s, shown to the user", type(err).__name__, exc_info=err)
    first = str(err).splitlines()[0] if str(err) else ""
    return f"{type(err).__name__}: {first}".rstrip(": ") + ("" if first.endswith(".") else ".")


def converted(error: Exception, cause: BaseException) -> Exception:
    """`error` for the user, with the original `cause` logged (at debug, with its traceback) for the operator:
    `raise converted(InputError(...), err) from None` keeps the user's line short and the cause findable, so a bug of
    ours reported as a damaged file can still be told from one."""
    logging.getLogger("workbench").debug("%s from %s: %s", type(error).__name__, type(cause).__name__, error,
                                         exc_info=cause)
    return error


def fail(message: str) -> int:
    """One line on stderr, exit code 2: how every command line (the CLI, `python -m workbench.training`) reports bad
    input. It lives here, not in the CLI module, so training can report the same way without importing the CLI."""
    print(f"error: {message}", file=sys.stderr)
    return 2
