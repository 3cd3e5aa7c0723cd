"""Errors raised for bad dataset files and bad user input."""

from __future__ import annotations

from pathlib import Path


class DatasetError(ValueError):
    """A dataset file (or an input file used to build one) is missing, malformed or inconsistent.

    The message always names the file, the field and what to do about it.

    Args:
        path: The offending file.
        field: The HDF5 field, CSV column or input that is wrong.
        problem: What is wrong, in plain words.
        fix: What the user should do.
    """

    def __init__(self, path: str | Path, field: str, problem: str, fix: str) -> None:
        self.path = str(path)
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(f"{self.path}: field '{field}': {problem}. Fix: {fix}")


class ChecksumError(DatasetError):
    """A downloaded or mirrored upstream file does not have the pinned sha256."""
