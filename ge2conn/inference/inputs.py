"""Region tables for prediction on new data: expression (regions × genes) and coordinates (regions × x, y, z).

Both are :class:`pandas.DataFrame` objects indexed by region label, as abagen's ``get_expression_data``
returns expression. Files are read the way ``ge2conn data import`` reads them: comma-separated, or tab for
``.tsv``/``.tab``/``.txt``; a ``label`` column (or the first column) holds the region labels. The coordinates
table sets the region order; expression rows are matched to it by label. Regions whose expression row is
empty (no AHBA samples) are dropped and reported, as when a dataset is built.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ge2conn.data.catalog import resolve_dataset
from ge2conn.data.checks import regions_without_samples
from ge2conn.data.errors import DatasetError
from ge2conn.data.format import BrainDataset

COORDINATE_COLUMNS = ("x", "y", "z")


@dataclass(frozen=True)
class RegionInputs:
    """Validated inputs of one prediction, in the coordinates' region order.

    Attributes:
        labels: (R,) labels of the regions predicted.
        expression: (R, g) float64 input expression, columns as given.
        gene_symbols: (g,) the input's gene symbols.
        coordinates: (R, 3) float64 MNI centroids in mm.
        dropped: Labels of regions left out because their expression row is empty.
    """

    labels: np.ndarray
    expression: np.ndarray
    gene_symbols: np.ndarray
    coordinates: np.ndarray
    dropped: list[str]


def _delimiter(path: Path) -> str:
    return "\t" if path.suffix.lower() in {".tsv", ".tab", ".txt"} else ","


def _read_table(path: Path, what: str, label_column: str) -> pd.DataFrame:
    if not path.is_file():
        raise DatasetError(path, "<file>", f"no such {what} file", "check the path")
    try:
        table = pd.read_csv(path, sep=_delimiter(path), encoding="utf-8-sig")
    except (ValueError, OSError, pd.errors.ParserError) as error:
        raise DatasetError(
            path, "<file>", f"cannot be read as a table ({error})", "give a CSV or TSV file"
        ) from error
    column = label_column if label_column in table.columns else str(table.columns[0])
    return table.set_index(column)


def read_expression_file(path: str | Path, label_column: str = "label") -> pd.DataFrame:
    """Read a regions × genes expression table (label column, then one column per gene).

    Args:
        path: CSV/TSV file.
        label_column: Column with the region labels (the first column when absent).

    Returns:
        Expression indexed by label, one column per gene.
    """
    return _read_table(Path(path), "expression", label_column)


def read_coordinates_file(path: str | Path, label_column: str = "label") -> pd.DataFrame:
    """Read a coordinates table (columns ``label, x, y, z`` in MNI mm).

    Args:
        path: CSV/TSV file.
        label_column: Column with the region labels (the first column when absent).

    Returns:
        Coordinates indexed by label.
    """
    return _read_table(Path(path), "coordinates", label_column)


def dataset_tables(dataset: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Expression and coordinates of a built dataset (name or ``.h5``), as prediction inputs.

    Args:
        dataset: Dataset name or file.

    Returns:
        ``(expression, coordinates)`` indexed by region label (regions without expression are included, with
        empty rows, so that they are reported as dropped).
    """
    brain = BrainDataset.load(resolve_dataset(dataset), individual=False, drop_empty_regions=False)
    labels = pd.Index(brain.region_labels.astype(str), name="label")
    expression = pd.DataFrame(brain.expression, index=labels, columns=brain.gene_symbols.astype(str))
    coordinates = pd.DataFrame(brain.centroids, index=labels, columns=list(COORDINATE_COLUMNS))
    return expression, coordinates


