"""``ge2conn data import`` for the ecosystem's files: turn them into the importer's own inputs.

abagen tables (``--atlas-info``), parcellation images instead of a coordinates table (``--parcellation``,
``--surfaces``, ``--spheres``), a nilearn connectome stack or a BIDS/XCP-D ``*_relmat.tsv`` folder as
``--individual``, and no ``--fc`` when individual connectomes are given (the population FC is then their
mean) are converted by :func:`standard_import_arguments` into the plain files that
:func:`ge2conn.data.recipes.importer.import_dataset` reads (see :mod:`ge2conn.data.recipes.ecosystem` for the
formats). The converted files are kept in ``<datasets dir>/imports/<name>/``, so the provenance the importer
records (paths and sha256s) points at files that exist.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from ge2conn.data.errors import DatasetError
from ge2conn.data.paths import datasets_dir
from ge2conn.data.recipes.ecosystem import (
    RELMAT_SUFFIX,
    AtlasRegion,
    read_abagen_expression,
    read_atlas_info,
    read_connectome_stack,
    read_parcellation,
    read_relmat_folder,
    region_labels,
)
from ge2conn.utils.atomic import atomic_output


def add_ecosystem_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ecosystem options to the ``ge2conn data import`` parser."""
    parser.add_argument("--atlas-info", type=Path, help="abagen atlas_info CSV (id,label,hemisphere,"
                        "structure); --expression is then abagen's get_expression_data table")
    parser.add_argument("--parcellation", type=Path, nargs="+", help="NIfTI label volume, or GIFTI label "
                        "files LH RH: region centroids instead of --coordinates")
    parser.add_argument("--surfaces", type=Path, nargs="+", help="surfaces of the GIFTI label files (LH RH)")
    parser.add_argument("--spheres", type=Path, nargs="+",
                        help="spheres of those surfaces (spin coordinates)")


def standard_import_arguments(arguments: argparse.Namespace) -> argparse.Namespace:
    """Replace ecosystem inputs of ``ge2conn data import`` by the importer's own files.

    Args:
        arguments: Parsed ``data import`` arguments (with :func:`add_ecosystem_arguments`' options).

    Returns:
        A copy whose ``expression``, ``fc``, ``coordinates``, ``regions``, ``sphere``, ``individual`` and
        ``fc_transform`` name plain files the importer reads; unchanged when no ecosystem input is used.

    Raises:
        DatasetError: naming the file, the field and the fix.
    """
    folder = datasets_dir() / "imports" / arguments.name
    result = standard_region_files(arguments, folder)
    labels = [row[0] for row in _rows(Path(result.coordinates))[1:]]
    if arguments.individual is not None:
        result.individual = _individual_folder(Path(arguments.individual), labels, folder)
    if arguments.fc is None:
        if result.individual is None:
            raise DatasetError("<arguments>", "--fc", "no population FC given",
                               "give --fc, or --individual connectomes whose mean becomes the population FC")
        result.fc = _mean_connectome(Path(result.individual), len(labels), folder)
        result.fc_transform = f"{arguments.fc_transform}; population FC = mean of the individual matrices"
    return result


