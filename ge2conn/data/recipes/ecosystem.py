"""Readers for the neuroimaging ecosystem's files: abagen tables, parcellation images, connectome stacks.

``ge2conn data import`` and ``ge2conn nulls generate`` accept these next to their own CSV formats:

* abagen: the table ``abagen.get_expression_data(atlas, atlas_info).to_csv(...)`` writes (first column
  ``label`` holding the atlas ids, one column per gene) with the ``atlas_info`` CSV (``id, label,
  hemisphere, structure``). abagen's hemisphere ``B`` (bilateral, e.g. the brainstem) is ge2conn's ``M``
  (midline); its structure ``subcortex/brainstem`` is ``brainstem`` for a bilateral region and ``subcortex``
  otherwise. Region labels become ``<hemisphere>_<label>`` (``L_bankssts``), as DK labels are in ge2conn.
* parcellations: a NIfTI label volume (centroid = mean of each label's voxels in world mm), or one GIFTI label
  file per hemisphere (lh then rh) with the surfaces they live on (centroid = mean of each parcel's
  vertices) and, optionally, the matching spheres (spin coordinates = unit-length mean of the parcel's
  sphere vertices). Parcels named like a medial wall or background (:data:`IGNORED_PARCEL_NAMES`) and id 0
  are skipped. Both read with nibabel, as the built-in recipes do; ``tests/ecosystem`` checks them against
  nilearn's and neuromaps' centroids.
* individual connectomes: a nilearn ``ConnectivityMeasure(...).fit_transform(...)`` stack saved with
  ``np.save`` (n × r × r, rows in the region order), or a folder of BIDS derivatives ``*_relmat.tsv``
  (XCP-D: a header row of node labels, the first column the same labels), aligned to the regions by label.
  Subject ids are the BIDS entities before the suffix (``sub-01_ses-1_task-rest``).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np

from ge2conn.data.errors import DatasetError
from ge2conn.data.recipes.common import read_gifti_vertices

IGNORED_PARCEL_NAMES = frozenset({
    "unknown", "???", "medial_wall", "medial wall", "background+freesurfer_defined_medial_wall",
    "corpuscallosum", "background",
})
"""Parcel names (lower case) that are not regions (FreeSurfer, HCP and neuromaps conventions)."""
ABAGEN_HEMISPHERES = {"L": "L", "R": "R", "B": "M"}
ABAGEN_STRUCTURES = {"cortex": "cortex", "subcortex": "subcortex", "cerebellum": "cerebellum",
                     "brainstem": "brainstem", "subcortex/brainstem": "subcortex"}
RELMAT_SUFFIX = "_relmat.tsv"
SUBJECT_ENTITIES = ("sub", "ses", "task", "acq", "run")
"""BIDS entities that name one subject's scan; space/seg/stat/desc name the derivative and are dropped."""


@dataclass(frozen=True)
class AtlasRegion:
    """One row of an abagen ``atlas_info`` table, in ge2conn's vocabulary.

    Attributes:
        label: ge2conn region label (``<hemisphere>_<abagen label>``).
        hemisphere: ``L``, ``R`` or ``M``.
        structure: ``cortex``, ``subcortex``, ``cerebellum`` or ``brainstem``.
    """

    label: str
    hemisphere: str
    structure: str


@dataclass
class Parcellation:
    """Regions of a parcellation image with their centroids.

    Attributes:
        ids: Label id of each region, in output order.
        names: Region name (from the GIFTI label table, else the id).
        hemisphere: ``L``/``R`` for GIFTI (file order), ``""`` for a volume.
        centroids: (r, 3) mean position of each region (mm).
        sphere: (r, 3) unit-sphere spin coordinates, NaN when no spheres were given.
    """

    ids: list[int]
    names: list[str]
    hemisphere: list[str]
    centroids: np.ndarray
    sphere: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))


def read_atlas_info(path: Path) -> dict[int, AtlasRegion]:
    """Read abagen's ``atlas_info`` CSV (``id, label, hemisphere, structure``).

    Args:
        path: The CSV file.

    Returns:
        Atlas id → region.

    Raises:
        DatasetError: for a missing column, a non-integer id, or an unknown hemisphere/structure.
    """
    if not path.is_file():
        raise DatasetError(path, "<file>", "no such atlas_info file", "check the path")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    required = ["id", "label", "hemisphere", "structure"]
    missing = [name for name in required if not rows or name not in rows[0]]
    if missing:
        raise DatasetError(path, missing[0], "column missing", f"give abagen's atlas_info columns "
                           f"{', '.join(required)}")
    regions = {}
    for number, row in enumerate(rows, start=2):
        hemisphere = ABAGEN_HEMISPHERES.get(row["hemisphere"].strip())
        structure = ABAGEN_STRUCTURES.get(row["structure"].strip())
        if hemisphere is None or structure is None:
            raise DatasetError(path, f"row {number}", f"hemisphere {row['hemisphere']!r} / structure "
                               f"{row['structure']!r} not understood",
                               f"use hemisphere one of {sorted(ABAGEN_HEMISPHERES)} and structure one of "
                               f"{sorted(ABAGEN_STRUCTURES)}")
        if hemisphere == "M" and row["structure"].strip() == "subcortex/brainstem":
            structure = "brainstem"
        try:
            index = int(float(row["id"]))
        except ValueError as error:
            raise DatasetError(path, f"row {number}", f"id {row['id']!r} is not an integer",
                               "give the atlas label ids") from error
        regions[index] = AtlasRegion(f"{hemisphere}_{row['label'].strip()}", hemisphere, structure)
    return regions


