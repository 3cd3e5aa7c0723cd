"""Labelled text outputs of a connectome: the matrix with region labels, and its node table with coordinates.

The two files nilearn's ``plot_connectome(matrix, node_coords)`` and spreadsheet users need:

* ``<name>.tsv`` (or ``.csv``): the R × R matrix with the region labels as header row and index column (the
  layout of BIDS/XCP-D ``*_relmat.tsv``, which ``ge2conn data import --individual`` reads back);
* ``<stem>_regions.tsv``: one row per region in matrix order, ``index, label, x, y, z`` (MNI mm) and any
  further per-region columns (hemisphere, structure, network).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ge2conn.utils.atomic import atomic_output


def region_table_path(path: Path) -> Path:
    """The node table written beside a connectome file: ``<stem>_regions.tsv``."""
    return path.with_name(f"{path.stem}_regions.tsv")


def write_labelled_matrix(path: Path, matrix: np.ndarray, labels: Sequence[str]) -> Path:
    """Write an R × R matrix with region labels as header row and index column (tab- or comma-separated).

    Args:
        path: ``.tsv`` (tabs) or ``.csv`` (commas).
        matrix: (R, R) values; NaN is written as ``n/a`` (BIDS).
        labels: (R,) region labels.

    Returns:
        The path.
    """
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with atomic_output(path) as temporary, temporary.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(["Node", *labels])
        for label, row in zip(labels, np.asarray(matrix, dtype=np.float64), strict=True):
            writer.writerow([label, *("n/a" if np.isnan(value) else f"{value:.6g}" for value in row)])
    return path


def write_region_table(path: Path, labels: Sequence[str], coordinates: np.ndarray,
                       columns: Mapping[str, Sequence[str]] | None = None) -> Path:
    """Write the node table of a connectome: ``index, label, x, y, z`` and extra per-region columns.

    Args:
        path: Destination ``.tsv``.
        labels: (R,) region labels, in matrix order.
        coordinates: (R, 3) MNI coordinates in mm.
        columns: Extra columns by name (each R values).

    Returns:
        The path.
    """
    extra = dict(columns or {})
    with atomic_output(path) as temporary, temporary.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t")
        writer.writerow(["index", "label", "x", "y", "z", *extra])
        for index, (label, point) in enumerate(zip(labels, np.asarray(coordinates, dtype=np.float64),
                                                   strict=True)):
            writer.writerow([index, label, *(f"{value:.4f}" for value in point),
                             *(str(values[index]) for values in extra.values())])
    return path
