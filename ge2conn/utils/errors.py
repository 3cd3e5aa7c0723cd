"""User errors: what a user got wrong, printed as one clean block (file, field, fix) instead of a traceback.

:class:`UserInputError` is the base of every error caused by the user's input (a dataset, a checkpoint, an
option value). Its message always names the input, the field and the fix. The command-line entry points catch
these (and plain ValueErrors raised while checking options) and print :func:`format_user_error`; the full
traceback is shown with ``--traceback`` or ``GE2CONN_TRACEBACK=1``.
"""

from __future__ import annotations

import os
from pathlib import Path

TRACEBACK_FLAG = "--traceback"
TRACEBACK_VARIABLE = "GE2CONN_TRACEBACK"


class UserInputError(ValueError):
    """An input (file, checkpoint, option) is missing, malformed or inconsistent.

    Args:
        path: The offending input (a file, or an option such as ``--data.dataset``).
        field: The field, column or option that is wrong.
        problem: What is wrong, in plain words.
        fix: What the user should do (a command that exists, or a concrete edit).
    """

    def __init__(self, path: str | Path, field: str, problem: str, fix: str) -> None:
        self.path = str(path)
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(f"{self.path}: field '{field}': {problem}. Fix: {fix}")


class OutputError(OSError):
    """The destination of a write cannot be written (missing permission, not a folder, disk full, ...).

    The message names the destination (never the hidden temporary file) and the fix.
    """


USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, OutputError, FileNotFoundError, PermissionError)
"""What the command line prints as a user error (every :class:`UserInputError` is a ValueError)."""


def pop_traceback_flag(argv: list[str]) -> tuple[list[str], bool]:
    """Remove ``--traceback`` from the arguments; say whether tracebacks are wanted (flag or environment).

    Args:
        argv: Command-line arguments.

    Returns:
        The arguments without the flag, and whether to show full tracebacks.
    """
    wanted = TRACEBACK_FLAG in argv or os.environ.get(TRACEBACK_VARIABLE, "") not in ("", "0", "false", "no")
    return [argument for argument in argv if argument != TRACEBACK_FLAG], wanted


def format_user_error(error: BaseException) -> str:
    """The block printed for a user error, as the ``data`` verbs print it, plus how to see the traceback.

    Args:
        error: The exception (a :class:`UserInputError` reads
            ``<input>: field '<field>': <problem>. Fix: <fix>``).

    Returns:
        Two lines.
    """
    return f"error: {error}\n(full traceback: rerun with {TRACEBACK_FLAG} or {TRACEBACK_VARIABLE}=1)"
