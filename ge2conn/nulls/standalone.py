"""CGE-matched nulls for any brain map, without a dataset or FC: an expression table plus coordinates.

The nulls only need what the spins and the CGE-vs-distance curve use: regional expression, MNI centroids,
hemisphere and structure (cortex is spun on the sphere, every other structure about its own centre in MNI
space), and optionally sphere coordinates. :func:`brain_from_tables` reads them from the same files
``ge2conn data import`` takes (its CSVs, or abagen's table with ``atlas_info`` and a parcellation image, see
:mod:`ge2conn.data.recipes.ecosystem`) into an in-memory brain; ``ge2conn nulls generate --expression ...``
scores the spins and writes a nulls file that ``ge2conn nulls export`` turns into neuromaps' layout.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.text import Text

from ge2conn.data.errors import DatasetError
from ge2conn.data.format import HEMISPHERES, STRUCTURES, BrainDataset
from ge2conn.data.recipes.common import read_expression_text
from ge2conn.data.recipes.ecosystem_import import add_ecosystem_arguments, standard_region_files
from ge2conn.nulls.generate import generate_nulls
from ge2conn.nulls.io import save_nulls

MIDLINE_MM = 1.0
"""Without a regions table, |x| below this is the midline ("M"), as in ``ge2conn data import``."""


def add_table_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``ge2conn nulls generate`` that describe a brain without a dataset file."""
    parser.add_argument("--expression", type=Path, help="regions × genes CSV/TSV (or abagen's table with "
                        "--atlas-info): nulls without a dataset or FC")
    parser.add_argument("--coordinates", type=Path, help="CSV label,x,y,z MNI centroids")
    parser.add_argument("--regions", type=Path, help="CSV label,hemisphere,structure (L/R/M; cortex/subcortex"
                        "/cerebellum/brainstem); default: hemisphere from the sign of x, all cortex")
    parser.add_argument("--sphere", type=Path, help="CSV label,x,y,z sphere coordinates of cortical regions")
    parser.add_argument("--label-column", default="label", help="region-label column of the expression file")
    add_ecosystem_arguments(parser)


def brain_from_tables(arguments: argparse.Namespace, name: str = "brain-map") -> BrainDataset:
    """An in-memory brain (no FC) for the nulls, regions without expression dropped with a warning.

    Args:
        arguments: Namespace with :func:`add_table_arguments`' options.
        name: Name recorded in the nulls file.

    Returns:
        The brain; its ``connectivity`` is all zeros and never used.
    """
    with tempfile.TemporaryDirectory() as scratch:
        files = standard_region_files(arguments, Path(scratch))
        coordinates = _rows(Path(files.coordinates))
        labels = [row["label"] for row in coordinates]
        centroids = _points(Path(files.coordinates), coordinates)
        hemisphere = ["M" if abs(x) < MIDLINE_MM else ("L" if x < 0 else "R") for x in centroids[:, 0]]
        structure = ["cortex"] * len(labels)
        position = {label: index for index, label in enumerate(labels)}
        if files.regions:
            for row in _rows(Path(files.regions)):
                index = _position(position, row["label"], Path(files.regions))
                hemisphere[index] = row.get("hemisphere") or hemisphere[index]
                structure[index] = row.get("structure") or structure[index]
        sphere = np.full((len(labels), 3), np.nan)
        if files.sphere:
            rows = _rows(Path(files.sphere))
            points = _points(Path(files.sphere), rows)
            for row, point in zip(rows, points, strict=True):
                sphere[_position(position, row["label"], Path(files.sphere))] = point / np.linalg.norm(point)
        expression_path = Path(files.expression)
        delimiter = "\t" if expression_path.suffix.lower() in {".tsv", ".txt"} else ","
        expression_labels, genes, values = read_expression_text(
            expression_path.read_text(encoding="utf-8-sig"), str(expression_path), files.label_column,
            delimiter=delimiter)
    rows_by_label = {label: row for row, label in enumerate(expression_labels)}
    missing = [label for label in labels if label not in rows_by_label]
    if missing:
        raise DatasetError(expression_path, files.label_column, f"no expression row for {missing[:5]}",
                           "use the same region labels as the coordinates")
    for field, values_of, allowed in (("hemisphere", hemisphere, HEMISPHERES), ("structure", structure,
                                                                                STRUCTURES)):
        bad = sorted(set(values_of) - set(allowed))
        if bad:
            raise DatasetError(files.regions or "<regions>", field, f"unknown values {bad[:5]}",
                               f"use one of {allowed}")
    count, gene_count = len(labels), len(genes)
    brain = BrainDataset(
        name, values[[rows_by_label[label] for label in labels]].astype(np.float32), np.array(genes),
        np.full(gene_count, ""), np.full(gene_count, -1), np.full(gene_count, ""), np.array(labels),
        np.array(hemisphere), np.array(structure), np.full(count, "Unknown"), centroids, sphere,
        np.zeros((count, count), np.float32), provenance={"recipe": "nulls without a dataset"})
    return brain.drop_regions_without_expression(expression_path)


def generate_standalone(arguments: argparse.Namespace, console: Console) -> int:
    """``ge2conn nulls generate --expression ... --output FILE``: nulls of a brain without a dataset.

    Args:
        arguments: Parsed ``nulls generate`` arguments (``n``, ``top``, ``seed``, ``output`` and the table
            options of :func:`add_table_arguments`).
        console: Where to report.

    Returns:
        Exit status 0.
    """
    if arguments.expression is None or arguments.output is None:
        raise DatasetError("<arguments>", "--expression/--output", "without a dataset the nulls need an "
                           "expression table, coordinates and an output file",
                           "give DATASET, or --expression, --coordinates (or --parcellation) and --output")
    output = Path(arguments.output)
    brain = brain_from_tables(arguments, name=output.name.removesuffix(".h5").removesuffix(".nulls"))
    nulls = generate_nulls(brain, num_spins=arguments.n, top=arguments.top, seed=arguments.seed)
    save_nulls(nulls, output, dataset_name=brain.name)
    console.print(Text(f"wrote {output}: {nulls.num_spins} spins of {brain.num_regions} regions, top "
                       f"{nulls.top} kept"), soft_wrap=True)
    return 0


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise DatasetError(path, "<file>", "no such file", "check the path")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        delimiter = "\t" if path.suffix.lower() in {".tsv", ".txt"} else ","
        rows = [{key.strip(): (value or "").strip() for key, value in row.items()}
                for row in csv.DictReader(handle, delimiter=delimiter)]
    if not rows or "label" not in rows[0]:
        raise DatasetError(path, "label", "no label column or no rows", "give a header row with label")
    return rows


def _points(path: Path, rows: list[dict[str, str]]) -> np.ndarray:
    try:
        return np.array([[float(row[axis]) for axis in "xyz"] for row in rows])
    except (KeyError, ValueError) as error:
        raise DatasetError(path, "x/y/z", f"missing or non-numeric coordinate ({error})",
                           "give columns label,x,y,z with numbers") from error


def _position(position: dict[str, int], label: str, path: Path) -> int:
    if label not in position:
        raise DatasetError(path, "label", f"{label!r} is not in the coordinates", "use the same labels")
    return position[label]
