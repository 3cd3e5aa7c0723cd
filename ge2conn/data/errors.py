"""Errors raised for bad dataset files and bad user input."""

from __future__ import annotations

from ge2conn.utils.errors import UserInputError


class DatasetError(UserInputError):
    """A dataset file (or an input file used to build one) is missing, malformed or inconsistent.

    The message always names the file, the field and what to do about it.

    Args:
        path: The offending file.
        field: The HDF5 field, CSV column or input that is wrong.
        problem: What is wrong, in plain words.
        fix: What the user should do.
    """


class ChecksumError(DatasetError):
    """A downloaded or mirrored upstream file does not have the pinned sha256."""
