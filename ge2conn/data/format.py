"""The ge2conn HDF5 dataset format: one file per dataset, read and written by :class:`BrainDataset`.

Layout (format version 2; every array carries a ``sha256`` attribute, see :mod:`ge2conn.data.checksums`)::

    /                         attrs: format_version, name, provenance (JSON string)
    /expression               (r, g) float32   regional gene expression X, genes in reference (TSS) order
    /genes/symbol             (g,)   str       HGNC symbols
    /genes/chromosome         (g,)   str       "1".."22", "X", "Y", "" when unknown
    /genes/tss                (g,)   int64     transcription start site, -1 when unknown
    /genes/strand             (g,)   str       "+", "-" or ""
    /regions/label            (r,)   str       unique region labels
    /regions/hemisphere       (r,)   str       "L", "R" or "M" (midline)
    /regions/structure        (r,)   str       cortex | subcortex | cerebellum | brainstem
    /regions/network          (r,)   str       Yeo-7 network for cortex, else "Subcortical"/"Cerebellum"/...
    /regions/centroid         (r, 3) float64   MNI centroid in mm
    /regions/sphere           (r, 3) float64   unit-sphere coordinates (cortex only, NaN elsewhere)
    /connectivity/population  (r, r) float32   population-average FC Y (symmetric)
    /connectivity/individual  (n, r, r) float32, optional, chunked one subject per chunk, NaN = missing
    /connectivity/subjects    (n,)   str, optional
    /connectivity/structural  (r, r) float32, optional: structural connectivity (NaN = no data for the pair),
                              the target of ``--data.target structural``

Writes are atomic: the file is written next to its destination under a temporary name and renamed.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ge2conn.data.checks import check_connectivity, check_coordinates, check_labels
from ge2conn.data.checksums import FIRST_CHECKSUMMED_VERSION, store_array, verify_array
from ge2conn.data.errors import DatasetError
from ge2conn.data.gene_order import is_reference_ordered
from ge2conn.utils.atomic import atomic_output

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
"""Version 2 added a content checksum to every array (:mod:`ge2conn.data.checksums`); 1 still loads."""
HEMISPHERES = ("L", "R", "M")
STRUCTURES = ("cortex", "subcortex", "cerebellum", "brainstem")

_REBUILD = "rebuild the dataset (`ge2conn data build NAME` or `ge2conn data import ...`)"


@dataclass
class BrainDataset:
    """A parcellated brain: expression, region metadata and functional connectivity.

    Attributes:
        name: Dataset name, e.g. ``"dk82"``.
        expression: (r, g) expression matrix, genes in reference order.
        gene_symbols: (g,) gene symbols.
        gene_chromosomes: (g,) chromosome names ("" when unknown).
        gene_tss: (g,) transcription start sites (-1 when unknown).
        gene_strands: (g,) "+", "-" or "".
        region_labels: (r,) unique labels.
        hemisphere: (r,) "L", "R" or "M".
        structure: (r,) one of :data:`STRUCTURES`.
        network: (r,) functional network name.
        centroids: (r, 3) MNI centroids in mm.
        sphere: (r, 3) unit-sphere coordinates for cortical regions, NaN elsewhere.
        connectivity: (r, r) population FC.
        individual: Optional (n, r, r) individual FC stack (NaN = missing).
        subjects: Optional (n,) subject identifiers.
        provenance: Free-form JSON-serializable provenance (sources, sha256s, recipe, fc_transform, ...).
        structural: Optional (r, r) structural connectivity, symmetric, NaN where a region has none (e.g.
            subcortex when only cortical tractography is available).
    """

    name: str
    expression: np.ndarray
    gene_symbols: np.ndarray
    gene_chromosomes: np.ndarray
    gene_tss: np.ndarray
    gene_strands: np.ndarray
    region_labels: np.ndarray
    hemisphere: np.ndarray
    structure: np.ndarray
    network: np.ndarray
    centroids: np.ndarray
    sphere: np.ndarray
    connectivity: np.ndarray
    individual: np.ndarray | None = None
    subjects: np.ndarray | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    structural: np.ndarray | None = None

    @property
    def num_regions(self) -> int:
        """Number of regions r."""
        return int(self.expression.shape[0])

    @property
    def num_genes(self) -> int:
        """Number of genes g."""
        return int(self.expression.shape[1])

    @property
    def num_subjects(self) -> int:
        """Number of individual connectomes (0 when there are none)."""
        return 0 if self.individual is None else int(self.individual.shape[0])

    def validate(self, path: str | Path = "<in memory>") -> None:
        """Check shapes, symmetry, finiteness, label uniqueness and gene order.

        Args:
            path: File name used in error messages.

        Raises:
            DatasetError: naming the file, the field and the fix, on the first problem found.
        """
        r, g = self.expression.shape if self.expression.ndim == 2 else (-1, -1)
        if self.expression.ndim != 2:
            raise DatasetError(path, "expression", f"expected a 2-D (regions, genes) array, got shape "
                               f"{self.expression.shape}", _REBUILD)
        _check_shape(path, "genes/symbol", self.gene_symbols, (g,))
        _check_shape(path, "genes/chromosome", self.gene_chromosomes, (g,))
        _check_shape(path, "genes/tss", self.gene_tss, (g,))
        _check_shape(path, "genes/strand", self.gene_strands, (g,))
        for name, values in (("regions/label", self.region_labels), ("regions/hemisphere", self.hemisphere),
                             ("regions/structure", self.structure), ("regions/network", self.network)):
            _check_shape(path, name, values, (r,))
        _check_shape(path, "regions/centroid", self.centroids, (r, 3))
        _check_shape(path, "regions/sphere", self.sphere, (r, 3))
        _check_shape(path, "connectivity/population", self.connectivity, (r, r))
        check_labels(path, "regions/label", self.region_labels)
        _check_unique(path, "genes/symbol", self.gene_symbols, "average or drop duplicated genes")
        bad_hemisphere = sorted(set(self.hemisphere.tolist()) - set(HEMISPHERES))
        if bad_hemisphere:
            raise DatasetError(path, "regions/hemisphere", f"unknown values {bad_hemisphere[:5]}",
                               f"use one of {HEMISPHERES}")
        bad_structure = sorted(set(self.structure.tolist()) - set(STRUCTURES))
        if bad_structure:
            raise DatasetError(path, "regions/structure", f"unknown values {bad_structure[:5]}",
                               f"use one of {STRUCTURES}")
        nan_rows = np.isnan(self.expression).all(axis=1)
        partial = np.isnan(self.expression[~nan_rows]).any()
        if partial or np.isinf(self.expression).any():
            raise DatasetError(path, "expression", "contains NaN/inf values in regions that have samples",
                               "impute them or drop the affected genes before building the dataset")
        check_coordinates(path, "regions/centroid", self.region_labels, self.centroids)
        cortex = self.structure == "cortex"
        if np.isnan(self.sphere[cortex]).any() and not np.isnan(self.sphere[cortex]).all():
            raise DatasetError(path, "regions/sphere", "some but not all cortical regions have sphere "
                               "coordinates", "provide sphere coordinates for all cortical regions or none")
        check_connectivity(path, "connectivity/population", self.connectivity)
        if not is_reference_ordered(list(self.gene_chromosomes), self.gene_tss):
            raise DatasetError(path, "genes/tss", "genes are not in reference (chromosome, TSS) order",
                               "sort genes with ge2conn.data.gene_order.reference_order before writing")
        if self.structural is not None:
            _check_shape(path, "connectivity/structural", self.structural, (r, r))
            # NaN marks pairs without data (e.g. subcortex); the rest must be finite and symmetric.
            check_connectivity(path, "connectivity/structural", self.structural, allow_nan=True)
        if self.individual is not None:
            if self.individual.ndim != 3 or self.individual.shape[1:] != (r, r):
                raise DatasetError(path, "connectivity/individual", f"expected shape (n, {r}, {r}), got "
                                   f"{self.individual.shape}", _REBUILD)
            if self.subjects is not None and len(self.subjects) != self.individual.shape[0]:
                raise DatasetError(path, "connectivity/subjects", f"{len(self.subjects)} subjects for "
                                   f"{self.individual.shape[0]} matrices", _REBUILD)

    def drop_regions_without_expression(self, path: str | Path = "<in memory>") -> BrainDataset:
        """Drop regions whose expression row is all NaN (no AHBA samples), with a warning naming them.

        Args:
            path: File name used in the warning.

        Returns:
            A dataset without those regions (``self`` when there are none).
        """
        empty = np.isnan(self.expression).all(axis=1)
        if not empty.any():
            return self
        warnings.warn(f"{path}: dropping {int(empty.sum())} region(s) with no expression samples: "
                      f"{', '.join(map(str, self.region_labels[empty]))}", UserWarning, stacklevel=2)
        return self.select_regions(np.flatnonzero(~empty))

    def select_regions(self, regions: np.ndarray) -> BrainDataset:
        """Restrict the dataset to a subset of regions (in the given order).

        Args:
            regions: Integer indices of the regions to keep.

        Returns:
            A new dataset.
        """
        index = np.asarray(regions, dtype=np.int64)
        grid = np.ix_(index, index)
        return replace(
            self,
            expression=self.expression[index],
            region_labels=self.region_labels[index],
            hemisphere=self.hemisphere[index],
            structure=self.structure[index],
            network=self.network[index],
            centroids=self.centroids[index],
            sphere=self.sphere[index],
            connectivity=self.connectivity[grid],
            individual=None if self.individual is None else self.individual[:, index][:, :, index],
            structural=None if self.structural is None else self.structural[grid],
        )

    def select_genes(self, genes: np.ndarray) -> BrainDataset:
        """Restrict the dataset to a subset of genes (indices, kept in reference order).

        Args:
            genes: Integer indices of the genes to keep.

        Returns:
            A new dataset.
        """
        index = np.sort(np.asarray(genes, dtype=np.int64))
        return replace(
            self,
            expression=self.expression[:, index],
            gene_symbols=self.gene_symbols[index],
            gene_chromosomes=self.gene_chromosomes[index],
            gene_tss=self.gene_tss[index],
            gene_strands=self.gene_strands[index],
        )

    def save(self, path: str | Path) -> Path:
        """Validate and write the dataset atomically (temporary file, then rename).

        Args:
            path: Destination ``.h5`` file.

        Returns:
            The destination path.
        """
        destination = Path(path)
        self.validate(destination)
        with atomic_output(destination) as temporary, h5py.File(temporary, "w") as file:
            self._write(file)
        return destination

    def _write(self, file: h5py.File) -> None:
        file.attrs["format_version"] = FORMAT_VERSION
        file.attrs["name"] = self.name
        file.attrs["provenance"] = json.dumps(self.provenance, sort_keys=True)
        store_array(file, "expression", self.expression.astype(np.float32), compression="gzip", shuffle=True)
        for key, values in (("genes/symbol", self.gene_symbols), ("genes/chromosome", self.gene_chromosomes),
                            ("genes/strand", self.gene_strands), ("regions/label", self.region_labels),
                            ("regions/hemisphere", self.hemisphere), ("regions/structure", self.structure),
                            ("regions/network", self.network)):
            store_array(file, key, np.asarray(values, dtype=str))
        store_array(file, "genes/tss", self.gene_tss.astype(np.int64))
        store_array(file, "regions/centroid", self.centroids.astype(np.float64))
        store_array(file, "regions/sphere", self.sphere.astype(np.float64))
        store_array(file, "connectivity/population", self.connectivity.astype(np.float32))
        if self.structural is not None:
            store_array(file, "connectivity/structural", self.structural.astype(np.float32))
        if self.individual is not None:
            r = self.num_regions
            store_array(file, "connectivity/individual", self.individual.astype(np.float32), chunks=(1, r, r),
                        compression="gzip", shuffle=True)
            if self.subjects is not None:
                store_array(file, "connectivity/subjects", np.asarray(self.subjects, dtype=str))

    @classmethod
    def load(cls, path: str | Path, individual: bool = True, drop_empty_regions: bool = True) -> BrainDataset:
        """Read and validate a dataset file.

        Args:
            path: The ``.h5`` file.
            individual: Also read the individual FC stack when present.
            drop_empty_regions: Drop regions without expression samples (with a warning).

        Returns:
            The dataset.

        Raises:
            DatasetError: when the file is missing, truncated, of another format or fails validation.
        """
        source = Path(path)
        if not source.exists():
            raise DatasetError(source, "<file>", "no such file", _REBUILD)
        try:
            with h5py.File(source, "r") as file:
                dataset = cls._read(source, file, individual)
        except DatasetError:
            raise
        except (OSError, KeyError, ValueError) as error:
            raise DatasetError(source, "<file>", f"cannot be read as a ge2conn HDF5 dataset ({error})",
                               f"the file is truncated or corrupt; delete it and {_REBUILD}") from error
        if drop_empty_regions:
            dataset = dataset.drop_regions_without_expression(source)
        dataset.validate(source)
        return dataset

    @classmethod
    def _read(cls, source: Path, file: h5py.File, individual: bool) -> BrainDataset:
        version = file.attrs.get("format_version")
        if version not in READABLE_VERSIONS:
            raise DatasetError(source, "format_version", f"expected one of {READABLE_VERSIONS}, found "
                               f"{version!r}", _REBUILD)
        checksummed = int(version) >= FIRST_CHECKSUMMED_VERSION
        if not checksummed:
            warnings.warn(f"{source}: format version {version} stores no content checksums, so corruption "
                          f"cannot be detected; {_REBUILD} to add them", UserWarning, stacklevel=3)

        def read(key: str, kind: str = "") -> np.ndarray:
            if key not in file:
                raise DatasetError(source, key, "missing", _REBUILD)
            values = file[key]
            if values.dtype.kind == "O":
                array = np.asarray(values.asstr()[()], dtype=str)
            else:
                array = np.asarray(values[()])
            if checksummed:
                verify_array(source, key, values, array)
            if kind and array.dtype.kind not in kind:
                expected = "floating-point" if kind == "f" else "integer"
                raise DatasetError(source, key, f"stored as {array.dtype}, expected {expected} values",
                                   f"write it as float32/float64; {_REBUILD}" if kind == "f" else _REBUILD)
            return array

        has_individual = individual and "connectivity/individual" in file
        return cls(
            name=str(file.attrs.get("name", source.stem)),
            expression=read("expression", "f").astype(np.float32),
            gene_symbols=read("genes/symbol"),
            gene_chromosomes=read("genes/chromosome"),
            gene_tss=read("genes/tss", "iu").astype(np.int64),
            gene_strands=read("genes/strand"),
            region_labels=read("regions/label"),
            hemisphere=read("regions/hemisphere"),
            structure=read("regions/structure"),
            network=read("regions/network"),
            centroids=read("regions/centroid", "f").astype(np.float64),
            sphere=read("regions/sphere", "f").astype(np.float64),
            connectivity=read("connectivity/population", "f").astype(np.float32),
            individual=read("connectivity/individual", "f").astype(np.float32) if has_individual else None,
            subjects=read("connectivity/subjects") if has_individual and "connectivity/subjects" in file
            else None,
            provenance=json.loads(str(file.attrs.get("provenance", "{}"))),
            structural=read("connectivity/structural", "f").astype(np.float32)
            if "connectivity/structural" in file else None,
        )


@dataclass(frozen=True)
class DatasetHeader:
    """What the CLI needs before any data is loaded (read from the file without the big arrays).

    Attributes:
        name: Dataset name.
        num_regions: Number of regions (before dropping regions without expression).
        num_genes: Number of genes.
        num_subjects: Number of individual connectomes.
    """

    name: str
    num_regions: int
    num_genes: int
    num_subjects: int


def read_header(path: str | Path) -> DatasetHeader:
    """Read the dataset's sizes without loading its arrays.

    Args:
        path: The ``.h5`` file.

    Returns:
        The header.
    """
    source = Path(path)
    try:
        with h5py.File(source, "r") as file:
            regions, genes = file["expression"].shape
            subjects = file["connectivity/individual"].shape[0] if "connectivity/individual" in file else 0
            return DatasetHeader(str(file.attrs.get("name", source.stem)), int(regions), int(genes),
                                 int(subjects))
    except (OSError, KeyError) as error:
        raise DatasetError(source, "<file>", f"cannot be read as a ge2conn HDF5 dataset ({error})",
                           _REBUILD) from error


def _check_shape(path: str | Path, name: str, values: np.ndarray, shape: tuple[int, ...]) -> None:
    if tuple(values.shape) != shape:
        raise DatasetError(path, name, f"expected shape {shape}, got {tuple(values.shape)}",
                           "make every region/gene field match the expression matrix")


def _check_unique(path: str | Path, name: str, values: np.ndarray, fix: str) -> None:
    unique, counts = np.unique(values, return_counts=True)
    if (counts > 1).any():
        raise DatasetError(path, name, f"duplicated values {list(unique[counts > 1][:5])}", fix)