def volume_parcellation(path: Path) -> Parcellation:
    """Regions and centroids of a NIfTI label volume (world mm), id 0 being background.

    Args:
        path: ``.nii`` or ``.nii.gz`` file.

    Returns:
        The parcellation, regions in increasing id.
    """
    try:
        image = nib.load(path)
        data = np.asarray(image.dataobj)  # type: ignore[attr-defined]
    except Exception as error:  # noqa: BLE001 - nibabel raises many types for unreadable files
        raise DatasetError(path, "<file>", f"cannot be read as a NIfTI image ({error})",
                           "give a NIfTI label volume (.nii/.nii.gz)") from error
    if data.ndim != 3 or not np.allclose(data, np.round(data)):
        raise DatasetError(path, "<data>", f"expected a 3-D integer label volume, got shape {data.shape}",
                           "give a parcellation (one integer label per voxel), not a probabilistic map")
    labels = np.round(data).astype(np.int64)
    voxels = np.flatnonzero(labels > 0)
    ids = labels.ravel()[voxels]
    coordinates = np.stack(np.unravel_index(voxels, labels.shape), axis=1).astype(np.float64)
    counts = np.bincount(ids)
    present = np.flatnonzero(counts)
    sums = np.stack([np.bincount(ids, weights=coordinates[:, axis])[present] for axis in range(3)], axis=1)
    affine = image.affine  # type: ignore[attr-defined]
    centroids = nib.affines.apply_affine(affine, sums / counts[present, None])
    return Parcellation([int(index) for index in present], [str(index) for index in present],
                        [""] * present.size, centroids, np.full((present.size, 3), np.nan))


def surface_parcellation(label_files: Sequence[Path], surfaces: Sequence[Path],
                         spheres: Sequence[Path] | None = None) -> Parcellation:
    """Regions and centroids of GIFTI label files (lh then rh) on their surfaces.

    Args:
        label_files: One ``.label.gii`` per hemisphere (left first).
        surfaces: The surface each label file lives on (same order).
        spheres: Optional spheres of those surfaces, for spin coordinates.

    Returns:
        The parcellation, left hemisphere first, ids increasing within a hemisphere.
    """
    if len(surfaces) != len(label_files) or (spheres is not None and len(spheres) != len(label_files)):
        raise DatasetError(label_files[0], "<surfaces>", f"{len(label_files)} label files for "
                           f"{len(surfaces)} surfaces", "one surface (and sphere) per label file, LH first")
    result = Parcellation([], [], [], np.zeros((0, 3)), np.zeros((0, 3)))
    centroids, sphere_points = [], []
    for side, (label_file, surface) in enumerate(zip(label_files, surfaces, strict=True)):
        image = nib.load(label_file)
        labels = np.asarray(image.agg_data(), dtype=np.int64).ravel()  # type: ignore[attr-defined]
        names = image.labeltable.get_labels_as_dict()  # type: ignore[attr-defined]
        vertices = read_gifti_vertices(surface)
        if vertices.shape[0] != labels.size:
            raise DatasetError(label_file, "<vertices>", f"{labels.size} labels for {vertices.shape[0]} "
                               f"vertices of {surface.name}", "give the surface the parcellation was made on")
        sphere = read_gifti_vertices(spheres[side]) if spheres is not None else None
        for index in np.unique(labels):
            name = str(names.get(int(index), index))
            if index == 0 or name.lower() in IGNORED_PARCEL_NAMES:
                continue
            members = labels == index
            result.ids.append(int(index))
            result.names.append(name)
            result.hemisphere.append("L" if side == 0 else "R")
            centroids.append(vertices[members].mean(axis=0))
            mean = sphere[members].mean(axis=0) if sphere is not None else np.full(3, np.nan)
            sphere_points.append(mean / np.linalg.norm(mean))
    result.centroids, result.sphere = np.array(centroids), np.array(sphere_points)
    return result


def read_parcellation(paths: Sequence[Path], surfaces: Sequence[Path] | None = None,
                      spheres: Sequence[Path] | None = None) -> Parcellation:
    """A NIfTI volume (one path) or GIFTI label files with their surfaces (see the module docstring)."""
    if all(path.name.endswith((".nii", ".nii.gz")) for path in paths) and len(paths) == 1:
        return volume_parcellation(paths[0])
    if all(path.name.endswith(".gii") for path in paths):
        if not surfaces:
            raise DatasetError(paths[0], "<surfaces>", "GIFTI label files hold no geometry",
                               "give the surfaces they live on with --surfaces LH RH")
        return surface_parcellation(paths, surfaces, spheres)
    raise DatasetError(paths[0], "<file>", "not a parcellation ge2conn reads",
                       "give one NIfTI label volume or GIFTI label files (lh, rh) with --surfaces")


