"""Brains in an experiment report: one representative model's held-out predictions on the cortical surface.

The representative model is the one with the highest mean test Pearson r on true expression in Table 1
(random split first). The test edges of the outer folds of one round (the round with the most folds) are
stitched into one connectome: in a k-fold split every region is held out once, so every region has held-out
edges with the other test regions of its fold, and no edge the model was trained on is shown. Written beside
the other report figures (``figures/``):

- ``brain_seed_<dataset>_<model>.png``: held-out FC of a seed region (a default-mode hub when present),
  true above predicted, on the conte69 cortical surface;
- ``brain_strength_<dataset>_<model>.png``: node strength over held-out edges, true above predicted;
- ``glass_brain_<dataset>_<model>.png``: the strongest predicted held-out edges in a glass brain.

Atlases without a conte69 parcellation get the glass brain only (:mod:`ge2conn.figures.brain`).
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from ge2conn.data.errors import DatasetError
from ge2conn.experiments.report_figures import run_quantity, run_regions, safe_name
from ge2conn.experiments.storage import PREDICTIONS_FILE
from ge2conn.figures import save_figure
from ge2conn.figures.brain import brain_figures, default_seed

HELD_OUT_TEXTS = {
    "seed": "held-out FC of seed {label} with the other test regions of its fold",
    "strength": "node strength, the mean held-out FC of each region with the test regions of its fold",
    "glass": "predicted held-out connectome (test edges of every fold)",
}
"""Figure titles of :func:`ge2conn.figures.brain.brain_figures` for stitched test edges."""


def held_out_runs(records: list[dict[str, Any]], dataset: str, split: str,
                  model: str) -> list[dict[str, Any]]:
    """The true-expression runs of one round of a model (the round with the most folds; the first on ties)."""
    runs = [record for record in records
            if (record["dataset"], record["split"], record["model"], record["variant"])
            == (dataset, split, model, "true") and (Path(record["folder"]) / PREDICTIONS_FILE).exists()]
    if not runs:
        return []
    folds = Counter(int(record["round"]) for record in runs)
    chosen = max(sorted(folds), key=lambda number: folds[number])
    return sorted((record for record in runs if int(record["round"]) == chosen),
                  key=lambda record: int(record["fold"]))


def stitch_predictions(paths: list[Path], count: int) -> tuple[np.ndarray, np.ndarray]:
    """True and predicted (R, R) connectomes from the test edges of several runs (NaN where no run tested).

    Args:
        paths: ``predictions.npz`` files (rows, cols, target, prediction); an edge tested twice keeps the
            first file's values.
        count: Number of regions R.

    Returns:
        ``(true, predicted)``, symmetric, NaN off the test edges and on the diagonal.

    Raises:
        ValueError: when a file names a region index outside ``[0, R)``.
    """
    true = np.full((count, count), np.nan)
    predicted = np.full((count, count), np.nan)
    for path in paths:
        with np.load(path) as arrays:
            rows, cols = arrays["rows"].astype(np.int64), arrays["cols"].astype(np.int64)
            target, prediction = arrays["target"], arrays["prediction"]
        if rows.size and max(int(rows.max()), int(cols.max())) >= count:
            raise ValueError(f"{path}: region index {max(int(rows.max()), int(cols.max()))} is outside the "
                             f"dataset's {count} regions; was the run made on another version of it?")
        new = np.isnan(true[rows, cols])
        for first, second in ((rows, cols), (cols, rows)):
            true[first[new], second[new]] = target[new]
            predicted[first[new], second[new]] = prediction[new]
    return true, predicted


def representative_model(table1: list[dict[str, Any]], records: list[dict[str, Any]],
                         dataset: str) -> tuple[str, str, str] | None:
    """``(split, model key, model name)`` of the best model by mean true test r (random split first)."""
    rows = [row for row in table1 if row["dataset"] == dataset and math.isfinite(row["pearson_true_mean"])
            and held_out_runs(records, dataset, row["split"], row["model"])]
    if not rows:
        return None
    best = min(rows, key=lambda row: (row["split"] != "random", -row["pearson_true_mean"]))
    return best["split"], best["model"], best["model_name"]


def draw_brains(records: list[dict[str, Any]], table1: list[dict[str, Any]], folder: Path) -> list[Path]:
    """Write the brain figures of each dataset's representative model (see the module docstring).

    Args:
        records: The runs.
        table1: Table 1 rows (:func:`ge2conn.experiments.report.table_rows`).
        folder: Destination folder.

    Returns:
        The files written (none for a dataset whose region table or surface files cannot be read).
    """
    written: list[Path] = []
    for dataset in dict.fromkeys(record["dataset"] for record in records):
        choice = representative_model(table1, records, dataset)
        if choice is None:
            continue
        split, key, name = choice
        runs = held_out_runs(records, dataset, split, key)
        found = run_regions(runs[0])
        if found is None:
            continue
        table, keep = found
        true, predicted = stitch_predictions([Path(run["folder"]) / PREDICTIONS_FILE for run in runs],
                                             int(keep.sum()))
        labels = np.asarray(table.labels)[keep]
        title = f"{name} on {dataset}: {split} split, round {runs[0]['round']}, {len(runs)} outer folds"
        try:
            figures, _ = brain_figures(true, predicted, labels, np.asarray(table.centroids)[keep],
                                       np.asarray(table.network)[keep], default_seed(labels, true),
                                       run_quantity(runs[0]), title, HELD_OUT_TEXTS)
        except DatasetError as error:
            # Surface files not fetched (offline, no mirror): the rest of the report still counts.
            print(f"report: no brain figures for {dataset}: {error}", file=sys.stderr)
            continue
        stem = f"{safe_name(dataset)}_{safe_name(key)}"
        prefixes = {"seed": "brain_seed", "strength": "brain_strength", "glass": "glass_brain"}
        for kind, figure in figures.items():
            written.append(save_figure(figure, folder / f"{prefixes[kind]}_{stem}.png"))
    return written
