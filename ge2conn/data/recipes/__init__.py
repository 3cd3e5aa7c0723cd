"""Built-in dataset recipes and :func:`build_dataset`.

Each recipe turns pinned public inputs (see :mod:`ge2conn.data.sources`) into a :class:`BrainDataset`
file. Builds are idempotent: an existing file is kept when it was built by the same recipe version with the
same gene list, unless ``force`` is given.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import h5py

from ge2conn.data.errors import DatasetError
from ge2conn.data.format import FORMAT_VERSION, BrainDataset
from ge2conn.data.paths import datasets_dir
from ge2conn.data.recipes.common import BuildContext
from ge2conn.data.recipes.dk import DK_RECIPE_VERSION, build_dk
from ge2conn.data.recipes.glasser import GLASSER_RECIPE_VERSION, build_glasser
from ge2conn.data.recipes.schaefer import SCHAEFER_RECIPE_VERSION, SCHAEFER_RESOLUTIONS, build_schaefer
from ge2conn.data.recipes.ukbb import UKBB_RECIPE_VERSION, build_ukbb
from ge2conn.data.sources import sha256_of
from ge2conn.utils.version import __version__

DEFAULT_DATASET = "dk82"


@dataclass(frozen=True)
class Recipe:
    """A named built-in dataset.

    Attributes:
        name: Dataset name (``ge2conn data build NAME``).
        description: One line for ``ge2conn data list``.
        version: Bump when the output would change; existing files of an older version are rebuilt.
        build: (context, gene_list) → dataset.
    """

    name: str
    description: str
    version: int
    build: Callable[[BuildContext, Path | None], BrainDataset]


def _with_cortex_variant(
    name: str, description: str, cortex_name: str, cortex_description: str, version: int,
    build: Callable[..., BrainDataset], **options: Any,
) -> list[Recipe]:
    """An atlas's recipe and its cortex-only variant (the same builder with ``cortex_only=True``)."""
    return [
        Recipe(name, description, version, partial(build, **options, cortex_only=False)),
        Recipe(cortex_name, cortex_description, version, partial(build, **options, cortex_only=True)),
    ]


def _registry() -> dict[str, Recipe]:
    recipes = _with_cortex_variant(
        "dk82",
        "Desikan-Killiany 68 cortical + 14 subcortical; AHBA ~15k genes; HCP group FC (default)",
        "dk68",
        "Desikan-Killiany 68 cortical regions (cortex-only variant of dk82)",
        DK_RECIPE_VERSION,
        build_dk,
    )
    for size in SCHAEFER_RESOLUTIONS:
        individual = "; 4 individual HCP runs (cubnm)" if size == 100 else ""
        recipes += _with_cortex_variant(
            f"schaefer{size}",
            f"Schaefer-{size} cortex + 14 subcortical; AHBA r>=0.6 genes; HCP group FC{individual}",
            f"schaefer{size}-ctx",
            f"Schaefer-{size} cortex only (cortex-only variant)",
            SCHAEFER_RECIPE_VERSION,
            build_schaefer,
            size=size,
        )
    recipes += _with_cortex_variant(
        "glasser360",
        "Glasser (HCP-MMP1.0) 360 cortex + 14 subcortical; AHBA r>=0.6 genes; HCP group FC",
        "glasser360-ctx",
        "Glasser 360 cortex only (cortex-only variant)",
        GLASSER_RECIPE_VERSION,
        build_glasser,
    )
    recipes += [
        Recipe(
            "ukbb-s100",
            "UK Biobank population FC (the paper's cohort) on Schaefer-100 cortex; AHBA r>=0.6 genes",
            UKBB_RECIPE_VERSION,
            build_ukbb,
        ),
    ]
    return {recipe.name: recipe for recipe in recipes}


RECIPES: dict[str, Recipe] = _registry()


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``.

    Raises:
        DatasetError: for an unknown name, listing the known ones.
    """
    if name not in RECIPES:
        raise DatasetError(
            name,
            "<name>",
            "no built-in dataset of that name",
            f"use one of {', '.join(RECIPES)} or `ge2conn data import` for your own data",
        )
    return RECIPES[name]


def build_key(recipe: Recipe, gene_list: Path | None) -> dict[str, Any]:
    """What decides whether an existing file is up to date: recipe, version, format and gene list hash."""
    return {
        "recipe": recipe.name,
        "format_version": FORMAT_VERSION,
        "recipe_version": recipe.version,
        "gene_list_sha256": None if gene_list is None else sha256_of(Path(gene_list)),
    }


def stored_build_key(path: Path) -> dict[str, Any] | None:
    """The build key recorded in an existing dataset file (None when unreadable or absent)."""
    try:
        with h5py.File(path, "r") as file:
            provenance = json.loads(str(file.attrs.get("provenance", "{}")))
    except (OSError, ValueError):
        return None
    key = provenance.get("build_key")
    return key if isinstance(key, dict) else None


def build_dataset(
    name: str,
    output: Path | None = None,
    gene_list: Path | None = None,
    force: bool = False,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Build a built-in dataset into an HDF5 file (or keep the existing up-to-date one).

    Args:
        name: Recipe name (see :data:`RECIPES`).
        output: Destination file (default ``datasets_dir()/NAME.h5``).
        gene_list: Optional file with one gene symbol per line restricting the genes.
        force: Rebuild even when the file is up to date.
        log: Progress callback (default: silent).

    Returns:
        The dataset path.
    """
    recipe = get_recipe(name)
    destination = Path(output) if output is not None else datasets_dir() / f"{name}.h5"
    key = build_key(recipe, gene_list)
    if not force and destination.exists() and stored_build_key(destination) == key:
        return destination
    context = BuildContext(log=log or (lambda message: None))
    dataset = recipe.build(context, gene_list)
    dataset.provenance.update(
        {
            "build_key": key,
            "recipe": recipe.name,
            "recipe_version": recipe.version,
            "ge2conn_version": __version__,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "build_seconds": round(time.perf_counter() - context.started, 2),
        }
    )
    return dataset.save(destination)


__all__ = ["DEFAULT_DATASET", "RECIPES", "Recipe", "build_dataset", "get_recipe"]
