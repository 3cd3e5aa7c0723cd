"""Choosing the Connectome Model's ridge λ by leave-regions-out cross-validation on the training regions.

A fixed λ does not transfer between datasets: the ridge term competes with ``l_a l_b`` (products of
eigenvalues of ``XᵀX``), which grow with the number of genes and regions. With λ = 1 the model was
effectively unregularized on every built-in dataset and its test R² was far below zero on Schaefer-300
(−0.7 to −2.7). So λ is chosen per fit:

* Grid: ``λ = α · l̄²`` with ``l̄ = ‖X‖²_F / rank(X)`` the mean non-zero eigenvalue of the training
  features' ``XᵀX`` (``l̄`` grows linearly with the number of genes, λ quadratically) and α from
  :data:`RELATIVE_RIDGE_GRID`.
* Score: the training regions are cut into :data:`SELECTION_FOLDS` random groups (a fixed seed, so a fit
  is reproducible). For each group the model is fitted on the other training regions (features refitted
  too, for PCA/PLS) and predicts the pairs *within* the held-out group, exactly as test regions are
  predicted. The mean squared error over all held-out pairs is the score; the smallest wins (ties: the
  larger λ). Validation and test regions are never seen.
* Each fold fit is the exact closed form of :mod:`ge2conn.nn.closed_form` (self-consistent imputation of
  the missing diagonal), so the score equals a brute-force masked ridge regression (checked in the tests).
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ge2conn.nn.closed_form import FloatArray, Solver, fit_connectome_model

RELATIVE_RIDGE_GRID: tuple[float, ...] = tuple(float(10.0**power) for power in range(-6, 3))
"""α values; λ = α · l̄² (see the module docstring)."""
SELECTION_FOLDS = 4
SELECTION_SEED = 0
MIN_HELD_OUT = 2
"""Each held-out group needs two regions to hold a pair."""



@dataclass(frozen=True)
class RidgeSelection:
    """The outcome of a λ search.

    Attributes:
        ridges: (m,) absolute λ values tried.
        errors: (m,) mean squared error over held-out pairs for each λ.
        ridge: The chosen λ.
        held_out: The held-out groups (indices into the training regions), one per fold.
    """

    ridges: FloatArray
    errors: FloatArray
    ridge: float
    held_out: list[NDArray[np.int64]]


def mean_eigenvalue(features: FloatArray) -> float:
    """``‖X‖²_F / rank(X)``: the mean non-zero eigenvalue of ``XᵀX`` (1 for an all-zero X)."""
    singular = np.linalg.svd(np.asarray(features, dtype=np.float64), compute_uv=False)
    keep = singular > max(features.shape) * np.finfo(np.float64).eps * (singular[0] if singular.size else 0.0)
    return float(np.mean(singular[keep] ** 2)) if keep.any() else 1.0


def held_out_groups(num_regions: int, num_folds: int = SELECTION_FOLDS) -> list[NDArray[np.int64]]:
    """Random, near-equal groups of the training regions (seeded: the same fit gives the same groups)."""
    folds = min(num_folds, num_regions // MIN_HELD_OUT)
    if folds < 2:
        raise ValueError(f"{num_regions} training regions are too few to choose λ; give ridge explicitly")
    permutation = np.random.default_rng(SELECTION_SEED).permutation(num_regions)
    return [np.sort(group).astype(np.int64) for group in np.array_split(permutation, folds)]


def select_ridge(
    expression: FloatArray,
    block: FloatArray,
    observed: NDArray[np.bool_],
    feature_map: Callable[[FloatArray, FloatArray], Callable[[FloatArray], FloatArray]],
    solver: Solver = "exact",
    relative_grid: tuple[float, ...] = RELATIVE_RIDGE_GRID,
) -> RidgeSelection:
    """Choose λ by leave-regions-out cross-validation over the training block.

    Args:
        expression: (r, g) expression of the training regions.
        block: (r, r) training targets (NaN where not observed).
        observed: (r, r) mask of entries that count (the diagonal never does).
        feature_map: (expression, block) of the fitting regions → a function mapping expression rows to
            features (identity for raw genes; fitted PCA/PLS otherwise).
        solver: ``"exact"`` or ``"paper"`` closed form.
        relative_grid: α values, λ = α · l̄² of the full training features.

    Returns:
        The selection (λ grid, held-out MSE per λ, chosen λ, held-out groups).
    """
    scale = mean_eigenvalue(feature_map(expression, block)(expression)) ** 2
    ridges = np.asarray(relative_grid, dtype=np.float64) * scale
    groups = held_out_groups(expression.shape[0])
    squared_error = np.zeros(ridges.size)
    count = 0
    for group in groups:
        fitting = np.setdiff1d(np.arange(expression.shape[0]), group)
        inner_block = block[np.ix_(fitting, fitting)]
        features_of = feature_map(expression[fitting], inner_block)
        inner_features, held_features = features_of(expression[fitting]), features_of(expression[group])
        rows, cols = np.nonzero(np.triu(observed[np.ix_(group, group)], 1))
        targets = block[np.ix_(group, group)][rows, cols]
        count += rows.size
        for index, ridge in enumerate(ridges):
            fit = fit_connectome_model(
                inner_features, inner_block, observed[np.ix_(fitting, fitting)], float(ridge), solver
            )
            embedded = held_features @ fit.basis
            predicted = np.sum((embedded[rows] @ fit.core) * embedded[cols], axis=1) + fit.bias
            squared_error[index] += float(np.sum((predicted - targets) ** 2))
    if count == 0:
        raise ValueError("no observed pair inside any held-out group; give ridge explicitly")
    errors = squared_error / count
    # Ties (within round-off) go to the larger λ, the simpler model.
    best = int(np.flatnonzero(errors <= errors.min() * (1 + 1e-12))[-1])
    return RidgeSelection(ridges=ridges, errors=errors, ridge=float(ridges[best]), held_out=groups)
