"""The Schaefer datasets: ``schaefer{N}`` (N cortical + 14 subcortical regions) and ``schaefer{N}-ctx``.

Built by :func:`ge2conn.data.recipes.surface.build_surface_atlas` (inputs, transforms and checks are listed
there); the Yeo-7 network and hemisphere come from each Schaefer label. The mirror holds N = 100 and 300;
N = 200 and 400 are downloaded at the pinned commits and verified against the sha256 pins in
``ge2conn/data/resources/SHA256SUMS``.

Individual FC (N = 100 only): the four HCP runs in the cubnm 0.1.0 wheel (2 subjects × 2 runs, Schaefer-100
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
from ge2conn.data.recipes.common import BuildContext, fisher_z_zero_negatives
from ge2conn.data.recipes.surface import IndividualHook, SurfaceAtlas, build_surface_atlas
from ge2conn.data.sources import CUBNM

SCHAEFER_RECIPE_VERSION = 3
"""3: the cortical HCP structural matrix (``--data.target structural``)."""
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


def _individual_hook(size: int) -> IndividualHook | None:
    """Reader of cubnm's individual runs for resolutions that have them (checked against the group FC)."""
    if size not in INDIVIDUAL_RESOLUTIONS:
        return None

    def read(
        context: BuildContext, connectivity: np.ndarray, cortical: int
    ) -> tuple[np.ndarray, list[str], dict[str, Any]]:
        individual, subjects = individual_connectomes(context, size, cortical, connectivity.shape[0])
        upper = np.triu_indices(cortical, 1)
        mean_individual = individual[:, :cortical, :cortical].mean(axis=0)
        group = connectivity[:cortical, :cortical][upper]
        agreement = float(np.corrcoef(mean_individual[upper], group)[0, 1])
        if agreement < MIN_INDIVIDUAL_GROUP_CORRELATION:
            raise DatasetError(
                "cubnm",
                "region order",
                f"mean individual FC correlates r={agreement:.2f} with the group FC",
                "the cubnm and ENIGMA Schaefer region orders differ; map them",
            )
        context.log(f"individual FC: {len(subjects)} runs, mean vs group r = {agreement:.3f}")
        return (
            individual,
            subjects,
            {
                "source": "cubnm 0.1.0 HCP-YA BOLD runs (Schaefer cortex)",
                "transform": "pearson r, negatives zeroed, fisher_z, zero diagonal; subcortex NaN",
                "mean_vs_group_r": round(agreement, 4),
            },
        )

    return read


def schaefer_atlas(size: int) -> SurfaceAtlas:
    """The Schaefer-``size`` 7-network parcellation (networks and hemispheres from the labels)."""
    return SurfaceAtlas(
        name=f"schaefer{size}",
        suffix=f"schaefer_{size}",
        size=size,
        hemisphere_of=lambda label, source: schaefer_label_parts(label, source)[0],
        label_networks=lambda label, source: schaefer_label_parts(label, source)[1],
        structural=f"strucMatrix_ctx_schaefer_{size}.csv" if size in (100, 200, 300, 400) else None,
    )


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
    return build_surface_atlas(context, gene_list, schaefer_atlas(size), cortex_only, _individual_hook(size))
