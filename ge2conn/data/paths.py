"""Where ge2conn keeps its files: the cache (``GE2CONN_HOME``) and the offline mirror (``GE2CONN_MIRROR``)."""

from __future__ import annotations

import os
from pathlib import Path

RESOURCES = Path(__file__).resolve().parent / "resources"
"""Data files shipped inside the package (``package-data`` in pyproject.toml): checksums, gene reference."""


def ge2conn_home() -> Path:
    """The cache root: ``$GE2CONN_HOME`` or ``~/.cache/ge2conn``."""
    return Path(os.environ.get("GE2CONN_HOME", Path.home() / ".cache" / "ge2conn")).expanduser()


def mirror_root() -> Path | None:
    """The offline mirror of upstream files (``$GE2CONN_MIRROR``), or None when unset."""
    value = os.environ.get("GE2CONN_MIRROR")
    return Path(value).expanduser() if value else None


def datasets_dir() -> Path:
    """Folder holding built datasets."""
    return ge2conn_home() / "datasets"
