"""Synthetic region problems shared by the metric tests (imported by conftest.py and the DDP worker)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

NETWORK_NAMES = ["Visual", "Somato Motor", "Default/Mode"]


@dataclass
class RegionProblem:
    """A random brain: region metadata plus every unordered edge with correlated predictions."""

    coordinates: torch.Tensor
    hemisphere: torch.Tensor
    network: torch.Tensor
    network_names: list[str]
    rows: torch.Tensor
    cols: torch.Tensor
    target: torch.Tensor
    preds: torch.Tensor


def make_region_problem(num_regions: int = 60, seed: int = 0) -> RegionProblem:
    generator = np.random.default_rng(seed)
    coordinates = generator.uniform(-75.0, 75.0, size=(num_regions, 3))
    hemisphere = generator.integers(-1, 2, size=num_regions)  # includes -1 (midline/unknown)
    network = generator.integers(-1, len(NETWORK_NAMES), size=num_regions)  # includes -1 (no network)
    rows, cols = np.triu_indices(num_regions, k=1)
    distance = np.linalg.norm(coordinates[rows] - coordinates[cols], axis=1)
    target = np.exp(-distance / 40.0) - 0.35 + 0.25 * generator.standard_normal(rows.size)
    preds = 0.7 * target + 0.2 * generator.standard_normal(rows.size) + 0.05
    return RegionProblem(
        coordinates=torch.tensor(coordinates),
        hemisphere=torch.tensor(hemisphere),
        network=torch.tensor(network),
        network_names=list(NETWORK_NAMES),
        rows=torch.tensor(rows),
        cols=torch.tensor(cols),
        target=torch.tensor(target, dtype=torch.float32),
        preds=torch.tensor(preds, dtype=torch.float32),
    )
