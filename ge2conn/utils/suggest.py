"""Suggesting the closest valid word for a misspelled one (dataset names, command-line options)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The choice most similar to ``word`` (difflib ratio at least ``cutoff``), or None.

    Args:
        word: What the user typed.
        choices: The valid words.
        cutoff: Smallest similarity in [0, 1] worth suggesting.

    Returns:
        The closest choice, or None when nothing is close enough.
    """
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return matches[0] if matches else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'X'?)`` for the closest choice, or an empty string."""
    match = closest(word, choices)
    return f" (did you mean '{match}'?)" if match else ""
