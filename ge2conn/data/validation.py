"""Sizing the inner validation set so that the best epoch is not chosen on a handful of edges.

Early stopping, the LR schedule and the kept ("best") weights all follow the validation loss, the MSE over the
edges among the validation regions. With ``val_fraction = 0.125`` a small atlas gets very few: every dk82 fold
(61-62 outer training regions) has 8 validation regions, i.e. 28 validation edges, all touching the same 8
regions. ``data.min_val_edges = E`` enlarges the validation set to ``max(val_fraction, the share that reaches
E edges)`` of the outer training regions, capped at :data:`MAX_VALIDATION_SHARE`, with a warning when the cap
leaves it below E. It only changes small atlases (Schaefer-400: 37 validation regions, 666 edges).

It is off by default (``DEFAULT_MIN_VAL_EDGES = 0``), because measuring it did not support it: dk82 MLP, 5
epochs at lr 3e-4, 1 thread, seeds 0-4 on fold 0 and folds 0-3 at seed 0, 28 vs 105 validation edges: the SD
of test r over seeds fell from 0.017 to 0.010, but the mean test MSE rose from 0.030 to 0.034 (over folds
0.031 to 0.044) and R² fell from 0.08 to -0.02: the larger validation set kept the near-flat epoch-0 model
more often, and it leaves 7 fewer training regions. Every experiment run records its validation region and
edge counts in ``metrics.json`` so that the choice can be judged per run.
"""

from __future__ import annotations

import math
import warnings

DEFAULT_MIN_VAL_EDGES = 0
"""Default minimum number of validation edges: off (see the module docstring for the measurement)."""
MAX_VALIDATION_SHARE = 0.25
"""The rule never moves more than this share of the outer training regions to validation."""


def regions_for_edges(num_edges: int) -> int:
    """The fewest regions whose unordered pairs number at least ``num_edges`` (``k (k - 1) / 2 >= E``)."""
    if num_edges <= 0:
        return 0
    regions = math.ceil((1 + math.sqrt(1 + 8 * num_edges)) / 2)
    while (regions - 1) * (regions - 2) // 2 >= num_edges:  # guard against rounding up one too many
        regions -= 1
    return regions


def validation_fraction(num_outer_train: int, val_fraction: float, min_val_edges: int) -> float:
    """The validation share that reaches ``min_val_edges`` edges (never below ``val_fraction``).

    Args:
        num_outer_train: Outer training regions (validation is carved out of them).
        val_fraction: The requested share.
        min_val_edges: Minimum number of validation edges (0 turns the rule off).

    Returns:
        The share to use: ``val_fraction``, or ``k / num_outer_train`` for the smallest ``k`` validation
        regions reaching the minimum, at most :data:`MAX_VALIDATION_SHARE` (never below ``val_fraction``).
    """
    needed = regions_for_edges(min_val_edges)
    if num_outer_train <= 0 or round(val_fraction * num_outer_train) >= needed:
        return val_fraction
    capped = min(needed, math.floor(MAX_VALIDATION_SHARE * num_outer_train))
    return max(val_fraction, capped / num_outer_train)


def warn_if_few_validation_edges(num_val_regions: int, min_val_edges: int, dataset: str) -> None:
    """Warn when the validation set has fewer edges than the minimum (after the rule did what it could).

    Args:
        num_val_regions: Validation regions of the split.
        min_val_edges: The minimum asked for.
        dataset: Dataset name or path, for the message.
    """
    edges = num_val_regions * (num_val_regions - 1) // 2
    if edges < min_val_edges:
        warnings.warn(
            f"{dataset}: the validation set has {num_val_regions} regions = {edges} edges, fewer than "
            f"data.min_val_edges={min_val_edges} (at most {MAX_VALIDATION_SHARE:.0%} of the outer training "
            f"regions go to validation): the best epoch is chosen on few edges and is noisy; raise "
            f"data.val_fraction, use fewer folds or a larger atlas, or set data.min_val_edges=0 to silence "
            f"this",
            UserWarning, stacklevel=3)
