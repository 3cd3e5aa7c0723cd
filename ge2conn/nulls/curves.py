"""CGE-vs-distance curves and their exponential and cubic fits (method §5.4), batched over nulls.

A null brain's curve is the true CGE matrix with its rows and columns permuted, averaged in the fixed
distance bins of the true brain: no correlation is recomputed. Fits are weighted by the number of region
pairs in each bin, i.e. they equal least squares on the individual pairs with each pair's distance replaced
by its bin's mean distance; without weights the few, noisy pairs of the longest-distance bins would weigh as
much as the thousands of pairs in the mid-range bins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BIN_WIDTH_MM = 5.0
"""Width of the distance bins (method §5.4)."""
EXPONENTIAL_LENGTH_BOUNDS_MM = (1.0, 500.0)
"""Search range of SA_λ. Flat (destroyed) curves push the fit to a bound instead of diverging."""
_GRID_SIZE = 256
_REFINE_ITERATIONS = 40
_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


def coexpression_matrix(expression: np.ndarray) -> np.ndarray:
    """Correlated gene expression: Pearson correlation between regions' expression profiles.

    Args:
        expression: (r, g) expression matrix.

    Returns:
        (r, r) float64 correlation matrix.
    """
    return np.asarray(np.corrcoef(np.asarray(expression, dtype=np.float64)), dtype=np.float64)


def euclidean_distances(centroids: np.ndarray) -> np.ndarray:
    """(r, r) Euclidean distances between MNI centroids in mm."""
    points = np.asarray(centroids, dtype=np.float64)
    return np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=-1))


@dataclass(frozen=True)
class DistanceBins:
    """The region pairs (i < j) grouped into fixed-width distance bins; empty bins are left out.

    Attributes:
        first: (p,) first region of each pair, pairs sorted by bin.
        second: (p,) second region of each pair.
        starts: (b,) index of each bin's first pair in the sorted pair list.
        counts: (b,) number of pairs per bin.
        lower_edges: (b,) lower edge of each bin in mm.
        mean_distance: (b,) mean pair distance per bin in mm (the x value of the curve).
        width: Bin width in mm.
    """

    first: np.ndarray
    second: np.ndarray
    starts: np.ndarray
    counts: np.ndarray
    lower_edges: np.ndarray
    mean_distance: np.ndarray
    width: float

    @classmethod
    def from_distances(cls, distance: np.ndarray, width: float = BIN_WIDTH_MM) -> DistanceBins:
        """Bin every unordered region pair by its distance.

        Args:
            distance: (r, r) symmetric distance matrix in mm.
            width: Bin width in mm.

        Returns:
            The bins.
        """
        first, second = np.triu_indices(distance.shape[0], k=1)
        pair_distance = distance[first, second]
        bin_index = np.floor(pair_distance / width).astype(np.int64)
        order = np.argsort(bin_index, kind="stable")
        first, second, pair_distance, bin_index = (first[order], second[order], pair_distance[order],
                                                   bin_index[order])
        occupied, starts, counts = np.unique(bin_index, return_index=True, return_counts=True)
        mean_distance = np.add.reduceat(pair_distance, starts) / counts
        return cls(first, second, starts, counts, occupied * width, mean_distance, width)

    @property
    def num_bins(self) -> int:
        """Number of non-empty bins."""
        return int(self.counts.size)

    def curve(self, matrix: np.ndarray) -> np.ndarray:
        """Binned mean of a symmetric pair matrix (e.g. the true CGE).

        Args:
            matrix: (r, r) values.

        Returns:
            (b,) bin means.
        """
        return np.add.reduceat(matrix[self.first, self.second], self.starts) / self.counts

    def permuted_curves(self, matrix: np.ndarray, permutations: np.ndarray) -> np.ndarray:
        """Binned means of ``matrix[π][:, π]`` for a batch of permutations π, without forming them.

        Args:
            matrix: (r, r) values (the true CGE).
            permutations: (n, r) permutations; row k gives region i the values of region ``π_k[i]``.

        Returns:
            (n, b) bin means.
        """
        values = np.ascontiguousarray(matrix, dtype=np.float64)
        perms = np.asarray(permutations, dtype=np.int64)
        sums = np.empty((perms.shape[0], self.num_bins), dtype=np.float64)
        # One spin at a time: permuting the rows is a contiguous copy, leaving a single gather per pair.
        # Measured faster than one big (spins, pairs) gather, whose index arrays fall out of cache, and
        # its memory does not grow with the number of spins.
        for index, permutation in enumerate(perms):
            rows = values[permutation]
            sums[index] = np.add.reduceat(rows[self.first, permutation[self.second]], self.starts)
        return sums / self.counts


def fit_exponential(curves: np.ndarray, distance: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Fit ``cge(d) = (1 - SA_inf) * exp(-d / SA_lambda) + SA_inf`` to many curves at once.

    For a fixed SA_λ the model is linear in SA_∞, so SA_∞ is profiled out in closed form and the weighted
    residual becomes a function of SA_λ alone. That function is evaluated on a log-spaced grid for every
    curve (two matrix products), and the best grid point is refined by golden-section search between its
    neighbours: the global optimum within :data:`EXPONENTIAL_LENGTH_BOUNDS_MM`, with no starting guess to
    get wrong and no divergence on flat curves.

    Args:
        curves: (n, b) binned CGE curves (or (b,) for one).
        distance: (b,) bin distances in mm.
        weights: (b,) non-negative bin weights (pair counts).

    Returns:
        (n, 2) columns ``(SA_lambda, SA_inf)`` (or (2,) for one curve).
    """
    values = np.atleast_2d(np.asarray(curves, dtype=np.float64))
    weight = np.asarray(weights, dtype=np.float64) / np.sum(weights)
    x = np.asarray(distance, dtype=np.float64)
    low, high = np.log(EXPONENTIAL_LENGTH_BOUNDS_MM)
    grid = np.linspace(low, high, _GRID_SIZE)
    decay = np.exp(-x[None, :] / np.exp(grid)[:, None])  # (grid, b)
    rest = 1.0 - decay
    # Weighted inner products for every (curve, grid point): <y - e, u>, <y - e, y - e>, <u, u>.
    residual_dot_rest = values @ (weight * rest).T - (weight * decay * rest).sum(axis=1)
    residual_norm = ((weight * values**2).sum(axis=1)[:, None] - 2.0 * values @ (weight * decay).T
                     + (weight * decay**2).sum(axis=1))
    rest_norm = (weight * rest**2).sum(axis=1)
    loss = residual_norm - residual_dot_rest**2 / rest_norm
    best = loss.argmin(axis=1)
    lower = grid[np.maximum(best - 1, 0)]
    upper = grid[np.minimum(best + 1, _GRID_SIZE - 1)]
    inner_low = upper - _GOLDEN * (upper - lower)
    inner_high = lower + _GOLDEN * (upper - lower)
    loss_low = _profiled_loss(values, x, weight, inner_low)
    loss_high = _profiled_loss(values, x, weight, inner_high)
    for _ in range(_REFINE_ITERATIONS):
        keep_low = loss_low < loss_high
        upper = np.where(keep_low, inner_high, upper)
        lower = np.where(keep_low, lower, inner_low)
        new_low = upper - _GOLDEN * (upper - lower)
        new_high = lower + _GOLDEN * (upper - lower)
        # Golden section reuses one of the two interior points; recompute the loss only where needed.
        moved = np.where(keep_low, new_low, new_high)
        moved_loss = _profiled_loss(values, x, weight, moved)
        loss_high, loss_low = (np.where(keep_low, loss_low, moved_loss),
                               np.where(keep_low, moved_loss, loss_high))
        inner_low, inner_high = new_low, new_high
    log_length = (lower + upper) / 2.0
    plateau = _profiled_plateau(values, x, weight, log_length)
    result = np.stack([np.exp(log_length), plateau], axis=1)
    return result[0] if np.ndim(curves) == 1 else result


