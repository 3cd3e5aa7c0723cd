"""``ge2conn nulls export``: the kept null permutations in the regions × permutations layout of neuromaps.

netneurotools' and neuromaps' ``gen_spinsamples`` return a resampling array ``spins`` of shape
(regions, permutations) with ``null_k = data[spins[:, k]]``, and
``neuromaps.stats.compare_images(src, trg, nulls=...)`` takes the null maps themselves, (regions,
permutations). ge2conn stores ``X_null = X[permutation]`` per spin, the same semantics, so the export is the
transposed permutations of the kept (lowest-error) nulls, in rank order::

    spins = np.load("dk82_spins.npy")                   # (82, 10) int64, rows in dk82's region order
    nulls = brain_map[spins]                            # (82, 10) null maps of your brain map
    r, p = neuromaps.stats.compare_images(brain_map, other_map, nulls=nulls, ignore_zero=False)

With ``--map`` the null maps are written instead of the indices (values of a ``label, value`` table, rows
matched to the nulls' regions by label). A ``.npy`` output gets a ``<stem>.regions.tsv`` sidecar with the
region labels in row order; a ``.csv``/``.tsv`` output holds them in its first column.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ge2conn.data.errors import DatasetError
from ge2conn.nulls.generate import NullSet
from ge2conn.utils.atomic import atomic_output


def null_columns(nulls: NullSet, every_spin: bool = False) -> tuple[np.ndarray, list[str]]:
    """Resampling array of the kept nulls (or every spin), regions × permutations.

    Args:
        nulls: The scored nulls.
        every_spin: Export all N spins in drawing order instead of the K kept ones in rank order.

    Returns:
        ``(spins, names)``: (r, k) int64 with ``null_j = data[spins[:, j]]``, and a name per column
        (``rank0``.. or ``spin0``..).
    """
    if every_spin:
        chosen = np.arange(nulls.num_spins)
        names = [f"spin{index}" for index in chosen]
    else:
        chosen = nulls.top_spins
        names = [f"rank{rank}" for rank in range(chosen.size)]
    return np.ascontiguousarray(nulls.permutations[chosen].T.astype(np.int64)), names


def read_brain_map(path: Path, labels: np.ndarray, column: str | None = None) -> np.ndarray:
    """A brain map from a ``label, value`` table, ordered like ``labels``.

    Args:
        path: CSV/TSV with a ``label`` column and a value column.
        labels: Region labels of the nulls.
        column: Value column (default: the first column after ``label``).

    Returns:
        (r,) float64 values.
    """
    if not path.is_file():
        raise DatasetError(path, "<file>", "no such brain map file", "check the path")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        delimiter = "\t" if path.suffix.lower() in {".tsv", ".txt"} else ","
        rows = list(csv.DictReader(handle, delimiter=delimiter))
    header = list(rows[0]) if rows else []
    if "label" not in header or len(header) < 2:
        raise DatasetError(path, "label", f"header {header[:4]}", "give columns label,<value>")
    column = column or next(name for name in header if name != "label")
    if column not in header:
        raise DatasetError(path, column, f"column missing (header {header[:6]})", "name an existing column")
    values = {row["label"].strip(): row[column] for row in rows}
    missing = [str(label) for label in labels if str(label) not in values]
    if missing:
        raise DatasetError(path, "label", f"no value for the nulls' regions {missing[:5]}",
                           "give one row per region of the dataset the nulls were drawn for")
    try:
        return np.array([float(values[str(label)]) for label in labels])
    except ValueError as error:
        raise DatasetError(path, column, f"non-numeric value ({error})", "give numbers") from error


def export_nulls(nulls: NullSet, output: Path, every_spin: bool = False, brain_map: Path | None = None,
                 map_column: str | None = None) -> Path:
    """Write the nulls in the regions × permutations layout (see the module docstring).

    Args:
        nulls: The scored nulls.
        output: ``.npy``, ``.csv`` or ``.tsv`` destination.
        every_spin: Export every spin instead of the kept ones.
        brain_map: Optional ``label, value`` table: write its null maps instead of indices.
        map_column: Value column of ``brain_map``.

    Returns:
        The output path.
    """
    suffix = output.suffix.lower()
    if suffix not in {".npy", ".csv", ".tsv"}:
        raise DatasetError(output, "<file>", "unknown output type", "name a .npy, .csv or .tsv file")
    spins, names = null_columns(nulls, every_spin)
    table: np.ndarray = spins
    if brain_map is not None:
        table = read_brain_map(brain_map, nulls.region_labels, map_column)[spins]
    output.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".npy":
        with atomic_output(output) as temporary, temporary.open("wb") as handle:
            np.save(handle, table)
        _write_rows(output.with_suffix(".regions.tsv"), "\t", ["index", "label"],
                    [[index, label] for index, label in enumerate(nulls.region_labels)])
    else:
        _write_rows(output, "\t" if suffix == ".tsv" else ",", ["label", *names],
                    [[label, *row] for label, row in zip(nulls.region_labels, table.tolist(), strict=True)])
    return output


def _write_rows(path: Path, delimiter: str, header: list[str], rows: list[list[object]]) -> None:
    with atomic_output(path) as temporary, temporary.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
