"""Find a dataset by name or path: built datasets, then the built-in recipes that could build it.

It sits above :mod:`ge2conn.data.recipes` (which import :mod:`ge2conn.data.paths`), so naming the recipes in
an error closes no import cycle.
"""

from __future__ import annotations

from pathlib import Path

from ge2conn.data.errors import DatasetError
from ge2conn.data.paths import datasets_dir
from ge2conn.utils.suggest import did_you_mean


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
        # Imported only on this error path: the recipes (and their readers) are not needed to open a file.
        from ge2conn.data.recipes import RECIPES

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
