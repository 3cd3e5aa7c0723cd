"""What a run predicts: the functional (default) or the structural connectome of a dataset.

``--data.target structural`` trains and evaluates on the dataset's structural matrix
(``/connectivity/structural``, see :mod:`ge2conn.data.format`) with the same splits, nulls, models and metrics
as functional connectivity. Regions without structural data (NaN rows, e.g. the subcortex of ``dk82``,
whose ENIGMA tractography covers the cortex only) are left out, and individual connectomes (functional) are
not used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import h5py
import numpy as np

from ge2conn.data.errors import DatasetError
from ge2conn.data.format import BrainDataset

Target = Literal["functional", "structural"]
TARGETS: tuple[str, ...] = ("functional", "structural")
STRUCTURAL_KEY = "connectivity/structural"


def target_regions(path: str | Path, target: str) -> np.ndarray:
    """Which of a dataset file's regions have data for the target.

    Args:
        path: The dataset's ``.h5`` file.
        target: ``"functional"`` or ``"structural"``.

    Returns:
        (r,) bool over the file's regions (all True for the functional target).

    Raises:
        ValueError: for an unknown target.
        DatasetError: when the structural target is asked of a dataset without a structural matrix.
    """
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; use one of {TARGETS}")
    with h5py.File(path, "r") as file:
        num_regions = int(file["expression"].shape[0])
        if target == "functional":
            return np.ones(num_regions, dtype=bool)
        if STRUCTURAL_KEY not in file:
            raise DatasetError(path, STRUCTURAL_KEY, "the dataset has no structural connectivity",
                               "use a dataset built with one (dk82, dk68, schaefer100[-ctx], ...; rebuild "
                               "older files with `ge2conn data build NAME --force`) or --data.target "
                               "functional")
        structural = np.asarray(file[STRUCTURAL_KEY][()], dtype=np.float64)
    off_diagonal = ~np.eye(num_regions, dtype=bool)
    return (np.isfinite(structural) | ~off_diagonal).sum(axis=1) > 1


def target_matrix(dataset: BrainDataset, target: str) -> np.ndarray:
    """The (r, r) target connectome of a (region-selected) dataset.

    Args:
        dataset: The dataset, restricted to regions with target data.
        target: ``"functional"`` or ``"structural"``.

    Returns:
        float32 matrix; for the structural target NaN pairs must already be excluded by the region choice.

    Raises:
        DatasetError: when the structural matrix still has missing pairs among the chosen regions.
    """
    if target == "functional":
        return dataset.connectivity.astype(np.float32)
    if dataset.structural is None:
        raise DatasetError(dataset.name, STRUCTURAL_KEY, "the dataset has no structural connectivity",
                           "use a dataset built with one or --data.target functional")
    structural = dataset.structural.astype(np.float32)
    off_diagonal = ~np.eye(structural.shape[0], dtype=bool)
    if not np.isfinite(structural[off_diagonal]).all():
        raise DatasetError(dataset.name, STRUCTURAL_KEY, "missing structural values among the kept regions",
                           "fill them or drop the regions (a region has data only if its row does)")
    return np.where(off_diagonal, structural, 0.0).astype(np.float32)
