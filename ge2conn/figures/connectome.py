"""Connectome figures: true | predicted | residual matrices ordered by network, and a density scatter.

Regions are ordered by Yeo-7 network (canonical order, then any others such as ``Subcortical``), left before
right hemisphere inside each network; network blocks are outlined and labelled. The colour scale is
diverging, centred at 0 and symmetric; the diagonal (never predicted) is grey, distinct from the white of 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import Colormap
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

from ge2conn.figures.canvas import FC_COLOURS, MISSING_COLOUR, new_figure

YEO7_ORDER = ("Vis", "SomMot", "DorsAttn", "SalVentAttn", "Limbic", "Cont", "Default")
"""Canonical Yeo-7 network order (Yeo et al., 2011)."""
_HEMISPHERE_ORDER = {"L": 0, "R": 1, "M": 2}


@dataclass(frozen=True)
class RegionLayout:
    """Region names used to order and label a connectome.

    Attributes:
        network: (R,) network name of each region.
        hemisphere: (R,) ``"L"``, ``"R"`` or ``"M"``.
    """

    network: np.ndarray
    hemisphere: np.ndarray

    @classmethod
    def unknown(cls, count: int) -> RegionLayout:
        """A layout for regions without metadata (one block, original order)."""
        return cls(np.full(count, "regions"), np.full(count, "M"))

    def subset(self, regions: np.ndarray) -> RegionLayout:
        """The layout of some regions (indices into this layout)."""
        return RegionLayout(np.asarray(self.network)[regions], np.asarray(self.hemisphere)[regions])


def network_order(network: Sequence[str] | np.ndarray, hemisphere: Sequence[str] | np.ndarray) -> np.ndarray:
    """Indices that order regions by network (Yeo-7 order, then others alphabetically), then hemisphere.

    Args:
        network: (R,) network names.
        hemisphere: (R,) ``"L"``, ``"R"`` or ``"M"``.

    Returns:
        (R,) order; regions keep their original order inside a (network, hemisphere) group.
    """
    names = np.asarray(network, dtype=str)
    sides = np.asarray(hemisphere, dtype=str)
    others = sorted(set(names.tolist()) - set(YEO7_ORDER))
    rank = {name: index for index, name in enumerate([*YEO7_ORDER, *others])}
    keys = [(rank[name], _HEMISPHERE_ORDER.get(side, 3), index)
            for index, (name, side) in enumerate(zip(names, sides, strict=True))]
    return np.asarray(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.int64)


def network_blocks(sorted_network: np.ndarray) -> list[tuple[str, int, int]]:
    """``(name, start, stop)`` of each run of equal network names in an ordered network array."""
    names = np.asarray(sorted_network, dtype=str)
    if names.size == 0:
        return []
    starts = np.concatenate([[0], np.flatnonzero(names[1:] != names[:-1]) + 1, [names.size]])
    return [(str(names[start]), int(start), int(stop)) for start, stop in zip(starts[:-1], starts[1:],
                                                                               strict=True)]


def edges_to_matrices(
    rows: np.ndarray, cols: np.ndarray, prediction: np.ndarray, target: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rebuild symmetric true and predicted matrices over the regions that the edges touch.

    Args:
        rows: Region index of each edge's first end.
        cols: Region index of each edge's second end.
        prediction: Predicted value per edge.
        target: True value per edge.

    Returns:
        ``(regions, true_matrix, predicted_matrix)``; unobserved entries and the diagonal are NaN.
    """
    regions, inverse = np.unique(np.concatenate([rows, cols]), return_inverse=True)
    local_rows, local_cols = inverse[: len(rows)], inverse[len(rows) :]
    size = len(regions)
    true_matrix = np.full((size, size), np.nan)
    predicted_matrix = np.full((size, size), np.nan)
    for matrix, values in ((true_matrix, target), (predicted_matrix, prediction)):
        matrix[local_rows, local_cols] = values
        matrix[local_cols, local_rows] = values
    return regions, true_matrix, predicted_matrix


def symmetric_limit(*arrays: np.ndarray, quantile: float = 0.99) -> float:
    """A colour limit for a scale centred at 0: the ``quantile`` of the absolute finite values (> 0)."""
    values = np.abs(np.concatenate([np.asarray(array, dtype=float).ravel() for array in arrays]))
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 1.0
    limit = float(np.quantile(values, quantile))
    return limit if limit > 0 else float(values.max()) or 1.0


