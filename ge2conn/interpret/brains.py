"""Brain figures of a checkpoint: true vs predicted maps on the cortical surface and a glass brain.

- ``brain_seed_<label>.png``: FC of one seed region with every other region, true above predicted;
- ``brain_strength.png``: node strength (mean FC of a region with all others), true above predicted;
- ``glass_brain_predicted.png``: the strongest predicted edges in a glass brain (nodes coloured by network);
- ``predicted_connectome.npy``: the (R, R) symmetric prediction for every region pair (NaN diagonal).

Predictions cover every region pair of the dataset, training regions included: these figures show what the
model learned, not held-out performance (that is the experiment report's reconstruction figure).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ge2conn.figures import quantity_label, save_figure
from ge2conn.figures.brain import brain_figures, default_seed
from ge2conn.figures.names import dataset_provenance
from ge2conn.interpret.checkpoint import RegionData


@dataclass
class BrainFiles:
    """Files written by :func:`export_brains` and what could not be drawn."""

    files: list[Path] = field(default_factory=list)
    limitations: list[str] = field(default_factory=list)


def predict_all_pairs(task: Any, regions: RegionData, batch: int = 8192) -> np.ndarray:
    """The task's symmetric prediction for every region pair, as an (R, R) matrix with a NaN diagonal."""
    count = regions.labels.size
    rows, cols = np.triu_indices(count, 1)
    expression = torch.from_numpy(regions.expression)
    coordinates = torch.from_numpy(regions.coordinates)
    values = []
    with torch.no_grad():
        for start in range(0, rows.size, batch):
            part = slice(start, start + batch)
            values.append(task(expression, coordinates, torch.from_numpy(rows[part]),
                               torch.from_numpy(cols[part])).float().numpy())
    matrix = np.full((count, count), np.nan)
    matrix[rows, cols] = np.concatenate(values) if values else []
    matrix[cols, rows] = matrix[rows, cols]
    return matrix


def choose_seed(regions: RegionData, seed_region: str | None) -> int:
    """Index of the seed region: the one named, else :func:`ge2conn.figures.brain.default_seed`."""
    labels = [str(label) for label in regions.labels]
    if seed_region is not None:
        if seed_region not in labels:
            raise ValueError(f"--seed-region {seed_region!r} is not a region of {regions.path.name}; "
                             f"use one of regions.csv's labels, e.g. {labels[0]!r}")
        return labels.index(seed_region)
    return default_seed(regions.labels, _true_matrix(regions))


def _true_matrix(regions: RegionData) -> np.ndarray:
    if regions.connectivity is None:
        raise ValueError(f"{regions.path}: no connectivity loaded")
    matrix = np.array(regions.connectivity, dtype=float)
    np.fill_diagonal(matrix, np.nan)
    return matrix


def export_brains(task: Any, regions: RegionData, folder: Path, model_name: str,
                  seed_region: str | None = None, edges: int = 50) -> BrainFiles:
    """Write the brain figures and the predicted connectome of a checkpoint on a dataset.

    Args:
        task: The task (called as ``task(expression, coordinates, rows, cols)``).
        regions: The regions (with ``connectivity``).
        folder: Output folder.
        model_name: Display name of the model (e.g. ``"SMT+[CLS]"``).
        seed_region: Label of the seed region (default: see :func:`choose_seed`).
        edges: Edges drawn in the glass brain.

    Returns:
        The files written and what could not be drawn.
    """
    written = BrainFiles()
    predicted = predict_all_pairs(task, regions)
    path = folder / "predicted_connectome.npy"
    np.save(path, predicted.astype(np.float32))
    written.files.append(path)
    true = _true_matrix(regions)
    seed = choose_seed(regions, seed_region)
    dataset = regions.path.stem
    figures, limitations = brain_figures(
        true, predicted, regions.labels, regions.coordinates, regions.network, seed,
        quantity_label(dataset_provenance(regions.path)), f"{model_name} on {dataset}", edges=edges)
    names = {"seed": f"brain_seed_{regions.labels[seed]}.png", "strength": "brain_strength.png",
             "glass": "glass_brain_predicted.png"}
    for key, figure in figures.items():
        written.files.append(save_figure(figure, folder / names[key]))
    written.limitations += [f"{dataset}: {reason}" for reason in limitations]
    return written