def _coordinate_values(coordinates: pd.DataFrame, source: str) -> pd.DataFrame:
    if "label" in coordinates.columns:
        coordinates = coordinates.set_index("label")
    lowered = {str(column).strip().lower(): column for column in coordinates.columns}
    missing = [axis for axis in COORDINATE_COLUMNS if axis not in lowered]
    if missing:
        raise DatasetError(
            source,
            missing[0],
            f"column missing (columns: {list(coordinates.columns)[:6]})",
            "give MNI coordinates in columns x, y, z with region labels as the index or a 'label' column",
        )
    values = coordinates[[lowered[axis] for axis in COORDINATE_COLUMNS]]
    try:
        numeric = values.astype(float)
    except (TypeError, ValueError) as error:
        raise DatasetError(
            source, "x/y/z", f"non-numeric coordinate ({error})", "give coordinates in mm"
        ) from error
    if not np.isfinite(numeric.to_numpy()).all():
        raise DatasetError(
            source, "x/y/z", "non-finite coordinates", "give a finite x, y, z for every region"
        )
    numeric.columns = list(COORDINATE_COLUMNS)
    return numeric


def prepare_inputs(
    expression: pd.DataFrame,
    coordinates: pd.DataFrame,
    expression_source: str = "expression",
    coordinates_source: str = "coordinates",
) -> RegionInputs:
    """Check the two tables and line them up by region label.

    Args:
        expression: Regions × genes, indexed by region label (abagen's ``get_expression_data`` output works
            as is; a ``label`` column is used as the index when present).
        coordinates: Columns x, y, z (MNI mm), indexed by region label (or with a ``label`` column).
        expression_source: Name of the expression input in messages (a file name).
        coordinates_source: Name of the coordinates input in messages.

    Returns:
        The inputs in the coordinates' region order.

    Raises:
        DatasetError: naming the input, the field and the fix.
    """
    if "label" in expression.columns:
        expression = expression.set_index("label")
    centroids = _coordinate_values(coordinates, coordinates_source)
    labels = centroids.index.astype(str)
    rows = expression.index.astype(str)
    for source, index in ((coordinates_source, labels), (expression_source, rows)):
        if index.has_duplicates:
            duplicated = sorted(set(index[index.duplicated()]))
            raise DatasetError(
                source, "label", f"duplicated labels {duplicated[:5]}", "give one row per region"
            )
    missing = [label for label in labels if label not in set(rows)]
    if missing:
        raise DatasetError(
            expression_source,
            "label",
            f"no expression row for regions {missing[:5]} of the coordinates",
            "use the same region labels in both tables (an empty row marks a region without samples)",
        )
    genes = expression.columns.astype(str)
    if genes.has_duplicates:
        raise DatasetError(
            expression_source,
            "<header>",
            f"duplicated gene columns {sorted(set(genes[genes.duplicated()]))[:5]}",
            "average or drop duplicated genes",
        )
    table = expression.set_axis(rows, axis=0).loc[list(labels)]
    try:
        values = table.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as error:
        text = [str(column) for column in table.columns if not pd.api.types.is_numeric_dtype(table[column])]
        raise DatasetError(
            expression_source,
            text[0] if text else "expression",
            f"non-numeric values ({error})",
            "keep only the label column and one numeric column per gene",
        ) from error
    if np.isinf(values).any():
        raise DatasetError(
            expression_source, "expression", "infinite values", "give finite expression values"
        )
    empty = regions_without_samples(expression_source, labels, values)
    dropped = np.asarray(labels)[empty].tolist()
    if dropped:
        warnings.warn(
            f"{expression_source}: {len(dropped)} regions have no expression and are not predicted: "
            f"{dropped[:5]}",
            stacklevel=2,
        )
    if int((~empty).sum()) < 2:
        raise DatasetError(
            expression_source,
            "expression",
            "fewer than 2 regions with expression",
            "give expression for at least two regions",
        )
    return RegionInputs(
        labels=np.asarray(labels)[~empty].astype(str),
        expression=values[~empty],
        gene_symbols=np.asarray(genes, dtype=str),
        coordinates=centroids.to_numpy(dtype=np.float64)[~empty],
        dropped=[str(label) for label in dropped],
    )
