"""Where ge2conn keeps its files: the cache (``GE2CONN_HOME``) and the offline mirror (``GE2CONN_MIRROR``)."""

from __future__ import annotations

import os
from pathlib import Path

from ge2conn.data.errors import DatasetError
from ge2conn.utils.suggest import did_you_mean

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


def resolve_dataset(name_or_path: str | Path) -> Path:
    """Turn a dataset name (``dk82``) or a file path into the path of its ``.h5`` file.

    Args:
        name_or_path: A path to an existing ``.h5`` file, or the name of a built dataset.

    Returns:
        The file path.

    Raises:
        DatasetError: when neither a file nor a built dataset of that name exists.
    """
    candidate = Path(name_or_path).expanduser()
    if candidate.suffix in {".h5", ".hdf5"} or candidate.exists():
        if not candidate.exists():
            raise DatasetError(candidate, "<file>", "no such file", "check the path")
        return candidate
    built = datasets_dir() / f"{name_or_path}.h5"
    if not built.exists():
        from ge2conn.data.recipes import RECIPES  # the recipes import this module

        name = str(name_or_path)
        if name in RECIPES:
            raise DatasetError(built, "<file>", f"dataset '{name}' has not been built",
                               f"run `ge2conn data build {name}` (see `ge2conn data list`)")
        built_names = {path.stem for path in datasets_dir().glob("*.h5") if not path.stem.endswith(".nulls")}
        known = sorted(set(RECIPES) | built_names)
        raise DatasetError(name, "dataset", "no built-in or built dataset of this name"
                           f"{did_you_mean(name, known)}", f"use one of {', '.join(known)}, a path to a .h5 "
                           "file, or import your own data with `ge2conn data import --name NAME ...`")
    return built
