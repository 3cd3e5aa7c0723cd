"""Transfer report: a long CSV of every (pair, condition), true-vs-null matrices per metric, and a heatmap.

Files (in the output folder):

- ``transfer_results.csv``: source, target, condition, shared genes and regions, metrics, training facts;
- ``transfer_matrix_<metric>.csv`` for pearson, mse and geodesic: rows ``(source, condition)``, columns the
  targets, so each source → target cell shows the true value above the null value;
- ``transfer_matrix.png``: Pearson r heatmaps (true, null, true − null), every cell annotated.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ge2conn.figures import new_figure, save_figure

MATRIX_METRICS = ("pearson", "mse", "geodesic")
RESULT_COLUMNS = [
    "source",
    "target",
    "condition",
    "shared_genes",
    "shared_regions",
    "target_regions",
    *MATRIX_METRICS,
    "best_val_loss",
    "epochs",
    "train_regions",
    "val_regions",
    "wall_time_s",
]


@dataclass
class TransferRow:
    """One source → target evaluation of one condition.

    Attributes:
        source: Source dataset name.
        target: Target dataset name.
        condition: ``"true"`` or ``"null"``.
        shared_genes: Genes the model used (shared by both datasets).
        shared_regions: Target regions that are source regions too (same label in the same atlas: the
            model has seen their FC during training, so the pair is not an out-of-sample test).
        target_regions: Number of target regions.
        metrics: ``pearson``, ``mse``, ``geodesic`` on the target's edges.
        training: Facts of the source training run.
    """

    source: str
    target: str
    condition: str
    shared_genes: int
    shared_regions: int
    target_regions: int
    metrics: dict[str, float] = field(default_factory=dict)
    training: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """The row as a flat dictionary with :data:`RESULT_COLUMNS` keys."""
        return {
            "source": self.source,
            "target": self.target,
            "condition": self.condition,
            "shared_genes": self.shared_genes,
            "shared_regions": self.shared_regions,
            "target_regions": self.target_regions,
            **self.metrics,
            **self.training,
        }


def metric_matrix(rows: list[TransferRow], names: list[str], metric: str, condition: str) -> np.ndarray:
    """A (sources × targets) matrix of one metric and condition; NaN where a pair was not run.

    Args:
        rows: The results.
        names: Dataset order (rows and columns).
        metric: Metric name.
        condition: ``"true"`` or ``"null"``.

    Returns:
        (len(names), len(names)) float64.
    """
    matrix = np.full((len(names), len(names)), np.nan)
    for row in rows:
        if row.condition == condition:
            matrix[names.index(row.source), names.index(row.target)] = row.metrics.get(metric, math.nan)
    return matrix


def write_report(
    rows: list[TransferRow], names: list[str], output: Path, title: str = "transfer"
) -> list[Path]:
    """Write the long CSV, one true-vs-null matrix CSV per metric, and the heatmap figure.

    Args:
        rows: The results.
        names: Dataset order of the matrices.
        output: Folder.
        title: Figure title.

    Returns:
        The files written.
    """
    output.mkdir(parents=True, exist_ok=True)
    written = [output / "transfer_results.csv"]
    with written[0].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=RESULT_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(row.as_dict() for row in rows)
    conditions = [
        condition for condition in ("true", "null") if any(row.condition == condition for row in rows)
    ]
    for metric in MATRIX_METRICS:
        path = output / f"transfer_matrix_{metric}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            matrix_writer = csv.writer(handle)
            matrix_writer.writerow(["source", "condition", *names])
            for index, source in enumerate(names):
                for condition in conditions:
                    values = metric_matrix(rows, names, metric, condition)[index]
                    matrix_writer.writerow(
                        [
                            source,
                            condition,
                            *("" if math.isnan(value) else f"{value:.6g}" for value in values),
                        ]
                    )
        written.append(path)
    figure = transfer_figure(rows, names, title)
    written.append(save_figure(figure, output / "transfer_matrix.png"))
    return written


def transfer_figure(rows: list[TransferRow], names: list[str], title: str) -> Figure:
    """Pearson r of every source → target pair: true, null and their difference, annotated.

    Args:
        rows: The results.
        names: Dataset order.
        title: Figure title.

    Returns:
        The figure.
    """
    panels = [("true brain", metric_matrix(rows, names, "pearson", "true"), "viridis")]
    if any(row.condition == "null" for row in rows):
        null = metric_matrix(rows, names, "pearson", "null")
        panels += [
            ("null brain (chance level)", null, "viridis"),
            ("true − null", panels[0][1] - null, "RdBu_r"),
        ]
    # Pairs whose target shares region labels with the source: the model saw some of the target's FC.
    overlap = np.zeros((len(names), len(names)), dtype=bool)
    for result in rows:
        overlap[names.index(result.source), names.index(result.target)] |= result.shared_regions > 0
    finite = np.concatenate([matrix[np.isfinite(matrix)] for _, matrix, _ in panels[:2]] + [np.zeros(1)])
    low, high = float(finite.min()), float(max(finite.max(), 1e-6))
    figure = new_figure(4.6 * len(panels) + 0.8, 4.4)
    axes = figure.subplots(1, len(panels), squeeze=False)
    for axis, (name, matrix, colours) in zip(axes[0], panels, strict=True):
        span = 0.0
        if colours == "RdBu_r":
            # A floor of 0.1 keeps differences that small pale instead of saturating the scale.
            span = max(float(np.nanmax(np.abs(matrix))) if np.isfinite(matrix).any() else 0.0, 0.1)
            image = axis.imshow(matrix, cmap=colours, vmin=-span, vmax=span)
        else:
            image = axis.imshow(matrix, cmap=colours, vmin=low, vmax=high)
        for (row, column), value in np.ndenumerate(matrix):
            if np.isfinite(value):
                axis.text(
                    column,
                    row,
                    f"{value:.2f}{'*' if overlap[row, column] else ''}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color=_text_colour(colours, value, low, high, span if colours == "RdBu_r" else 0.0),
                )
        axis.set_xticks(range(len(names)), names, rotation=35, ha="right", fontsize=8)
        axis.set_yticks(range(len(names)), names, fontsize=8)
        axis.set_xlabel("target")
        axis.set_ylabel("source")
        axis.set_title(f"Pearson r: {name}", fontsize=10)
        figure.colorbar(image, ax=axis, fraction=0.046, pad=0.04, label="Pearson r" if colours == "viridis"
                        else "Δ Pearson r")
    note = (
        "\n* the target shares regions with the source (their FC was seen in training)"
        if overlap.any()
        else ""
    )
    figure.suptitle(title + note, fontsize=10)
    return figure


def _text_colour(colours: str, value: float, low: float, high: float, span: float) -> str:
    """White on the dark half of a colour scale (low viridis, strong red or blue), black elsewhere."""
    if colours == "viridis":
        return "white" if value < (low + high) / 2 else "black"
    return "white" if span > 0 and abs(value) > 0.6 * span else "black"
