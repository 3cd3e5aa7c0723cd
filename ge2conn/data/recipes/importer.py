"""``ge2conn data import``: build a dataset from a user's own files (UK Biobank, HCP, LEMON, ...).

Inputs (text files may be comma-, tab- or semicolon-separated whatever their extension; the delimiter is
detected from the content, see :mod:`ge2conn.data.recipes.delimited`):

* coordinates: columns ``label, x, y, z`` (MNI mm), non-empty distinct labels, distinct and not degenerate
  points. Its row order is the dataset's region order.
* expression: a label column (``label`` unless told otherwise) and one column per gene (HGNC symbols); rows
  are matched to the coordinates by label (any order); empty/NaN cells are missing. A region may have an
  all-missing row (no samples; dropped with a warning on load), but not a partly missing one. No gene
  matching the reference is an error; fewer than :data:`MIN_PLACED_FRACTION` placed genes give a warning.
* fc: the population FC, square and symmetric: a ``.npy`` array or a headerless text matrix (its order is
  *assumed* to be the coordinates order; the import says so), or a text matrix with a header row and an index
  column of region labels (aligned to the coordinates by label; the region sets must agree). Values must fit
  the declared ``fc_transform`` (Pearson r within ±1; Fisher z that never leaves [-1, 1] gives a warning) and
  stay within ±:data:`~ge2conn.data.checks.MAX_FC_MAGNITUDE`.
* individual (optional): a folder of ``.npy``/``.csv`` matrices of the same kind, one per subject (file
  stem = subject id, sorted by name); NaN marks missing entries.
* regions (optional): columns ``label`` and any of ``hemisphere`` (L/R/M), ``structure``
  (cortex/subcortex/cerebellum/brainstem), ``network``. Without it, hemisphere follows the sign of x
  (|x| < 1 mm → M), structure is cortex and network is "Unknown".
* sphere (optional): ``label, x, y, z`` sphere coordinates for cortical regions (normalized to unit length).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ge2conn.data.checks import (
    MIN_COORDINATE_SPREAD_MM,
    check_connectivity,
    check_coordinates,
    check_dataset_name,
    check_expression_values,
    check_fc_transform,
    check_labels,
    regions_without_samples,
)
from ge2conn.data.errors import DatasetError
from ge2conn.data.format import HEMISPHERES, STRUCTURES, BrainDataset
from ge2conn.data.paths import datasets_dir
from ge2conn.data.recipes.assemble import RegionTable, assemble_dataset, matching_summary
from ge2conn.data.recipes.common import BuildContext, read_expression_text
from ge2conn.data.recipes.delimited import (
    align_matrix,
    read_square_matrix,
    read_table,
    read_text,
    sniff_delimiter,
)
from ge2conn.data.sources import sha256_of
from ge2conn.utils.version import __version__

MIDLINE_MM = 1.0
MIN_PLACED_FRACTION = 0.5
"""Below this fraction of gene columns matched to a positioned reference gene, the import warns."""


def _xyz(path: Path, table: list[dict[str, str]], min_spread: float = MIN_COORDINATE_SPREAD_MM) -> np.ndarray:
    try:
        values = np.array([[float(row[axis]) for axis in "xyz"] for row in table])
    except ValueError as error:
        raise DatasetError(
            path, "x/y/z", f"non-numeric coordinate ({error})", "give coordinates in mm"
        ) from error
    check_coordinates(path, "x/y/z", [row["label"] for row in table], values, min_spread)
    return values


def _check_no_unknown_labels(path: Path, unknown: list[str]) -> None:
    """Fail, naming ``path``, when it has labels (``unknown``) that the coordinates file lacks."""
    if unknown:
        raise DatasetError(
            path,
            "label",
            f"labels not in the coordinates file: {unknown[:5]}",
            "use the same labels in every input file",
        )


def _region_metadata(
    path: Path | None, labels: list[str], centroids: np.ndarray
) -> tuple[list[str], list[str], list[str]]:
    hemisphere = ["M" if abs(x) < MIDLINE_MM else ("L" if x < 0 else "R") for x in centroids[:, 0]]
    structure = ["cortex"] * len(labels)
    network = ["Unknown"] * len(labels)
    if path is None:
        return hemisphere, structure, network
    table = {row["label"]: row for row in read_table(path, ["label"])}
    unknown = sorted(set(table) - set(labels))
    _check_no_unknown_labels(path, unknown)
    for index, label in enumerate(labels):
        row = table.get(label, {})
        hemisphere[index] = row.get("hemisphere") or hemisphere[index]
        structure[index] = row.get("structure") or structure[index]
        network[index] = row.get("network") or network[index]
    for field, values, allowed in (
        ("hemisphere", hemisphere, HEMISPHERES),
        ("structure", structure, STRUCTURES),
    ):
        bad = sorted(set(values) - set(allowed))
        if bad:
            raise DatasetError(path, field, f"unknown values {bad[:5]}", f"use one of {allowed}")
    return hemisphere, structure, network


def import_dataset(
    name: str,
    expression: Path,
    connectivity: Path,
    coordinates: Path,
    regions: Path | None = None,
    sphere: Path | None = None,
    individual: Path | None = None,
    gene_list: Path | None = None,
    output: Path | None = None,
    label_column: str = "label",
    fc_transform: str = "as provided",
    keep_unplaced: bool = True,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Build a dataset from user files (see the module docstring for the formats).

    Args:
        name: Dataset name.
        expression: Regions × genes table.
        connectivity: Population FC matrix.
        coordinates: ``label, x, y, z`` table (defines the region order).
        regions: Optional ``label, hemisphere, structure, network`` table.
        sphere: Optional ``label, x, y, z`` sphere coordinates of cortical regions.
        individual: Optional folder of individual FC matrices.
        gene_list: Optional gene list restricting the genes.
        output: Destination (default ``datasets_dir()/NAME.h5``).
        label_column: Region-label column of the expression table.
        fc_transform: How the FC was computed/transformed (recorded in provenance).
        keep_unplaced: Keep genes without a known genomic position (last, in input order).
        log: Progress callback.

    Returns:
        The dataset path.

    Raises:
        DatasetError: naming the input file, the field and the fix, for any malformed input.
    """
    check_dataset_name(name)
    context = BuildContext(log=log or (lambda message: None))
    coordinates = Path(coordinates)
    coordinate_table = read_table(coordinates, ["label", "x", "y", "z"])
    labels = [row["label"] for row in coordinate_table]
    centroids = _xyz(coordinates, coordinate_table)
    matrix, genes = _read_expression(Path(expression), label_column, labels, coordinates)
    population = _read_connectivity(Path(connectivity), "fc", labels, coordinates, context)
    warning = check_fc_transform(connectivity, "fc", population, fc_transform)
    if warning:
        warnings.warn(warning, UserWarning, stacklevel=2)
    hemisphere, structure, network = _region_metadata(Path(regions) if regions else None, labels, centroids)
    sphere_coordinates = (
        _read_sphere(Path(sphere), labels) if sphere is not None else np.full((len(labels), 3), np.nan)
    )
    stack, subjects = None, None
    if individual is not None:
        stack, subjects = _read_individual(Path(individual), labels, coordinates, context)

    provenance: dict[str, Any] = {
        "recipe": "import",
        "fc_transform": fc_transform,
        "inputs": {
            role: {"file": str(path), "sha256": sha256_of(Path(path))}
            for role, path in (
                ("expression", expression),
                ("fc", connectivity),
                ("coordinates", coordinates),
                ("regions", regions),
                ("sphere", sphere),
            )
            if path is not None
        },
        "ge2conn_version": __version__,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if individual is not None:
        provenance["inputs"]["individual"] = {"folder": str(individual), "subjects": len(subjects or [])}
    table = RegionTable(labels, hemisphere, structure, network, centroids, sphere_coordinates)
    dataset = assemble_dataset(
        name,
        table,
        matrix,
        genes,
        population,
        context,
        provenance,
        gene_list=gene_list,
        keep_unplaced=keep_unplaced,
        individual=stack,
        subjects=subjects,
    )
    _check_gene_matching(Path(expression), dataset)
    return dataset.save(Path(output) if output is not None else datasets_dir() / f"{name}.h5")


def _read_expression(
    path: Path, label_column: str, labels: list[str], coordinates: Path
) -> tuple[np.ndarray, list[str]]:
    text = read_text(path, "expression")
    expression_labels, genes, values = read_expression_text(
        text, str(path), label_column, delimiter=sniff_delimiter(path, text)
    )
    check_labels(path, label_column, expression_labels)
    rows = {label: row for row, label in enumerate(expression_labels)}
    missing = [label for label in labels if label not in rows]
    extra = [label for label in expression_labels if label not in set(labels)]
    if missing or extra:
        raise DatasetError(
            path,
            label_column,
            f"labels differ from {coordinates.name} (missing {missing[:5]}, unknown {extra[:5]})",
            "use the same labels in every input file; "
            "write an all-empty row for a region without expression samples",
        )
    matrix = values[[rows[label] for label in labels]]
    regions_without_samples(path, labels, matrix)
    check_expression_values(path, "expression", matrix)
    duplicated_genes = sorted({gene for gene in genes if genes.count(gene) > 1})
    if duplicated_genes:
        raise DatasetError(
            path,
            "<header>",
            f"duplicated gene columns {duplicated_genes[:5]}",
            "average or drop duplicated genes",
        )
    return matrix, genes


def _read_connectivity(
    path: Path,
    what: str,
    labels: list[str],
    coordinates: Path,
    context: BuildContext,
    allow_nan: bool = False,
) -> np.ndarray:
    matrix, note = align_matrix(path, what, read_square_matrix(path, what), labels, coordinates)
    check_connectivity(path, what, matrix, allow_nan=allow_nan)
    if what == "fc":
        context.notes.append(note)
    return matrix


def _read_sphere(path: Path, labels: list[str]) -> np.ndarray:
    sphere_table = read_table(path, ["label", "x", "y", "z"])
    positions = {label: index for index, label in enumerate(labels)}
    unknown = [row["label"] for row in sphere_table if row["label"] not in positions]
    _check_no_unknown_labels(path, unknown)
    points = _xyz(path, sphere_table, min_spread=0.0)
    norms = np.linalg.norm(points, axis=1, keepdims=True)
    if (norms[:, 0] == 0).any():
        zero = [row["label"] for row, norm in zip(sphere_table, norms[:, 0], strict=True) if norm == 0]
        raise DatasetError(
            path,
            "x/y/z",
            f"zero vectors for {zero[:5]}",
            "give each region's direction from the sphere centre",
        )
    coordinates = np.full((len(labels), 3), np.nan)
    coordinates[[positions[row["label"]] for row in sphere_table]] = points / norms
    return coordinates


def _read_individual(
    folder: Path, labels: list[str], coordinates: Path, context: BuildContext
) -> tuple[np.ndarray, list[str]]:
    files = sorted(
        path for path in folder.glob("*") if path.suffix.lower() in {".npy", ".csv", ".tsv", ".txt"}
    )
    if not files:
        raise DatasetError(
            folder, "<folder>", "no .npy/.csv matrices found", "put one matrix file per subject"
        )
    stack = np.stack(
        [
            _read_connectivity(path, "individual", labels, coordinates, context, allow_nan=True)
            for path in files
        ]
    )
    context.log(f"individual FC: {len(files)} matrices")
    return stack, [path.stem for path in files]


def _check_gene_matching(path: Path, dataset: BrainDataset) -> None:
    counts = dataset.provenance["gene_matching"]
    placed, total = counts["matched"] + counts["renamed"], counts["input"]
    detail = matching_summary(counts)
    if placed == 0:
        raise DatasetError(
            path,
            "<header>",
            f"none of the {total} gene columns is a known gene with a genomic position ({detail}; first "
            f"columns {dataset.gene_symbols[:4].tolist()})",
            "name the gene columns by HGNC symbol (e.g. APOE, GAPDH); gene tokens need reference positions",
        )
    if placed < MIN_PLACED_FRACTION * total:
        warnings.warn(
            f"{path}: only {placed} of {total} gene columns ({placed / total:.0%}) are known genes with a "
            f"genomic position ({detail}); check the gene symbols (HGNC) of the header",
            UserWarning,
            stacklevel=3,
        )
