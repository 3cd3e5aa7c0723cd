"""Value checks shared by dataset validation and the importer: FC, coordinates, labels, names.

Each check raises :class:`~ge2conn.data.errors.DatasetError` naming the file (the *input* file when called by
the importer), the field and the fix; checks that only find something suspicious return a warning text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ge2conn.data.errors import DatasetError

SYMMETRY_TOLERANCE = 1e-4
"""Largest allowed |Y - Yᵀ| relative to max |Y| (CSV round-off in upstream files is ~1e-5)."""
MAX_FC_MAGNITUDE = 1e3
"""Largest allowed |FC| value. Pearson r is at most 1 and Fisher z of any r short of 1 - 1e-15 is below 18;
a value past this bound is a unit or file error (or an unscaled covariance; standardize it first)."""
MAX_EXPRESSION_MAGNITUDE = 1e30
"""Largest allowed |expression| value: anything larger cannot be stored as float32 without overflow."""
MIN_COORDINATE_SPREAD_MM = 1.0
"""Coordinates whose extent along every axis is below this are degenerate (e.g. all zero)."""
DATASET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}")
"""A dataset name: letters, digits, ``_ . + -``, not starting with a dot, no path separators."""
FISHER_Z_WORDS = ("fisher", "arctanh", "atanh")
PEARSON_R_NAMES = ("r", "pearson", "pearson r", "pearson_r", "correlation", "raw r", "raw_r")


def check_dataset_name(name: str) -> None:
    """Check that ``name`` is a plain dataset name (it becomes ``NAME.h5`` in the datasets folder).

    Raises:
        DatasetError: for empty names, path separators, ``..`` or other characters.
    """
    if not DATASET_NAME.fullmatch(name) or ".." in name:
        raise DatasetError(
            "--name",
            "name",
            f"{name!r} is not a plain dataset name (it becomes NAME.h5 in the datasets folder)",
            "use letters, digits, '_', '-', '.' or '+' only, e.g. "
            "--name ukb_s456; choose the file location with --output",
        )


def check_labels(path: str | Path, field: str, labels: list[str] | np.ndarray) -> None:
    """Labels must be non-empty and unique.

    Raises:
        DatasetError: naming the empty rows or the duplicated labels.
    """
    values = [str(label) for label in labels]
    empty = [index for index, label in enumerate(values) if not label.strip()]
    if empty:
        raise DatasetError(
            path,
            field,
            f"empty label in region row(s) {[index + 1 for index in empty[:5]]} (counting data rows from 1)",
            "give every region a non-empty label",
        )
    duplicated = sorted(label for label, count in Counter(values).items() if count > 1)
    if duplicated:
        raise DatasetError(
            path, field, f"duplicated labels {duplicated[:5]}", "give every region a distinct label"
        )


def check_coordinates(
    path: str | Path,
    field: str,
    labels: list[str] | np.ndarray,
    points: np.ndarray,
    min_spread: float = MIN_COORDINATE_SPREAD_MM,
) -> None:
    """Coordinates must be finite, spread out (not all equal) and distinct between regions.

    Args:
        path: The file named in errors.
        field: The field (column names) named in errors.
        labels: Region labels, in the order of ``points``.
        points: (r, 3) coordinates in mm.
        min_spread: Smallest allowed extent along the widest axis (0 for unit-sphere directions).

    Raises:
        DatasetError: naming the regions at fault.
    """
    names = np.asarray([str(label) for label in labels])
    finite = np.isfinite(points).all(axis=1)
    if not finite.all():
        raise DatasetError(
            path,
            field,
            f"non-finite coordinates for {names[~finite][:5].tolist()}",
            "give a finite x, y, z (MNI mm) for every region",
        )
    if len(points) > 1 and float(np.ptp(points, axis=0).max()) < max(min_spread, 1e-9):
        raise DatasetError(
            path,
            field,
            f"all {len(points)} regions lie within {min_spread} mm of "
            f"each other (extent {np.ptp(points, axis=0).round(3).tolist()} mm): the coordinates "
            "are degenerate",
            "give each region's centroid in MNI millimetres",
        )
    _, first, counts = np.unique(points, axis=0, return_index=True, return_counts=True)
    if (counts > 1).any():
        same = [
            names[np.flatnonzero((points == points[index]).all(axis=1))].tolist()
            for index in first[counts > 1][:3]
        ]
        raise DatasetError(
            path,
            field,
            f"regions share identical coordinates: {same}",
            "give every region its own centroid (check for copied rows)",
        )


def check_connectivity(path: str | Path, field: str, matrix: np.ndarray, allow_nan: bool = False) -> None:
    """FC must be finite off the diagonal (unless NaN marks missing entries), moderate and symmetric.

    Raises:
        DatasetError: naming the file and the problem.
    """
    off_diagonal = ~np.eye(matrix.shape[0], dtype=bool)
    if np.isinf(matrix).any() or (not allow_nan and not np.isfinite(matrix[off_diagonal]).all()):
        problem = "infinite values" if np.isinf(matrix).any() else "non-finite off-diagonal values"
        raise DatasetError(
            path,
            field,
            problem,
            "fill missing FC entries or drop the affected regions; clip "
            "correlations below 1 before the Fisher z transform",
        )
    largest = float(np.nanmax(np.abs(matrix[off_diagonal]), initial=0.0))
    if largest > MAX_FC_MAGNITUDE:
        where = np.unravel_index(
            int(np.nanargmax(np.where(off_diagonal, np.abs(matrix), -1.0))), matrix.shape
        )
        raise DatasetError(
            path,
            field,
            f"implausible magnitude {largest:.3g} at row {where[0]}, column "
            f"{where[1]} (FC values are expected within ±{MAX_FC_MAGNITUDE:g})",
            "check the file's units; give correlations or Fisher z values",
        )
    scale = max(largest, 1e-12)
    asymmetry = float(np.nanmax(np.abs(matrix - matrix.T), initial=0.0)) / scale
    if asymmetry > SYMMETRY_TOLERANCE:
        raise DatasetError(
            path,
            field,
            f"not symmetric (max |Y - Yᵀ| / max |Y| = {asymmetry:.2e})",
            "symmetrize the matrix, e.g. (Y + Y.T) / 2, if the asymmetry is round-off",
        )


def transform_kind(transform: str) -> str:
    """Classify a free-text FC transform: ``"fisher_z"``, ``"pearson_r"`` or ``"unknown"``."""
    text = transform.strip().lower()
    if any(word in text for word in FISHER_Z_WORDS) or text in ("z", "fisher_z", "fisher-z", "z-score"):
        return "fisher_z"
    if text in PEARSON_R_NAMES or text.startswith("pearson"):
        return "pearson_r"
    return "unknown"


def check_fc_transform(path: str | Path, field: str, matrix: np.ndarray, transform: str) -> str | None:
    """Check that the FC values fit their declared transform.

    Pearson r above 1 in magnitude is an error. Fisher z whose every off-diagonal value lies in [-1, 1] is
    suspicious (a group-average z matrix usually exceeds 1, e.g. 1.43 for the ENIGMA HCP dk82 matrix) and
    gives a warning.

    Args:
        path: The FC file.
        field: Field named in messages.
        matrix: The (r, r) FC.
        transform: The declared transform (``--fc-transform``).

    Returns:
        A warning text, or None.

    Raises:
        DatasetError: when the values contradict the declared transform.
    """
    off_diagonal = ~np.eye(matrix.shape[0], dtype=bool)
    largest = float(np.nanmax(np.abs(matrix[off_diagonal]), initial=0.0))
    kind = transform_kind(transform)
    if kind == "pearson_r" and largest > 1.0 + 1e-6:
        raise DatasetError(
            path,
            field,
            f"declared as Pearson r (--fc-transform {transform!r}) but values reach "
            f"{largest:.3f} in magnitude, beyond 1",
            "if the values are Fisher z, pass --fc-transform fisher_z; otherwise fix the file",
        )
    if kind == "fisher_z" and largest <= 1.0:
        return (
            f"{path}: FC declared as Fisher z (--fc-transform {transform!r}) but every off-diagonal value "
            f"lies in [-1, 1] (max |Y| = {largest:.3f}), as raw Pearson r would; if these are raw r, "
            "apply numpy.arctanh first or pass --fc-transform r"
        )
    return None


def check_expression_values(path: str | Path, field: str, matrix: np.ndarray) -> None:
    """Expression must be finite where present and representable as float32.

    Raises:
        DatasetError: naming the file.
    """
    if np.isinf(matrix).any():
        raise DatasetError(path, field, "infinite values", "give finite expression values")
    largest = float(np.nanmax(np.abs(matrix), initial=0.0))
    if largest > MAX_EXPRESSION_MAGNITUDE:
        raise DatasetError(
            path,
            field,
            f"implausible magnitude {largest:.3g} (beyond float32 storage)",
            "check the file's units; give normalized expression values",
        )


def check_row_width(source: str | Path, number: int, row: Sequence[str], header: Sequence[str]) -> None:
    """Fail when a delimited row does not have one field per header column.

    Args:
        source: The file (named in the error).
        number: The row's 1-based line number in the file.
        row: The row's fields.
        header: The header's column names.
    """
    if len(row) != len(header):
        raise DatasetError(
            source,
            f"row {number}",
            f"{len(row)} fields, header has {len(header)}",
            "the file is truncated or malformed; give every row one value per column",
        )


def regions_without_samples(source: str | Path, labels: Sequence[str], values: np.ndarray) -> np.ndarray:
    """Regions whose expression row is all-empty (no samples); fail when a sampled region lacks values.

    Args:
        source: The expression file (named in the error).
        labels: Region label of each row of ``values``.
        values: ``(R, G)`` expression with NaN for missing values.

    Returns:
        A boolean ``(R,)`` mask, True for the all-empty rows.
    """
    empty = np.isnan(values).all(axis=1)
    partial = np.isnan(values[~empty]).any(axis=1)
    if partial.any():
        bad = np.asarray(labels)[~empty][partial].tolist()
        raise DatasetError(
            source,
            "expression",
            f"missing values in regions that have samples: {bad[:5]}{' …' if len(bad) > 5 else ''} "
            f"({len(bad)} region(s))",
            "impute them or drop the affected genes (an all-empty row marks a region without samples)",
        )
    return empty
