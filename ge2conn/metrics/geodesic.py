"""``GeodesicDistance``: affine-invariant distance between the true and predicted test connectomes.

The metric keeps every edge ``(row, col, prediction, target)`` and rebuilds the matrices by region index in
``compute``, so edge order, process sharding and the duplicate edges that distributed padding adds do not
change the result. See :mod:`ge2conn.metrics.functional_geodesic` for the regularization and the ``legacy``
variant.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor
from torchmetrics.utilities import rank_zero_warn

from ge2conn.metrics.functional import _as_float64_vector
from ge2conn.metrics.functional_geodesic import (
    DEFAULT_SHRINKAGE,
    affine_invariant_distance,
    edges_to_matrices,
    legacy_geodesic_distance,
    shrink_to_spd,
)
from ge2conn.metrics.regression import ListStateMetric


class GeodesicDistance(ListStateMetric):
    """Geodesic distance between the true and predicted connectomes of the regions covered by the edges.

    Args:
        shrinkage: Fixed shrinkage α towards the identity applied to both matrices, ``(1 − α) P₊(C) + α I``.
        legacy: Reproduce the published reference computation (zero diagonal, SVD formula, no shrinkage). It
        is
            neither symmetric nor an SPD distance; use it only to compare with the paper's numbers.

    ``compute`` returns NaN with a warning when some pair of covered regions has no edge (e.g. a partial
    validation pass), since the matrices would then be incomplete.
    """

    is_differentiable = False
    higher_is_better = False
    full_state_update = False
    plot_lower_bound = 0.0

    geodesic_rows: list[Tensor]
    geodesic_cols: list[Tensor]
    geodesic_preds: list[Tensor]
    geodesic_target: list[Tensor]
    list_state_dtypes: ClassVar[dict[str, torch.dtype]] = {
        "geodesic_rows": torch.int64,
        "geodesic_cols": torch.int64,
        "geodesic_preds": torch.float64,
        "geodesic_target": torch.float64,
    }

    def __init__(self, shrinkage: float = DEFAULT_SHRINKAGE, legacy: bool = False) -> None:
        super().__init__()
        if not 0.0 < shrinkage <= 1.0:
            raise ValueError(f"shrinkage must be in (0, 1], got {shrinkage}")
        self.shrinkage = shrinkage
        self.legacy = legacy
        self.add_state("geodesic_rows", default=[], dist_reduce_fx="cat")
        self.add_state("geodesic_cols", default=[], dist_reduce_fx="cat")
        self.add_state("geodesic_preds", default=[], dist_reduce_fx="cat")
        self.add_state("geodesic_target", default=[], dist_reduce_fx="cat")

    def update(self, preds: Tensor, target: Tensor, rows: Tensor, cols: Tensor) -> None:
        """Store a batch of edges.

        Args:
            preds: Predicted values ``(B,)``.
            target: True values ``(B,)``.
            rows: First region index of each edge ``(B,)``.
            cols: Second region index of each edge ``(B,)``.
        """
        if not preds.numel() == target.numel() == rows.numel() == cols.numel():
            raise ValueError("preds, target, rows and cols must have the same number of elements")
        self.geodesic_rows.append(rows.detach().reshape(-1).long())
        self.geodesic_cols.append(cols.detach().reshape(-1).long())
        self.geodesic_preds.append(_as_float64_vector(preds.detach()))
        self.geodesic_target.append(_as_float64_vector(target.detach()))

    def compute(self) -> Tensor:
        """Return the distance as a float64 scalar (NaN with a warning for incomplete matrices)."""
        true_matrix, predicted_matrix, complete = edges_to_matrices(
            self.concatenated("geodesic_rows"),
            self.concatenated("geodesic_cols"),
            self.concatenated("geodesic_preds"),
            self.concatenated("geodesic_target"),
        )
        if true_matrix.shape[0] < 2 or not complete:
            rank_zero_warn(
                "GeodesicDistance needs every pair of the covered regions (a complete test block); "
                "returning NaN."
            )
            return torch.tensor(float("nan"), dtype=torch.float64, device=true_matrix.device)
        if self.legacy:
            return legacy_geodesic_distance(true_matrix, predicted_matrix)
        true_matrix.fill_diagonal_(1.0)
        predicted_matrix.fill_diagonal_(1.0)
        return affine_invariant_distance(
            shrink_to_spd(true_matrix, self.shrinkage), shrink_to_spd(predicted_matrix, self.shrinkage)
        )
