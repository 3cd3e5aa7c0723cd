"""Figures of an experiment report: true-vs-null bars and example test-set reconstructions."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from ge2conn.experiments.storage import PREDICTIONS_FILE
from ge2conn.plotting import connectome_figure, plt


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def true_vs_null_figure(rows: list[dict[str, Any]], records: list[dict[str, Any]], title: str) -> Any:
    """Bars of mean test Pearson r (± SD) per model, true beside null, with each split as a dot.

    Args:
        rows: Table 1 rows of one dataset and split (see :func:`ge2conn.experiments.report.table_rows`).
        records: The runs (for the per-split dots).
        title: Figure title.

    Returns:
        The matplotlib figure.
    """
    figure, axis = plt.subplots(figsize=(max(6.0, 0.9 * len(rows) + 2), 4.2), constrained_layout=True)
    positions = np.arange(len(rows))
    width = 0.38
    for offset, variant, colour in ((-width / 2, "true", "tab:blue"), (width / 2, "null", "tab:grey")):
        means = [row[f"pearson_{variant}_mean"] for row in rows]
        sds = [row[f"pearson_{variant}_sd"] if math.isfinite(row[f"pearson_{variant}_sd"]) else 0.0
               for row in rows]
        axis.bar(positions + offset, means, width, yerr=sds, color=colour, alpha=0.8,
                 label=f"{variant} expression", capsize=3)
        for index, row in enumerate(rows):
            values = [record["metrics"].get("test/pearson") for record in records
                      if (record["dataset"], record["split"], record["model"], record["variant"])
                      == (row["dataset"], row["split"], row["model"], variant)]
            values = [value for value in values if value is not None]
            axis.scatter(np.full(len(values), index + offset), values, s=9, color="black", zorder=3)
    axis.set_xticks(positions, [row["model_name"] for row in rows], rotation=35, ha="right")
    axis.set_ylabel("test Pearson r")
    axis.axhline(0.0, color="black", linewidth=0.6)
    axis.set_title(title, fontsize=10)
    axis.legend(frameon=False)
    return figure


def draw_figures(records: list[dict[str, Any]], table1: list[dict[str, Any]], order: list[tuple[str, str]],
                 folder: Path) -> list[Path]:
    """Write the report figures.

    - ``true_vs_null_<dataset>_<split>.png`` for every dataset and split;
    - ``reconstruction_<dataset>_<model>.png``: the true-expression run of the first split type, lowest
      round and fold, drawn by :func:`ge2conn.plotting.connectome_figure` from its ``predictions.npz``.

    Args:
        records: The runs.
        table1: Table 1 rows.
        order: ``(key, name)`` of the models in report order.
        folder: Destination folder.

    Returns:
        The files written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for dataset, split in dict.fromkeys((row["dataset"], row["split"]) for row in table1):
        rows = [row for row in table1 if (row["dataset"], row["split"]) == (dataset, split)]
        figure = true_vs_null_figure(rows, records, f"{dataset}, {split} split: true vs null expression")
        path = folder / f"true_vs_null_{_safe(dataset)}_{split}.png"
        figure.savefig(path, dpi=120)
        plt.close(figure)
        written.append(path)
    for dataset in dict.fromkeys(record["dataset"] for record in records):
        for key, name in order:
            runs = sorted((record for record in records
                           if (record["dataset"], record["model"], record["variant"])
                           == (dataset, key, "true")
                           and (Path(record["folder"]) / PREDICTIONS_FILE).exists()),
                          key=lambda record: (record["split"] != "random", record["split"], record["round"],
                                              record["fold"]))
            if not runs:
                continue
            run = runs[0]
            with np.load(Path(run["folder"]) / PREDICTIONS_FILE) as arrays:
                title = (f"{name} on {dataset}: {run['split']} split, round {run['round']}, "
                         f"fold {run['fold']} (test regions)")
                figure = connectome_figure(arrays["rows"], arrays["cols"], arrays["prediction"],
                                           arrays["target"], title=title)
            path = folder / f"reconstruction_{_safe(dataset)}_{_safe(key)}.png"
            figure.savefig(path, dpi=110)
            plt.close(figure)
            written.append(path)
    return written