def standard_region_files(arguments: argparse.Namespace, folder: Path) -> argparse.Namespace:
    """Resolve the region inputs (expression, coordinates, regions, sphere) to the importer's own files.

    Args:
        arguments: Namespace with ``expression``, ``coordinates``, ``regions``, ``sphere``, ``label_column``
            and :func:`add_ecosystem_arguments`' options.
        folder: Where converted files are written.

    Returns:
        A copy with those fields naming plain files (``label_column`` is ``label`` for converted tables).
    """
    result = argparse.Namespace(**vars(arguments))
    atlas_info = read_atlas_info(arguments.atlas_info) if arguments.atlas_info else None
    if arguments.parcellation:
        parcellation = read_parcellation(arguments.parcellation, arguments.surfaces, arguments.spheres)
        labels = region_labels(parcellation, atlas_info)
        points = zip(labels, parcellation.centroids, strict=True)
        result.coordinates = _write_table(folder / "coordinates.csv", ["label", "x", "y", "z"],
                                          [[label, *point] for label, point in points])
        cortical = np.isfinite(parcellation.sphere).all(axis=1)
        if cortical.any() and not arguments.sphere:
            result.sphere = _write_table(folder / "sphere.csv", ["label", "x", "y", "z"],
                                         [[labels[index], *parcellation.sphere[index]]
                                          for index in np.flatnonzero(cortical)])
        if not arguments.regions and atlas_info is None and any(parcellation.hemisphere):
            result.regions = _write_table(folder / "regions.csv", ["label", "hemisphere", "structure"],
                                          [[label, side, "cortex"] for label, side
                                           in zip(labels, parcellation.hemisphere, strict=True)])
    elif arguments.coordinates is None:
        raise DatasetError("<arguments>", "--coordinates", "no region coordinates given",
                           "give --coordinates label,x,y,z or --parcellation (NIfTI, or GIFTI + --surfaces)")
    labels = [row[0] for row in _rows(Path(result.coordinates))[1:]]
    if atlas_info is not None:
        result.expression = _abagen_expression(arguments.expression, atlas_info, folder)
        result.label_column = "label"
        if not arguments.regions:
            by_label = {region.label: region for region in atlas_info.values()}
            result.regions = _write_table(folder / "regions.csv", ["label", "hemisphere", "structure"],
                                          [[label, by_label[label].hemisphere, by_label[label].structure]
                                           for label in labels if label in by_label])
    return result


def _rows(path: Path) -> list[list[str]]:
    if not path.is_file():
        raise DatasetError(path, "<file>", "no such file", "check the path")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle, delimiter="\t" if path.suffix.lower() in {".tsv", ".txt"} else ","))


def _write_table(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as temporary, temporary.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([[f"{value:.6f}" if isinstance(value, float | np.floating) else value
                           for value in row] for row in rows])
    return path


def _abagen_expression(path: Path, atlas_info: dict[int, AtlasRegion], folder: Path) -> Path:
    labels, genes, values = read_abagen_expression(Path(path), atlas_info)
    return _write_table(folder / "expression.csv", ["label", *genes],
                        [[label, *("" if np.isnan(value) else repr(float(value)) for value in row)]
                         for label, row in zip(labels, values, strict=True)])


def _individual_folder(source: Path, labels: list[str], folder: Path) -> Path:
    """A folder of per-subject ``.npy`` matrices: as given, or converted from a stack / relmat folder."""
    if source.is_file() and source.suffix == ".npy":
        stack, subjects = read_connectome_stack(source, len(labels))
    elif source.is_dir() and any(source.rglob(f"*{RELMAT_SUFFIX}")):
        stack, subjects = read_relmat_folder(source, labels)
    else:
        return source
    target = folder / "individual"
    target.mkdir(parents=True, exist_ok=True)
    for stale in target.glob("*.npy"):
        stale.unlink()
    for matrix, subject in zip(stack, subjects, strict=True):
        with atomic_output(target / f"{subject}.npy") as temporary, temporary.open("wb") as handle:
            np.save(handle, matrix.astype(np.float32))
    return target


def _mean_connectome(individual: Path, size: int, folder: Path) -> Path:
    matrices = [np.load(path) for path in sorted(individual.glob("*.npy"))]
    if not matrices:
        raise DatasetError(individual, "<folder>", "no .npy matrices to average into a population FC",
                           "give --fc")
    stack = np.stack(matrices).astype(np.float64)
    if stack.shape[1:] != (size, size):
        raise DatasetError(individual, "<matrices>", f"shape {stack.shape[1:]} for {size} regions",
                           "order the matrices like the coordinates")
    with np.errstate(invalid="ignore"), atomic_output(folder / "population_fc.npy") as temporary, \
            temporary.open("wb") as handle:
        np.save(handle, np.nanmean(stack, axis=0))
    return folder / "population_fc.npy"
