"""Global edge metrics as torchmetrics ``Metric`` classes: Pearson r, Spearman rho, R², MSE, MAE.

Every ``update`` takes ``preds, target, rows, cols`` (the shared contract of ge2conn edge metrics); these
global metrics ignore ``rows``/``cols``. States are float64 sums reduced by summation across processes
(Spearman keeps all values and concatenates them). Each metric uses its own state names so that a
``MetricCollection`` never merges two of them into one compute group.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat, rank_zero_warn

from ge2conn.metrics.functional import (
    _as_float64_vector,
    _error_compute,
    _error_update,
    _pearson_compute,
    _pearson_update,
    _r_squared_compute,
    _r_squared_update,
    _spearman_compute,
)


def _accumulate(state: Tensor, batch_sums: Tensor) -> Tensor:
    """Add batch sums to a state, restoring float64 in case a module-wide dtype cast reached the state."""
    return state.to(torch.float64) + batch_sums.to(state.device)


class ListStateMetric(Metric):
    """Base for metrics with list states (``dist_reduce_fx="cat"``) that stay valid when a rank saw no data.

    torchmetrics replaces an empty list state by an empty tensor of the metric's default dtype (float32)
    before gathering; next to float64 or int64 tensors from other ranks the collective then fails (gloo
    aborts on the size mismatch). Subclasses list their states in ``list_state_dtypes``; an empty one
    receives a correctly typed empty tensor before every sync.
    """

    list_state_dtypes: ClassVar[dict[str, torch.dtype]] = {}

    def sync(
        self,
        dist_sync_fn: Callable | None = None,
        process_group: Any | None = None,
        should_sync: bool = True,
        distributed_available: Callable | None = None,
    ) -> None:
        """Give empty list states a typed empty tensor, then sync as torchmetrics does."""
        for name, dtype in self.list_state_dtypes.items():
            values = getattr(self, name)
            if isinstance(values, list) and not values:
                values.append(torch.empty(0, dtype=dtype, device=self.device))
        super().sync(dist_sync_fn, process_group, should_sync, distributed_available)

    def concatenated(self, name: str) -> Tensor:
        """The values of a list state as one tensor (an empty, typed tensor if nothing was collected)."""
        values = getattr(self, name)
        if isinstance(values, Tensor):
            return values
        if not values:
            return torch.empty(0, dtype=self.list_state_dtypes[name], device=self.device)
        return dim_zero_cat(values)


class SumStateMetric(Metric):
    """Base for metrics whose state is one float64 vector of sums, reduced by summation across processes.

    Subclasses name the state (``state_name``, distinct per metric so that a ``MetricCollection`` never merges
    two metrics into one compute group), give its length, and map a batch to sums and sums to the value.
    """

    full_state_update = False
    state_name: ClassVar[str]
    state_size: ClassVar[int]

    def __init__(self) -> None:
        super().__init__()
        self.add_state(
            self.state_name, default=torch.zeros(self.state_size, dtype=torch.float64), dist_reduce_fx="sum"
        )

    @abstractmethod
    def batch_sums(self, preds: Tensor, target: Tensor) -> Tensor:
        """Sums contributed by one batch (float64, length ``state_size``)."""

    @abstractmethod
    def value_from_sums(self, sums: Tensor) -> Tensor:
        """The metric value from accumulated sums."""

    def update(
        self, preds: Tensor, target: Tensor, rows: Tensor | None = None, cols: Tensor | None = None
    ) -> None:
        """Accumulate a batch of edges.

        Args:
            preds: Predicted values ``(B,)``.
            target: True values ``(B,)``.
            rows: Ignored (shared edge-metric signature).
            cols: Ignored (shared edge-metric signature).
        """
        setattr(
            self, self.state_name, _accumulate(getattr(self, self.state_name), self.batch_sums(preds, target))
        )

    def compute(self) -> Tensor:
        """Return the metric as a float64 scalar."""
        return self.value_from_sums(getattr(self, self.state_name))


NEAR_FLAT_SD_RATIO = 0.01
"""Predictions with an SD below this share of the target SD are reported as near-flat (r then misleads)."""


def prediction_sd_ratio(sums: Tensor) -> float:
    """SD of the predictions over SD of the targets, from Pearson moment sums ``[n, Σx, Σy, Σx², Σy², Σxy]``.

    Args:
        sums: The six float64 moment sums (x = predictions, y = targets).

    Returns:
        The ratio (NaN when there are no edges or the targets have no spread).
    """
    n, sum_x, sum_y, sum_xx, sum_yy = (float(value) for value in sums[:5])
    if n < 1:
        return float("nan")
    variance_x = max(sum_xx / n - (sum_x / n) ** 2, 0.0)
    variance_y = max(sum_yy / n - (sum_y / n) ** 2, 0.0)
    return (variance_x / variance_y) ** 0.5 if variance_y > 0 else float("nan")


class PearsonR(SumStateMetric):
    """Pearson correlation over all edges seen, from float64 running moment sums.

    Constant predictions (or targets) give NaN with a warning instead of raising. A model that predicts
    almost the same value everywhere can still get a high r from a tiny residual spread (a 2-epoch dk82 MLP
    predicted 0.2576-0.2600 for every edge, SD 0.00044 against a target SD of 0.19, and got r = 0.61 with
    R² = -0.02); with ``warn_near_flat`` such predictions (SD below :data:`NEAR_FLAT_SD_RATIO` of the target
    SD) are reported with a warning.

    Args:
        warn_near_flat: Warn at ``compute`` when the predictions are near-flat (the test collection does).
    """

    is_differentiable = True
    higher_is_better = True
    plot_lower_bound = -1.0
    plot_upper_bound = 1.0
    state_name = "pearson_sums"
    state_size = 6

    def batch_sums(self, preds: Tensor, target: Tensor) -> Tensor:
        """n, Σx, Σy, Σx², Σy², Σxy of the batch."""
        return _pearson_update(preds, target)

    def __init__(self, warn_near_flat: bool = False) -> None:
        super().__init__()
        self.warn_near_flat = warn_near_flat

    def value_from_sums(self, sums: Tensor) -> Tensor:
        """Pearson r (and the near-flat warning when asked for)."""
        ratio = prediction_sd_ratio(sums)
        if self.warn_near_flat and ratio < NEAR_FLAT_SD_RATIO:
            rank_zero_warn(
                f"near-flat predictions: their SD is {100 * ratio:.2g}% of the target SD (below "
                f"{100 * NEAR_FLAT_SD_RATIO:g}%) over {int(sums[0])} edges; the model predicts almost one "
                f"value for every edge, so Pearson r says little here - read R² and MSE instead"
            )
        return _pearson_compute(sums)


class SpearmanRho(ListStateMetric):
    """Spearman rank correlation over all edges seen (keeps every value; ties get average ranks)."""

    is_differentiable = False
    higher_is_better = True
    full_state_update = False
    plot_lower_bound = -1.0
    plot_upper_bound = 1.0

    spearman_preds: list[Tensor]
    spearman_target: list[Tensor]
    list_state_dtypes: ClassVar[dict[str, torch.dtype]] = {
        "spearman_preds": torch.float64,
        "spearman_target": torch.float64,
    }

    def __init__(self) -> None:
        super().__init__()
        self.add_state("spearman_preds", default=[], dist_reduce_fx="cat")
        self.add_state("spearman_target", default=[], dist_reduce_fx="cat")

    def update(
        self, preds: Tensor, target: Tensor, rows: Tensor | None = None, cols: Tensor | None = None
    ) -> None:
        """Store a batch of edges.

        Args:
            preds: Predicted values ``(B,)``.
            target: True values ``(B,)``.
            rows: Ignored (shared edge-metric signature).
            cols: Ignored (shared edge-metric signature).
        """
        if preds.numel() != target.numel():
            raise ValueError(f"preds and target differ in size: {preds.shape} vs {target.shape}")
        self.spearman_preds.append(_as_float64_vector(preds.detach()))
        self.spearman_target.append(_as_float64_vector(target.detach()))

    def compute(self) -> Tensor:
        """Return Spearman rho as a float64 scalar."""
        return _spearman_compute(self.concatenated("spearman_preds"), self.concatenated("spearman_target"))


class RSquared(SumStateMetric):
    """Coefficient of determination ``1 − SS_res / SS_tot`` over all edges seen (float64 sums)."""

    is_differentiable = True
    higher_is_better = True
    plot_upper_bound = 1.0
    state_name = "r_squared_sums"
    state_size = 4

    def batch_sums(self, preds: Tensor, target: Tensor) -> Tensor:
        """Sums needed for R² (see ``_r_squared_update``)."""
        return _r_squared_update(preds, target)

    def value_from_sums(self, sums: Tensor) -> Tensor:
        """R²."""
        return _r_squared_compute(sums)


class _MeanError(SumStateMetric):
    """Mean of the squared (``squared``) or absolute errors over all edges seen, from float64 sums."""

    is_differentiable = True
    higher_is_better = False
    plot_lower_bound = 0.0
    state_size = 2
    squared: ClassVar[bool]

    def batch_sums(self, preds: Tensor, target: Tensor) -> Tensor:
        """Count and sum of squared (or absolute) errors."""
        return _error_update(preds, target, squared=self.squared)

    def value_from_sums(self, sums: Tensor) -> Tensor:
        """The mean error."""
        return _error_compute(sums)


class MeanSquaredError(_MeanError):
    """Mean squared error over all edges seen (float64 sums)."""

    state_name = "squared_error_sums"
    squared = True


class MeanAbsoluteError(_MeanError):
    """Mean absolute error over all edges seen (float64 sums)."""

    state_name = "absolute_error_sums"
    squared = False
