"""Brains: regional maps on the conte69 cortical surface and strongest edges in a glass brain (nilearn).

Surfaces and vertex parcellations are ENIGMA's conte69 32k files (pinned, read from the mirror or the cache
like every dataset input). Regions map to vertices by label: Desikan-Killiany labels (``L_bankssts``) through
``aparc_conte69``, Schaefer labels (``7Networks_LH_Vis_1``) through ``schaefer_{100,300}_conte69``; other
atlases get no surface map (the glass brain needs only centroids). Subcortical regions are not on the
surface; they appear in the glass brain.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ge2conn.data.recipes.common import CONTE69_VERTICES_PER_HEMISPHERE, FREESURFER_APARC_NAMES
from ge2conn.data.sources import enigma_file, fetch_github_file
from ge2conn.figures.canvas import FC_COLOURS, new_figure
from ge2conn.figures.connectome import YEO7_ORDER, symmetric_limit

SURFACE_VIEWS = (("left", "lateral"), ("left", "medial"), ("right", "medial"), ("right", "lateral"))
_SCHAEFER = re.compile(r"^(7|17)Networks_(LH|RH)_")


@dataclass(frozen=True)
class SurfaceAtlas:
    """Which region each conte69 vertex belongs to.

    Attributes:
        name: The parcellation (``aparc_conte69``, ``schaefer_100_conte69``, ...).
        meshes: ``{"left": path, "right": path}`` of the conte69 32k midthickness GIFTI surfaces.
        vertex_region: ``{"left": (V,), "right": (V,)}`` region index per vertex (-1: no region).
    """

    name: str
    meshes: dict[str, Path]
    vertex_region: dict[str, np.ndarray]

    def project(self, values: np.ndarray) -> dict[str, np.ndarray]:
        """Per-vertex values of a per-region map (NaN off the regions: medial wall, other structures)."""
        values = np.asarray(values, dtype=float)
        return {side: np.where(index >= 0, values[np.maximum(index, 0)], np.nan)
                for side, index in self.vertex_region.items()}


def _parcel_to_region(labels: np.ndarray) -> tuple[str, dict[int, int]] | None:
    """The parcellation file and parcel id → region index, or None when the labels match none."""
    names = [str(label) for label in labels]
    schaefer = [index for index, label in enumerate(names) if _SCHAEFER.match(label)]
    if schaefer:
        size = len(schaefer)  # id k = k-th cortical label of the full atlas, in the atlas's order
        if size not in (100, 300):
            return None
        return f"schaefer_{size}_conte69", {number + 1: index for number, index in enumerate(schaefer)}
    ids = {}
    aparc = list(FREESURFER_APARC_NAMES)
    for index, label in enumerate(names):
        side, _, name = label.partition("_")
        if side in ("L", "R") and name in aparc and name not in ("unknown", "corpuscallosum"):
            ids[aparc.index(name) + (len(aparc) - 1 if side == "R" else 0)] = index
    return ("aparc_conte69", ids) if ids else None


def surface_atlas(labels: np.ndarray) -> SurfaceAtlas | None:
    """The conte69 surface atlas of a dataset's regions (None when its atlas has no conte69 parcellation).

    Args:
        labels: (R,) region labels of the dataset, in row order.

    Returns:
        The atlas, or None.
    """
    found = _parcel_to_region(labels)
    if found is None:
        return None
    name, parcel_region = found
    parcellation_file = fetch_github_file(enigma_file(f"parcellations/{name}.csv")).path
    parcellation = np.loadtxt(parcellation_file, dtype=np.int64)
    lookup = np.full(int(parcellation.max()) + 1, -1, dtype=np.int64)
    for parcel, region in parcel_region.items():
        if parcel < lookup.size:
            lookup[parcel] = region
    regions = lookup[parcellation]
    half = CONTE69_VERTICES_PER_HEMISPHERE
    meshes = {side: fetch_github_file(enigma_file(f"surfaces/conte69_32k_{code}.gii")).path
              for side, code in (("left", "lh"), ("right", "rh"))}
    return SurfaceAtlas(name, meshes, {"left": regions[:half], "right": regions[half:]})


def surface_maps_figure(
    maps: list[tuple[str, np.ndarray]], atlas: SurfaceAtlas, quantity: str, title: str,
    symmetric: bool = True,
) -> Figure:
    """Rows of regional maps on the cortical surface (left lateral, left medial, right medial, right lateral).

    All rows share one colour scale (centred at 0 when ``symmetric``), so true and predicted maps compare.

    Args:
        maps: ``(row name, (R,) values per region)``, e.g. true and predicted seed connectivity.
        atlas: The surface atlas.
        quantity: Colour-bar label with units.
        title: Figure title.
        symmetric: Diverging scale ``[-m, m]``; otherwise sequential over the values' range.

    Returns:
        The figure.
    """
    from nilearn import plotting  # imported here: nilearn takes seconds to import

    values = np.concatenate([np.asarray(row, dtype=float) for _, row in maps])
    if symmetric:
        limit = symmetric_limit(values, quantile=1.0)
        low, high, colours = -limit, limit, FC_COLOURS
    else:
        low, high, colours = float(np.nanmin(values)), float(np.nanmax(values)), "viridis"
        high = high if high > low else low + 1.0
    figure = new_figure(11.0, 2.3 * len(maps) + 0.9, dpi=100)
    grid = figure.add_gridspec(len(maps), len(SURFACE_VIEWS))
    for row, (name, region_values) in enumerate(maps):
        vertices = atlas.project(region_values)
        for column, (side, view) in enumerate(SURFACE_VIEWS):
            axis = figure.add_subplot(grid[row, column], projection="3d")
            plotting.plot_surf_stat_map(
                str(atlas.meshes[side]), vertices[side], hemi=side, view=view, axes=axis, figure=figure,
                cmap=colours, vmin=low, vmax=high, colorbar=False, symmetric_cbar=False,
            )
            axis.set_title(f"{name}\n{side} {view}" if column == 0 else f"{side} {view}", fontsize=8)
    mappable = ScalarMappable(Normalize(low, high), colormaps[colours])
    figure.colorbar(mappable, ax=figure.axes, shrink=0.7, label=quantity, location="right")
    figure.suptitle(f"{title}\ngrey: medial wall and regions without a value", fontsize=10)
    return figure


def glass_brain_figure(
    matrix: np.ndarray, centroids: np.ndarray, network: np.ndarray, top: int, title: str, quantity: str
) -> Figure:
    """The ``top`` strongest edges (by absolute value) of a connectome in a glass brain.

    Args:
        matrix: (R, R) symmetric connectome (NaN diagonal allowed).
        centroids: (R, 3) MNI centroids in mm.
        network: (R,) network of each region (node colours).
        top: Number of edges drawn.
        title: Figure title.
        quantity: Edge colour-bar label with units.

    Returns:
        The figure.
    """
    from nilearn import plotting  # imported here: nilearn takes seconds to import

    values = np.nan_to_num(np.asarray(matrix, dtype=float), nan=0.0)
    values = (values + values.T) / 2
    np.fill_diagonal(values, 0.0)
    rows, cols = np.triu_indices_from(values, 1)
    strength = np.abs(values[rows, cols])
    keep = np.argsort(-strength, kind="stable")[: min(top, strength.size)]
    kept = np.zeros_like(values)
    kept[rows[keep], cols[keep]] = values[rows[keep], cols[keep]]
    kept += kept.T
    names = np.asarray(network, dtype=str)
    order = [*YEO7_ORDER, *sorted(set(names.tolist()) - set(YEO7_ORDER))]
    palette = colormaps["tab10"]
    present = [name for name in order if name in set(names.tolist())]
    node_colours = [palette(present.index(name) % 10) for name in names]
    limit = float(np.abs(kept).max()) or 1.0
    figure = new_figure(11.0, 3.6, dpi=100, layout=None)
    display = plotting.plot_connectome(
        kept, np.asarray(centroids, dtype=float), node_color=node_colours, node_size=14, edge_cmap=FC_COLOURS,
        edge_vmin=-limit, edge_vmax=limit, display_mode="lzry", figure=figure, colorbar=True,
        edge_kwargs={"linewidth": 1.2}, title=None,
    )
    display.title("")  # the figure's title says it all
    legend = [Line2D([], [], marker="o", linestyle="", color=palette(index % 10), label=name)
              for index, name in enumerate(present)]
    figure.legend(handles=legend, loc="lower center", ncol=len(legend), fontsize=7, frameon=False)
    figure.suptitle(f"{title}\n{len(keep)} strongest edges by |{quantity}|; nodes coloured by network",
                    fontsize=10)
    return figure


DEFAULT_SEEDS = ("L_precuneus", "7Networks_LH_Default_PCC_1")
"""Seeds tried first when none is given (a default-mode hub), else the region of highest true strength."""

EXPLAIN_TEXTS = {
    "seed": "FC of seed {label} (grey on the surface) with every region",
    "strength": "node strength: mean FC of each region with all others",
    "glass": "predicted connectome (all region pairs)",
}
"""Figure titles of :func:`brain_figures` for predictions of every region pair (``ge2conn explain``)."""


def node_strength(matrix: np.ndarray) -> np.ndarray:
    """Mean connectivity of each region with every other region (NaN entries and the diagonal ignored)."""
    values = np.array(matrix, dtype=float)
    np.fill_diagonal(values, np.nan)
    present = np.isfinite(values).any(axis=1)
    strength = np.full(values.shape[0], np.nan)
    strength[present] = np.nanmean(values[present], axis=1)
    return strength


def default_seed(labels: np.ndarray, true: np.ndarray, candidates: np.ndarray | None = None) -> int:
    """A default-mode hub (:data:`DEFAULT_SEEDS`) among the candidates, else the strongest candidate.

    Args:
        labels: (R,) region labels.
        true: (R, R) true connectome (NaN where unknown).
        candidates: (R,) bool, regions that may be the seed (default: every region with a known value).

    Returns:
        The seed's index.
    """
    strength = node_strength(true)
    allowed = np.isfinite(strength) if candidates is None else np.asarray(candidates, dtype=bool)
    names = [str(label) for label in labels]
    for name in DEFAULT_SEEDS:
        if name in names and allowed[names.index(name)]:
            return names.index(name)
    return int(np.nanargmax(np.where(allowed, strength, np.nan)))


def brain_figures(
    true: np.ndarray, predicted: np.ndarray, labels: np.ndarray, centroids: np.ndarray, network: np.ndarray,
    seed: int, quantity: str, title: str, texts: Mapping[str, str] = EXPLAIN_TEXTS, edges: int = 50,
) -> tuple[dict[str, Figure], list[str]]:
    """Seed-region and node-strength surface maps (true above predicted) and a glass brain of a prediction.

    Args:
        true: (R, R) true connectome (NaN: unknown or diagonal).
        predicted: (R, R) predicted connectome, NaN where ``true`` is.
        labels: (R,) region labels (they choose the surface parcellation, :func:`surface_atlas`).
        centroids: (R, 3) MNI centroids in mm.
        network: (R,) network of each region.
        seed: Index of the seed region.
        quantity: Colour-bar label with units (``"FC, Fisher z"``).
        title: Title prefix naming the model and dataset.
        texts: ``seed`` / ``strength`` / ``glass`` title texts (``{label}``: the seed's label).
        edges: Edges drawn in the glass brain.

    Returns:
        ``{"seed" | "strength" | "glass": figure}`` (no surface maps when the atlas has no conte69
        parcellation) and the reasons for what was not drawn.
    """
    figures: dict[str, Figure] = {}
    limitations: list[str] = []
    label = str(labels[seed])
    atlas = surface_atlas(labels)
    if atlas is None:
        limitations.append("the atlas has no conte69 surface parcellation (Desikan-Killiany and "
                           "Schaefer-100/300 have): no surface maps, only the glass brain")
    else:
        figures["seed"] = surface_maps_figure([("true", true[seed]), ("predicted", predicted[seed])], atlas,
                                              quantity, f"{title}: {texts['seed'].format(label=label)}")
        figures["strength"] = surface_maps_figure(
            [("true", node_strength(true)), ("predicted", node_strength(predicted))], atlas, quantity,
            f"{title}: {texts['strength']}", symmetric=False)
    figures["glass"] = glass_brain_figure(predicted, centroids, network, edges, f"{title}: {texts['glass']}",
                                          quantity.partition(" (")[0])
    return figures, limitations