def region_labels(parcellation: Parcellation, atlas_info: dict[int, AtlasRegion] | None) -> list[str]:
    """The ge2conn labels of a parcellation's regions.

    From ``atlas_info`` by id when given, else the parcel names (prefixed with the hemisphere where a name
    occurs in both).
    """
    if atlas_info is not None:
        unknown = [index for index in parcellation.ids if index not in atlas_info]
        if unknown:
            raise DatasetError("atlas_info", "id", f"parcellation ids without a row: {unknown[:5]}",
                               "use the atlas_info of this parcellation")
        return [atlas_info[index].label for index in parcellation.ids]
    names = parcellation.names
    return [f"{side}_{name}" if side and names.count(name) > 1 else name
            for side, name in zip(parcellation.hemisphere, names, strict=True)]


def read_abagen_expression(path: Path, atlas_info: dict[int, AtlasRegion]) -> tuple[list[str], list[str],
                                                                                   np.ndarray]:
    """The expression table of abagen with its rows named by ``atlas_info``.

    Args:
        path: CSV written by ``get_expression_data(...).to_csv(path)`` (first column: atlas ids).
        atlas_info: :func:`read_atlas_info` of the same atlas.

    Returns:
        ``(labels, genes, values)`` with NaN rows for regions abagen left without samples.
    """
    from ge2conn.data.recipes.common import read_expression_text

    text = path.read_text(encoding="utf-8-sig")
    label_column = next(csv.reader([text.splitlines()[0]]))[0].strip() or "label"
    ids, genes, values = read_expression_text(text, str(path), label_column)
    labels = []
    for index in ids:
        try:
            labels.append(atlas_info[int(float(index))].label)
        except (ValueError, KeyError) as error:
            raise DatasetError(path, label_column, f"row {index!r} is not an id of the atlas_info table",
                               "give get_expression_data's table and the same atlas_info") from error
    return labels, genes, values


def read_connectome_stack(path: Path, num_regions: int) -> tuple[np.ndarray, list[str]]:
    """A nilearn ``ConnectivityMeasure`` stack saved as ``.npy`` (n × r × r).

    Args:
        path: The ``.npy`` file.
        num_regions: Number of regions r (rows follow the dataset's region order).

    Returns:
        ``(stack, subjects)``; subjects are ``<file stem>-<index>``.
    """
    stack = np.load(path, allow_pickle=False)
    if stack.ndim != 3 or stack.shape[1:] != (num_regions, num_regions):
        raise DatasetError(path, "<array>", f"expected shape (n, {num_regions}, {num_regions}), got "
                           f"{stack.shape}", "save ConnectivityMeasure(...).fit_transform(...) with np.save, "
                           "regions in the coordinates order (vectorize=False)")
    return stack.astype(np.float64), [f"{path.stem}-{index:04d}" for index in range(stack.shape[0])]


def read_relmat_folder(folder: Path, labels: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """BIDS derivatives ``*_relmat.tsv`` matrices (XCP-D), aligned to the regions by label.

    Args:
        folder: Folder searched recursively for ``*_relmat.tsv``.
        labels: The dataset's region labels.

    Returns:
        ``(stack, subjects)`` sorted by file name; subject ids are the BIDS entities before the suffix.
    """
    files = sorted(folder.rglob(f"*{RELMAT_SUFFIX}"))
    if not files:
        raise DatasetError(folder, "<folder>", f"no *{RELMAT_SUFFIX} files", "point at an XCP-D/BIDS "
                           "derivatives folder (or give a folder of .npy/.csv matrices)")
    position = {label: index for index, label in enumerate(labels)}
    stack = np.full((len(files), len(labels), len(labels)), np.nan)
    for subject, path in enumerate(files):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle, delimiter="\t"))
        header = [name.strip() for name in rows[0][1:]]
        row_labels = [row[0].strip() for row in rows[1:]]
        if header != row_labels:
            raise DatasetError(path, "<labels>", "row and column labels differ", "give a square relmat.tsv")
        unknown = [label for label in header if label not in position]
        if unknown:
            raise DatasetError(path, "<labels>", f"nodes not among the dataset's regions: {unknown[:5]}",
                               "use the same atlas labels as the coordinates")
        order = [position[label] for label in header]
        try:
            values = np.array([[float(value) if value.strip() not in ("", "n/a") else np.nan
                                for value in row[1:]] for row in rows[1:]])
        except ValueError as error:
            raise DatasetError(path, "<values>", f"non-numeric value ({error})", "give numbers") from error
        stack[subject][np.ix_(order, order)] = values
    return stack, [subject_id(path) for path in files]


def subject_id(path: Path) -> str:
    """The BIDS entities naming a subject's run (``sub-01_ses-1_task-rest_run-1``), else the file stem."""
    stem = path.name[: -len(RELMAT_SUFFIX)] if path.name.endswith(RELMAT_SUFFIX) else path.stem
    entities = [part for part in stem.split("_") if part.split("-", 1)[0] in SUBJECT_ENTITIES]
    return "_".join(entities) or stem
