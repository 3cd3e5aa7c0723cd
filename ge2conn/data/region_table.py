"""The small per-region and per-gene fields of a dataset file, read without the large arrays.

The datamodule needs region counts, centroids and labels in its ``__init__`` (so the CLI can link
``num_genes``, ``num_regions`` and the coordinate statistics into the model) without loading the
connectomes; :class:`RegionTable` reads just those fields with h5py.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from ge2conn.data.errors import DatasetError
from ge2conn.data.genes import read_gene_list as read_gene_symbols

HEMISPHERE_CODES = {"L": 0, "R": 1, "M": -1}
"""Integer code of each hemisphere label (midline regions are -1)."""


@dataclass(frozen=True)
class RegionMetadata:
    """Per-region metadata for tasks and stratified metrics (indices follow the datamodule's regions).

    Attributes:
        labels: (R,) region labels.
        hemisphere_codes: (R,) int64, 0 left, 1 right, -1 midline.
        network_codes: (R,) int64 index into ``network_names``.
        network_names: Sorted distinct network names.
        structure: (R,) structure names (cortex, subcortex, ...).
        centroids: (R, 3) float64 MNI centroids in mm.
    """

    labels: np.ndarray
    hemisphere_codes: np.ndarray
    network_codes: np.ndarray
    network_names: list[str]
    structure: np.ndarray
    centroids: np.ndarray


@dataclass(frozen=True)
class RegionTable:
    """Small fields of a dataset file, for every region in the file (before dropping any).

    Attributes:
        labels: (r,) region labels.
        hemisphere: (r,) "L", "R" or "M".
        structure: (r,) structure names.
        network: (r,) network names.
        centroids: (r, 3) MNI centroids.
        has_expression: (r,) False for regions whose expression row is all NaN.
        gene_symbols: (g,) gene symbols.
        num_subjects: Number of individual connectomes (0 when absent).
    """

    labels: np.ndarray
    hemisphere: np.ndarray
    structure: np.ndarray
    network: np.ndarray
    centroids: np.ndarray
    has_expression: np.ndarray
    gene_symbols: np.ndarray
    num_subjects: int

    @classmethod
    def read(cls, path: str | Path) -> RegionTable:
        """Read the table from a dataset file.

        Args:
            path: The ``.h5`` file.

        Returns:
            The table.

        Raises:
            DatasetError: when the file cannot be read or lacks a field.
        """
        source = Path(path)
        try:
            with h5py.File(source, "r") as file:

                def strings(key: str) -> np.ndarray:
                    return np.asarray(file[key].asstr()[()], dtype=str)

                # A valid file has either no NaN or only NaN in a region's row, so one column tells which
                # regions lack expression without reading the whole matrix.
                first_gene = np.asarray(file["expression"][:, 0], dtype=np.float64)
                individual = file.get("connectivity/individual")
                return cls(
                    labels=strings("regions/label"),
                    hemisphere=strings("regions/hemisphere"),
                    structure=strings("regions/structure"),
                    network=strings("regions/network"),
                    centroids=np.asarray(file["regions/centroid"][()], dtype=np.float64),
                    has_expression=~np.isnan(first_gene),
                    gene_symbols=strings("genes/symbol"),
                    num_subjects=0 if individual is None else int(individual.shape[0]),
                )
        except (OSError, KeyError) as error:
            raise DatasetError(source, "<file>", f"cannot be read as a ge2conn HDF5 dataset ({error})",
                               "rebuild the dataset (`ge2conn data build NAME`)") from error

    def metadata(self, regions: np.ndarray) -> RegionMetadata:
        """Metadata of a subset of regions, in the given order.

        Args:
            regions: Indices into the file's regions.

        Returns:
            The metadata.
        """
        network_names, network_codes = np.unique(self.network[regions], return_inverse=True)
        return RegionMetadata(
            labels=self.labels[regions],
            hemisphere_codes=np.asarray([HEMISPHERE_CODES[value] for value in self.hemisphere[regions]],
                                        dtype=np.int64),
            network_codes=network_codes.astype(np.int64).reshape(-1),
            network_names=[str(name) for name in network_names],
            structure=self.structure[regions],
            centroids=self.centroids[regions],
        )


def read_gene_list(path: str | Path, dataset_symbols: np.ndarray, dataset_path: str | Path) -> np.ndarray:
    """Indices of the dataset genes named in a gene list file (in the dataset's reference order).

    Symbols of the list that the dataset lacks are reported in one warning.

    Args:
        path: Text file, one symbol per line.
        dataset_symbols: (g,) the dataset's gene symbols.
        dataset_path: The dataset file (for messages).

    Returns:
        Sorted int64 gene indices.

    Raises:
        DatasetError: when no listed gene is in the dataset.
    """
    wanted = read_gene_symbols(path)
    present = np.isin(dataset_symbols, wanted)
    missing = sorted(set(wanted) - set(dataset_symbols.tolist()))
    if not present.any():
        raise DatasetError(path, "<file>", f"none of its {len(wanted)} genes is in {dataset_path}",
                           "check the gene symbols (case-sensitive) against the dataset's genes/symbol")
    if missing:
        warnings.warn(f"{path}: {len(missing)} of {len(wanted)} listed genes are not in {dataset_path} and "
                      f"are ignored (first: {', '.join(missing[:5])})", UserWarning, stacklevel=2)
    return np.flatnonzero(present).astype(np.int64)
