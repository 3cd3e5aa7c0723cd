"""What tasks and callbacks need from a datamodule, as a typed protocol, and the one place that checks it.

:class:`~ge2conn.data.datamodule.EdgePairDataModule` satisfies :class:`EdgeData`; a task or callback reads
``trainer.datamodule`` only through :func:`edge_data` (or :func:`require_edge_data`), never directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from torch import Tensor

from ge2conn.data.region_table import RegionMetadata
from ge2conn.data.splits import RegionSplit


@runtime_checkable
class EdgeData(Protocol):
    """The datamodule interface that tasks and callbacks rely on.

    Attributes:
        num_regions: Number of regions R kept by the datamodule.
        region_metadata: Labels, centroids, hemispheres and networks of the R regions (for the metrics).
        split: The region split (train, validation and test region indices).
        train_edges: (E, 2) training edges (region index pairs).
        dataset_path: The dataset file (its name and FC transform label figures).
        num_subjects: Number of individual connectomes in the file (0: none).
        hparams: The datamodule's arguments (split, round, fold, null rank: figure titles).
    """

    num_regions: int
    dataset_path: Path
    num_subjects: int
    hparams: Mapping[str, Any]
    region_metadata: RegionMetadata
    split: RegionSplit
    train_edges: Tensor

    def region_tensors(self, device: torch.device | str) -> dict[str, Tensor]:
        """``expression`` (R, G), ``coordinates`` (R, 3), ``sphere`` (R, 3), ``connectivity`` (R, R)."""
        ...

    def individual_connectivity(self, device: torch.device | str) -> Tensor | None:
        """(n, R, R) individual connectomes on a device, or None when the dataset has none."""
        ...

    def training_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Numpy inputs of closed-form models: expression, coordinates, rows, cols, targets (float64)."""
        ...


def edge_data(trainer: object) -> EdgeData | None:
    """The trainer's datamodule as :class:`EdgeData`, or None when none is attached (or it is another kind).

    Args:
        trainer: A Lightning trainer (anything with a ``datamodule`` attribute).

    Returns:
        The datamodule, typed.
    """
    datamodule = getattr(trainer, "datamodule", None)
    return datamodule if isinstance(datamodule, EdgeData) else None


def require_edge_data(trainer: object, user: str) -> EdgeData:
    """Like :func:`edge_data`, for code that cannot work without the datamodule.

    Args:
        trainer: A Lightning trainer.
        user: Who needs it (named in the error).

    Returns:
        The datamodule, typed.

    Raises:
        TypeError: When the trainer has no datamodule with the :class:`EdgeData` interface.
    """
    data = edge_data(trainer)
    if data is None:
        found = type(getattr(trainer, "datamodule", None)).__name__
        raise TypeError(f"{user} needs an EdgePairDataModule (or any datamodule with the EdgeData interface "
                        f"of ge2conn.data.protocol); the trainer has {found}. Pass datamodule= to fit/test")
    return data