def draw_matrix(axis: Axes, matrix: np.ndarray, layout: RegionLayout, limit: float, title: str) -> AxesImage:
    """One connectome ordered and labelled by network; returns the image (for a colour bar).

    Args:
        axis: Where to draw.
        matrix: (R, R) values in the layout's region order (NaN: masked, drawn grey).
        layout: Networks and hemispheres of the R regions.
        limit: The colour scale is ``[-limit, limit]``.
        title: Panel title.

    Returns:
        The ``AxesImage``.
    """
    order = network_order(layout.network, layout.hemisphere)
    ordered = np.asarray(matrix, dtype=float)[np.ix_(order, order)]
    colours = _colour_map()
    image = axis.imshow(np.ma.masked_invalid(ordered), cmap=colours, vmin=-limit, vmax=limit,
                        interpolation="nearest")
    blocks = network_blocks(np.asarray(layout.network)[order])
    sides = np.asarray(layout.hemisphere, dtype=str)[order]
    for _, start, stop in blocks:  # dashed: left | right inside a network block
        changes = start + np.flatnonzero(sides[start + 1 : stop] != sides[start : stop - 1]) + 1
        for position in changes:
            axis.axhline(position - 0.5, xmin=0, xmax=1, color="0.35", linewidth=0.4, linestyle=":")
            axis.axvline(position - 0.5, color="0.35", linewidth=0.4, linestyle=":")
    for _, start, _ in blocks[1:]:
        axis.axhline(start - 0.5, color="black", linewidth=0.6)
        axis.axvline(start - 0.5, color="black", linewidth=0.6)
    middles = [(start + stop - 1) / 2 for _, start, stop in blocks]
    names = [name for name, _, _ in blocks]
    axis.set_xticks(middles, names, rotation=90, fontsize=7)
    axis.set_yticks(middles, names, fontsize=7)
    axis.tick_params(length=0)
    axis.set_title(title, fontsize=9)
    return image


def _colour_map() -> Colormap:
    return colormaps[FC_COLOURS].with_extremes(bad=MISSING_COLOUR)


def density_scatter(axis: Axes, target: np.ndarray, prediction: np.ndarray, quantity: str) -> None:
    """Hexbin density of predicted vs true edges with the identity line, Pearson r and R² in the panel.

    Args:
        axis: Where to draw.
        target: True value per edge.
        prediction: Predicted value per edge.
        quantity: Label of the values (e.g. ``"FC, Fisher z"``).
    """
    target = np.asarray(target, dtype=float)
    prediction = np.asarray(prediction, dtype=float)
    finite = np.isfinite(target) & np.isfinite(prediction)
    target, prediction = target[finite], prediction[finite]
    low = float(min(target.min(), prediction.min())) if target.size else 0.0
    high = float(max(target.max(), prediction.max())) if target.size else 1.0
    if target.size:
        hexes = axis.hexbin(target, prediction, gridsize=40, extent=(low, high, low, high), mincnt=1,
                            cmap="viridis", linewidths=0.1)
        axis.figure.colorbar(hexes, ax=axis, shrink=0.8, label="edges per hexagon")
    axis.plot([low, high], [low, high], color="black", linewidth=0.8, linestyle="--", label="identity")
    correlation = float(np.corrcoef(target, prediction)[0, 1]) if target.size > 2 else float("nan")
    residual = float(np.sum((target - prediction) ** 2))
    total = float(np.sum((target - target.mean()) ** 2)) if target.size else float("nan")
    r2 = 1.0 - residual / total if total > 0 else float("nan")
    axis.text(0.03, 0.97, f"r = {correlation:.3f}\nR² = {r2:.3f}\nn = {target.size:,} edges",
              transform=axis.transAxes, va="top", ha="left", fontsize=8,
              bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85, "linewidth": 0.4})
    axis.set_xlim(low, high)
    axis.set_ylim(low, high)
    axis.set_aspect("equal")
    axis.set_xlabel(f"true {quantity}", fontsize=8)
    axis.set_ylabel(f"predicted {quantity}", fontsize=8)
    axis.set_title("edges: predicted vs true", fontsize=9)


def connectome_figure(
    rows: np.ndarray,
    cols: np.ndarray,
    prediction: np.ndarray,
    target: np.ndarray,
    layout: RegionLayout | None = None,
    title: str = "",
    quantity: str = "FC",
) -> Figure:
    """True | predicted | residual connectomes of the edges' regions, and a density scatter of the edges.

    Args:
        rows: Region index of each edge's first end (indices into ``layout``).
        cols: Region index of each edge's second end.
        prediction: Predicted value per edge.
        target: True value per edge.
        layout: Networks and hemispheres of every region ``rows``/``cols`` index (None: unordered).
        title: Figure title (name the model, dataset, split and fold).
        quantity: Quantity and units of the values, e.g. ``"FC, Fisher z"``
            (:func:`ge2conn.figures.canvas.quantity_label`).

    Returns:
        The figure.
    """
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    regions, true_matrix, predicted_matrix = edges_to_matrices(rows, cols, prediction, target)
    if layout is None:
        local_layout = RegionLayout.unknown(len(regions))
    else:
        local_layout = layout.subset(regions)
    residual = predicted_matrix - true_matrix
    figure = new_figure(17.0, 4.6)
    axes = figure.subplots(1, 4, gridspec_kw={"width_ratios": [1, 1, 1, 1.05]})
    limit = symmetric_limit(true_matrix, predicted_matrix)
    draw_matrix(axes[0], true_matrix, local_layout, limit, f"true ({len(regions)} regions)")
    image = draw_matrix(axes[1], predicted_matrix, local_layout, limit, "predicted")
    figure.colorbar(image, ax=axes[:2], shrink=0.8, label=quantity, extend="both")
    residual_limit = symmetric_limit(residual)
    residual_image = draw_matrix(axes[2], residual, local_layout, residual_limit,
                                 "residual (predicted − true)")
    figure.colorbar(residual_image, ax=axes[2], shrink=0.8, label=f"Δ {quantity}", extend="both")
    density_scatter(axes[3], target, prediction, quantity)
    caption = "regions by network, left then right hemisphere; grey diagonal: not predicted"
    figure.suptitle(f"{title}\n{caption}" if title else caption, fontsize=10)
    return figure
