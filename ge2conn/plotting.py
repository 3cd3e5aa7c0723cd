"""Figures shared by the callbacks, the CLI and the experiment reports (matplotlib, no display needed)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


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


def connectome_figure(
    rows: np.ndarray, cols: np.ndarray, prediction: np.ndarray, target: np.ndarray, title: str = ""
) -> Figure:
    """True vs predicted connectome heatmaps (shared colour scale) and a scatter plot of the edges.

    Args:
        rows: Region index of each edge's first end.
        cols: Region index of each edge's second end.
        prediction: Predicted value per edge.
        target: True value per edge.
        title: Figure title.

    Returns:
        The figure (close it with ``plt.close(fig)`` when done).
    """
    _, true_matrix, predicted_matrix = edges_to_matrices(rows, cols, prediction, target)
    low = float(np.nanmin([np.nanmin(true_matrix), np.nanmin(predicted_matrix)]))
    high = float(np.nanmax([np.nanmax(true_matrix), np.nanmax(predicted_matrix)]))
    figure, axes = plt.subplots(1, 3, figsize=(13, 4.2), constrained_layout=True)
    for axis, matrix, name in ((axes[0], true_matrix, "true"), (axes[1], predicted_matrix, "predicted")):
        image = axis.imshow(matrix, vmin=low, vmax=high, cmap="RdBu_r", interpolation="nearest")
        axis.set_title(f"{name} FC ({matrix.shape[0]} regions)")
        axis.set_xlabel("region")
        axis.set_ylabel("region")
    figure.colorbar(image, ax=axes[:2], shrink=0.8, label="FC")
    correlation = float(np.corrcoef(prediction, target)[0, 1]) if len(target) > 1 else float("nan")
    axes[2].scatter(target, prediction, s=4, alpha=0.4, color="tab:blue", edgecolors="none")
    axes[2].plot([low, high], [low, high], color="grey", linewidth=1, linestyle="--")
    axes[2].set_xlabel("true FC")
    axes[2].set_ylabel("predicted FC")
    axes[2].set_title(f"edges: n={len(target)}, r={correlation:.3f}")
    if title:
        figure.suptitle(title)
    return figure
