"""Functional forms of the global edge metrics (Pearson r, Spearman rho, R², MSE, MAE).

Each metric is split torchmetrics-style into ``_<name>_update`` (turns one batch into float64 sufficient
statistics that can be summed across batches and processes) and ``_<name>_compute`` (turns the summed
statistics into the value), plus a public one-shot function.

Numerics: every statistic is accumulated in float64 whatever the input dtype (bf16 predictions are upcast
before any arithmetic). Pearson r and R² use raw moment sums (Σx, Σx², Σxy, ...); the centred second moment is
then ``Σx² − (Σx)²/n``, which loses about ``log10(mean² / variance)`` of float64's ~16 significant digits to
cancellation. Functional-connectivity values and sensible predictions lie in [−1, 1] with a variance that is
not tiny relative to the squared mean, so the loss is a few digits at most; only predictions with a huge
constant offset (|mean| / std > 1e6) would be affected. Raw sums are kept because they reduce across processes
by plain summation.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics.utilities import rank_zero_warn


def _as_float64_vector(values: Tensor) -> Tensor:
    """Flatten and upcast a batch of values to float64 (bf16/fp16 inputs lose nothing more here)."""
    return values.reshape(-1).to(torch.float64)


def _check_same_shape(preds: Tensor, target: Tensor) -> None:
    if preds.numel() != target.numel():
        raise ValueError(
            f"preds and target must have the same number of elements, got {preds.shape} and {target.shape}"
        )


def _nan_like(reference: Tensor) -> Tensor:
    return torch.tensor(float("nan"), dtype=torch.float64, device=reference.device)


def _pearson_update(preds: Tensor, target: Tensor) -> Tensor:
    """Batch sufficient statistics for Pearson r.

    Args:
        preds: Predicted edge values, any float dtype, any shape.
        target: True edge values, same number of elements.

    Returns:
        A float64 tensor ``[n, Σx, Σy, Σx², Σy², Σxy]`` with x = preds and y = target.
    """
    _check_same_shape(preds, target)
    x = _as_float64_vector(preds)
    y = _as_float64_vector(target)
    n = torch.tensor(float(x.numel()), dtype=torch.float64, device=x.device)
    return torch.stack([n, x.sum(), y.sum(), (x * x).sum(), (y * y).sum(), (x * y).sum()])


def _pearson_from_sums(sums: Tensor) -> Tensor:
    """Pearson r from ``[..., 6]`` moment sums; NaN where a variance is zero or n < 2 (no warning)."""
    n, sum_x, sum_y, sum_xx, sum_yy, sum_xy = sums.unbind(-1)
    centred_xx = sum_xx - sum_x * sum_x / n
    centred_yy = sum_yy - sum_y * sum_y / n
    centred_xy = sum_xy - sum_x * sum_y / n
    # Cancellation can leave a tiny negative centred moment for constant data; treat as zero variance.
    degenerate = (n < 2) | (centred_xx <= 0) | (centred_yy <= 0)
    denominator = torch.sqrt(centred_xx.clamp(min=0) * centred_yy.clamp(min=0))
    r = (centred_xy / denominator).clamp(-1.0, 1.0)
    return torch.where(degenerate, torch.full_like(r, float("nan")), r)


def _pearson_compute(sums: Tensor) -> Tensor:
    """Pearson r from the sums of :func:`_pearson_update`; warns and returns NaN when undefined."""
    r = _pearson_from_sums(sums)
    if torch.isnan(r):
        rank_zero_warn(
            "Pearson r is undefined (constant predictions or targets, or fewer than 2 edges); returning NaN."
        )
    return r


def pearson_r(preds: Tensor, target: Tensor) -> Tensor:
    """Pearson correlation between predicted and true edge values, computed in float64.

    Args:
        preds: Predicted values.
        target: True values.

    Returns:
        A float64 scalar; NaN (with a warning) for constant inputs.
    """
    return _pearson_compute(_pearson_update(preds, target))


def _rank_average(values: Tensor) -> Tensor:
    """1-based ranks with ties given their average rank (scipy's ``rankdata(method="average")``)."""
    _, inverse, counts = torch.unique(values, sorted=True, return_inverse=True, return_counts=True)
    counts = counts.to(torch.float64)
    last_rank = torch.cumsum(counts, dim=0)
    average_rank = last_rank - (counts - 1.0) / 2.0
    return average_rank[inverse]


def _spearman_compute(preds: Tensor, target: Tensor) -> Tensor:
    """Spearman rho of all collected values: Pearson r of average ranks; NaN (with a warning) if undefined."""
    _check_same_shape(preds, target)
    x = _as_float64_vector(preds)
    y = _as_float64_vector(target)
    if x.numel() == 0:
        rank_zero_warn("Spearman rho of zero edges is undefined; returning NaN.")
        return _nan_like(x)
    rho = _pearson_from_sums(_pearson_update(_rank_average(x), _rank_average(y)))
    if torch.isnan(rho):
        rank_zero_warn("Spearman rho is undefined (constant predictions or targets); returning NaN.")
    return rho


def spearman_rho(preds: Tensor, target: Tensor) -> Tensor:
    """Spearman rank correlation (ties get average ranks), computed in float64.

    Args:
        preds: Predicted values.
        target: True values.

    Returns:
        A float64 scalar; NaN (with a warning) for constant inputs.
    """
    return _spearman_compute(preds, target)


def _r_squared_update(preds: Tensor, target: Tensor) -> Tensor:
    """Batch statistics for R²: float64 ``[n, Σy, Σy², Σ(y − x)²]``."""
    _check_same_shape(preds, target)
    x = _as_float64_vector(preds)
    y = _as_float64_vector(target)
    n = torch.tensor(float(y.numel()), dtype=torch.float64, device=y.device)
    residual = y - x
    return torch.stack([n, y.sum(), (y * y).sum(), (residual * residual).sum()])


def _r_squared_compute(sums: Tensor) -> Tensor:
    """R² = 1 − SS_res / SS_tot (sklearn's ``r2_score``); NaN with a warning for constant targets."""
    n, sum_y, sum_yy, sum_squared_residual = sums.unbind(-1)
    total_sum_of_squares = sum_yy - sum_y * sum_y / n
    if n < 2 or total_sum_of_squares <= 0:
        rank_zero_warn("R² is undefined (constant targets or fewer than 2 edges); returning NaN.")
        return _nan_like(sums)
    return 1.0 - sum_squared_residual / total_sum_of_squares


def r_squared(preds: Tensor, target: Tensor) -> Tensor:
    """Coefficient of determination of the predictions, computed in float64.

    Args:
        preds: Predicted values.
        target: True values.

    Returns:
        A float64 scalar; NaN (with a warning) for constant targets.
    """
    return _r_squared_compute(_r_squared_update(preds, target))


def _error_update(preds: Tensor, target: Tensor, squared: bool) -> Tensor:
    """Batch statistics for MSE (``squared``) or MAE: float64 ``[n, Σ error]``."""
    _check_same_shape(preds, target)
    difference = _as_float64_vector(preds) - _as_float64_vector(target)
    error = difference * difference if squared else difference.abs()
    n = torch.tensor(float(error.numel()), dtype=torch.float64, device=error.device)
    return torch.stack([n, error.sum()])


def _error_compute(sums: Tensor) -> Tensor:
    """Mean error from ``[n, Σ error]``; NaN when no edge was seen."""
    n, total = sums.unbind(-1)
    if n == 0:
        return _nan_like(sums)
    return total / n


def mean_squared_error(preds: Tensor, target: Tensor) -> Tensor:
    """Mean squared error in float64.

    Args:
        preds: Predicted values.
        target: True values.

    Returns:
        A float64 scalar.
    """
    return _error_compute(_error_update(preds, target, squared=True))


def mean_absolute_error(preds: Tensor, target: Tensor) -> Tensor:
    """Mean absolute error in float64.

    Args:
        preds: Predicted values.
        target: True values.

    Returns:
        A float64 scalar.
    """
    return _error_compute(_error_update(preds, target, squared=False))
