"""``ge2conn data import``: build a dataset from a user's own files (UK Biobank, HCP, LEMON, ...).

Inputs (CSV files may be comma- or tab-separated; ``.tsv``/``.tab``/``.txt`` mean tab):

* coordinates: columns ``label, x, y, z`` (MNI mm). Its row order is the dataset's region order, and the
  order of the FC matrix rows and columns.
* expression: a label column (``label`` unless told otherwise) and one column per gene; rows are matched to
  the coordinates by label (any order); empty/NaN cells are missing. A region may have an all-missing row
  (no samples; dropped with a warning on load), but not a partly missing one.
* fc: the population FC, ``.npy`` or a headerless ``.csv``, square, symmetric, in the coordinates order.
* individual (optional): a folder of ``.npy``/``.csv`` matrices of the same shape, one per subject (file
  stem = subject id, sorted by name); NaN marks missing entries.
* regions (optional): columns ``label`` and any of ``hemisphere`` (L/R/M), ``structure``
  (cortex/subcortex/cerebellum/brainstem), ``network``. Without it, hemisphere follows the sign of x
  (|x| < 1 mm → M), structure is cortex and network is "Unknown".
* sphere (optional): ``label, x, y, z`` sphere coordinates for cortical regions (normalized to unit length).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import ge2conn
from ge2conn.data.errors import DatasetError
from ge2conn.data.format import HEMISPHERES, STRUCTURES, SYMMETRY_TOLERANCE
from ge2conn.data.paths import datasets_dir
from ge2conn.data.recipes.assemble import RegionTable, assemble_dataset
from ge2conn.data.recipes.common import BuildContext, read_expression_text
from ge2conn.data.sources import sha256_of

MIDLINE_MM = 1.0


def _delimiter(path: Path) -> str:
    return "\t" if path.suffix.lower() in {".tsv", ".tab", ".txt"} else ","


def _require_file(path: Path, what: str) -> None:
    if not path.is_file():
        raise DatasetError(path, "<file>", f"no such {what} file", "check the path")


def read_table(path: Path, required: list[str]) -> list[dict[str, str]]:
    """Read a small delimited table with a header, checking the required columns and unique labels.

    Args:
        path: File.
        required: Columns that must be present (the first is the label column).

    Returns:
        One dict per row.
    """
    _require_file(path, "table")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=_delimiter(path)))
    if len(rows) < 2:
        raise DatasetError(
            path, "<file>", "no data rows", f"give a header row ({', '.join(required)}) and data"
        )
    header = [name.strip() for name in rows[0]]
    missing = [name for name in required if name not in header]
    if missing:
        raise DatasetError(
            path,
            missing[0],
            f"column missing (header: {header[:6]})",
            f"name the columns {', '.join(required)}",
        )
    table = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DatasetError(
                path,
                f"row {number}",
                f"{len(row)} fields, header has {len(header)}",
                "the file is truncated or malformed; give every row one value per column",
            )
        table.append({name: value.strip() for name, value in zip(header, row, strict=True)})
    labels = [row[required[0]] for row in table]
    duplicated = sorted({label for label in labels if labels.count(label) > 1})
    if duplicated:
        raise DatasetError(
            path, required[0], f"duplicated labels {duplicated[:5]}", "give every region a distinct label"
        )
    return table


def _xyz(path: Path, table: list[dict[str, str]]) -> np.ndarray:
    try:
        values = np.array([[float(row[axis]) for axis in "xyz"] for row in table])
    except ValueError as error:
        raise DatasetError(
            path, "x/y/z", f"non-numeric coordinate ({error})", "give coordinates in mm"
        ) from error
    if not np.isfinite(values).all():
        raise DatasetError(path, "x/y/z", "non-finite coordinates", "give a finite x, y, z for every region")
    return values


def read_matrix(path: Path, size: int, what: str, allow_nan: bool = False) -> np.ndarray:
    """Read a square FC matrix (.npy or headerless .csv/.tsv) and check shape, finiteness and symmetry.

    Args:
        path: File.
        size: Number of regions.
        what: Field name for messages (e.g. "fc").
        allow_nan: Allow NaN entries (missing edges of individual matrices).

    Returns:
        The float64 matrix.
    """
    _require_file(path, what)
    try:
        if path.suffix.lower() == ".npy":
            matrix = np.asarray(np.load(path, allow_pickle=False), dtype=np.float64)
        else:
            matrix = np.loadtxt(path, delimiter=_delimiter(path), dtype=np.float64, ndmin=2)
    except (ValueError, OSError, EOFError) as error:
        raise DatasetError(
            path,
            what,
            f"cannot be read as a numeric matrix ({error})",
            "the file is truncated or malformed; give a .npy array or a headerless CSV",
        ) from error
    if matrix.shape != (size, size):
        raise DatasetError(
            path,
            what,
            f"expected shape ({size}, {size}) to match the {size} regions of the "
            f"coordinates file, got {matrix.shape}",
            "order the matrix like the coordinates rows",
        )
    off_diagonal = ~np.eye(size, dtype=bool)
    if not allow_nan and not np.isfinite(matrix[off_diagonal]).all():
        raise DatasetError(
            path,
            what,
            "non-finite off-diagonal values",
            "fill missing FC entries or drop the affected regions",
        )
    if np.isinf(matrix).any():
        raise DatasetError(
            path, what, "infinite values", "clip correlations below 1 before the Fisher z transform"
        )
    scale = max(float(np.nanmax(np.abs(matrix[off_diagonal]), initial=0.0)), 1e-12)
    asymmetry = float(np.nanmax(np.abs(matrix - matrix.T), initial=0.0)) / scale
    if asymmetry > SYMMETRY_TOLERANCE:
        raise DatasetError(
            path,
            what,
            f"not symmetric (max |Y - Yᵀ| / max |Y| = {asymmetry:.2e})",
            "symmetrize the matrix, e.g. (Y + Y.T) / 2, if the asymmetry is round-off",
        )
    return matrix


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
    if unknown:
        raise DatasetError(
            path,
            "label",
            f"labels not in the coordinates file: {unknown[:5]}",
            "use the same labels in every input file",
        )
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
    context = BuildContext(log=log or (lambda message: None))
    coordinate_table = read_table(Path(coordinates), ["label", "x", "y", "z"])
    labels = [row["label"] for row in coordinate_table]
    centroids = _xyz(Path(coordinates), coordinate_table)
    count = len(labels)

    expression_path = Path(expression)
    _require_file(expression_path, "expression")
    expression_labels, genes, values = read_expression_text(
        expression_path.read_text(encoding="utf-8-sig"),
        str(expression_path),
        label_column,
        delimiter=_delimiter(expression_path),
    )
    duplicated = sorted({label for label in expression_labels if expression_labels.count(label) > 1})
    if duplicated:
        raise DatasetError(
            expression_path, label_column, f"duplicated labels {duplicated[:5]}", "give one row per region"
        )
    rows = {label: row for row, label in enumerate(expression_labels)}
    missing = [label for label in labels if label not in rows]
    extra = [label for label in expression_labels if label not in set(labels)]
    if missing or extra:
        raise DatasetError(
            expression_path,
            label_column,
            f"labels differ from the coordinates file (missing {missing[:5]}, unknown {extra[:5]})",
            "use the same labels in every input file; "
            "write an all-empty row for a region without expression samples",
        )
    matrix = values[[rows[label] for label in labels]]
    empty = np.isnan(matrix).all(axis=1)
    partial = np.isnan(matrix[~empty]).any(axis=1)
    if partial.any():
        bad = [label for label, flag in zip(np.array(labels)[~empty], partial, strict=True) if flag]
        raise DatasetError(
            expression_path,
            "expression",
            f"missing values in regions that have samples: {bad[:5]}",
            "impute them or drop the affected genes (an all-empty row marks a region without samples)",
        )
    if np.isinf(matrix).any():
        raise DatasetError(expression_path, "expression", "infinite values", "give finite expression values")
    duplicated_genes = sorted({gene for gene in genes if genes.count(gene) > 1})
    if duplicated_genes:
        raise DatasetError(
            expression_path,
            "<header>",
            f"duplicated gene columns {duplicated_genes[:5]}",
            "average or drop duplicated genes",
        )

    population = read_matrix(Path(connectivity), count, "fc")
    hemisphere, structure, network = _region_metadata(Path(regions) if regions else None, labels, centroids)
    sphere_coordinates = np.full((count, 3), np.nan)
    if sphere is not None:
        sphere_table = read_table(Path(sphere), ["label", "x", "y", "z"])
        positions = {label: index for index, label in enumerate(labels)}
        unknown = [row["label"] for row in sphere_table if row["label"] not in positions]
        if unknown:
            raise DatasetError(
                sphere,
                "label",
                f"labels not in the coordinates file: {unknown[:5]}",
                "use the same labels in every input file",
            )
        points = _xyz(Path(sphere), sphere_table)
        sphere_coordinates[[positions[row["label"]] for row in sphere_table]] = points / np.linalg.norm(
            points, axis=1, keepdims=True
        )

    stack, subjects = None, None
    if individual is not None:
        folder = Path(individual)
        files = sorted(path for path in folder.glob("*") if path.suffix.lower() in {".npy", ".csv", ".tsv"})
        if not files:
            raise DatasetError(
                folder, "<folder>", "no .npy/.csv matrices found", "put one matrix file per subject"
            )
        stack = np.stack([read_matrix(path, count, "individual", allow_nan=True) for path in files])
        subjects = [path.stem for path in files]
        context.log(f"individual FC: {len(files)} matrices")

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
        "ge2conn_version": ge2conn.__version__,
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
    return dataset.save(Path(output) if output is not None else datasets_dir() / f"{name}.h5")