def _profiled_plateau(values: np.ndarray, x: np.ndarray, weight: np.ndarray,
                      log_length: np.ndarray) -> np.ndarray:
    decay = np.exp(-x[None, :] / np.exp(log_length)[:, None])
    rest = 1.0 - decay
    return (weight * (values - decay) * rest).sum(axis=1) / (weight * rest**2).sum(axis=1)


def _profiled_loss(values: np.ndarray, x: np.ndarray, weight: np.ndarray,
                   log_length: np.ndarray) -> np.ndarray:
    decay = np.exp(-x[None, :] / np.exp(log_length)[:, None])
    plateau = _profiled_plateau(values, x, weight, log_length)
    residual = values - decay - plateau[:, None] * (1.0 - decay)
    return (weight * residual**2).sum(axis=1)


def exponential_curve(distance: np.ndarray, length: float, plateau: float) -> np.ndarray:
    """Evaluate ``(1 - plateau) * exp(-distance / length) + plateau``."""
    return (1.0 - plateau) * np.exp(-np.asarray(distance) / length) + plateau


def fit_cubic(curves: np.ndarray, distance: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted cubic least squares for many curves at once (one shared Vandermonde matrix).

    Args:
        curves: (n, b) binned curves (or (b,) for one).
        distance: (b,) bin distances in mm.
        weights: (b,) non-negative bin weights (pair counts).

    Returns:
        (n, 4) coefficients ``(a1, a2, a3, a4)`` of ``a1 d³ + a2 d² + a3 d + a4`` (``np.polyfit`` order,
        d in mm), or (4,) for one curve.
    """
    values = np.atleast_2d(np.asarray(curves, dtype=np.float64))
    x = np.asarray(distance, dtype=np.float64)
    # Scale d to O(1) so that the Vandermonde matrix is well conditioned, then undo the scaling.
    scale = max(float(np.abs(x).max()), 1e-12)
    vandermonde = np.vander(x / scale, 4)
    root_weight = np.sqrt(np.asarray(weights, dtype=np.float64))
    solution, *_ = np.linalg.lstsq(vandermonde * root_weight[:, None], (values * root_weight).T, rcond=None)
    coefficients = solution.T / scale ** np.arange(3, -1, -1)
    return coefficients[0] if np.ndim(curves) == 1 else coefficients
