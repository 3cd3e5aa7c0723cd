"""Rules-based baselines fitted on training edges with scipy/numpy: distance decay, Gaussian kernel and CGE.

Distances are Euclidean distances between MNI centroids, in mm. Fitted values are float64 buffers;
predictions come back in the dtype of the expression tensor.
"""

from abc import abstractmethod
from typing import ClassVar

import numpy as np
import torch
from numpy.typing import NDArray
from scipy.optimize import curve_fit
from sklearn.decomposition import PCA
from torch import Tensor

from ge2conn.nn.base import FittedPairModel, pair_distances


def _edge_distances(
    coordinates: NDArray[np.floating], rows: NDArray[np.integer], cols: NDArray[np.integer]
) -> NDArray[np.float64]:
    points = np.asarray(coordinates, dtype=np.float64)
    return np.linalg.norm(points[np.asarray(rows)] - points[np.asarray(cols)], axis=1)


def exponential_decay(distance: NDArray[np.float64], offset: float, length: float) -> NDArray[np.float64]:
    """``offset + (1 − offset) exp(−distance / length)``: 1 at distance 0, ``offset`` far away."""
    return offset + (1.0 - offset) * np.exp(-distance / length)


def gaussian_kernel(
    distance: NDArray[np.float64], width: float, gain: float, intercept: float
) -> NDArray[np.float64]:
    """``gain · exp(−distance² / (2 width²)) + intercept``."""
    return gain * np.exp(-(distance**2) / (2.0 * width**2)) + intercept


GAUSSIAN_WIDTH_BOUNDS = (1.0, 500.0)
"""Allowed range of the Gaussian kernel width σ, in mm."""


class _DistanceRule(FittedPairModel):
    """Shared plumbing: regions are encoded by their coordinates, pairs by their distance."""

    has_embeddings = False
    initial_values: ClassVar[dict[str, float]]
    """The rule's fitted parameters (float64 scalar buffers) and their values before the fit."""

    def __init__(self, num_genes: int = 0) -> None:
        super().__init__()
        self.num_genes = num_genes
        for name, value in self.initial_values.items():
            self.register_buffer(name, torch.tensor(value, dtype=torch.float64))

    def encode_regions(self, expression: Tensor, coordinates: Tensor) -> Tensor:
        """(N, G), (N, 3) → (N, 3) float64 coordinates; expression is ignored."""
        return coordinates.to(torch.float64)

    @abstractmethod
    def _rule(self, distance: Tensor) -> Tensor:
        """The fitted rule applied to pair distances in mm."""

    @abstractmethod
    def _fit_rule(self, distance: NDArray[np.float64], values: NDArray[np.float64]) -> None:
        """Fit the rule's parameters to the training edges' distances (mm) and float64 targets."""

    def fit(
        self,
        expression: NDArray[np.floating],
        coordinates: NDArray[np.floating],
        rows: NDArray[np.integer],
        cols: NDArray[np.integer],
        targets: NDArray[np.floating],
    ) -> None:
        """Fit the rule on training edges (see :meth:`FittedPairModel.fit`); expression is not used."""
        self._fit_rule(_edge_distances(coordinates, rows, cols), np.asarray(targets, dtype=np.float64))

    def decode(self, embeddings_i: Tensor, embeddings_j: Tensor) -> Tensor:
        """(B, 3), (B, 3) coordinates → (B,) rule applied to their distance."""
        return self._rule(pair_distances(embeddings_i, embeddings_j))

    def forward(self, expression: Tensor, coordinates: Tensor, rows: Tensor, cols: Tensor) -> Tensor:
        """Predict ``Y[rows, cols]`` in the dtype of ``expression``."""
        return super().forward(expression, coordinates, rows, cols).to(expression.dtype)


class ExpDecay(_DistanceRule):
    """Exponential distance decay ``ŷ = a + (1 − a) exp(−d / λ)``, fitted by ``scipy.optimize.curve_fit``.

    Args:
        num_genes: Unused; accepted so that every pair model takes the same data-linked arguments.
    """

    initial_values: ClassVar[dict[str, float]] = {"offset": 0.0, "length": 1.0}
    offset: Tensor
    length: Tensor

    def _rule(self, distance: Tensor) -> Tensor:
        return self.offset + (1.0 - self.offset) * torch.exp(-distance / self.length)

    def _fit_rule(self, distance: NDArray[np.float64], values: NDArray[np.float64]) -> None:
        """Fit a and λ on training edges (λ > 0, a free)."""
        # Start from the mean far-range target as the asymptote and the median distance as the length scale.
        far = distance >= np.quantile(distance, 0.9)
        initial = [float(values[far].mean()), float(np.median(distance))]
        (offset, length), _ = curve_fit(
            exponential_decay, distance, values, p0=initial, bounds=([-np.inf, 1e-6], [np.inf, np.inf])
        )
        self.offset.fill_(offset)
        self.length.fill_(length)


class GaussianKernel(_DistanceRule):
    """Gaussian distance kernel with affine calibration ``ŷ = α exp(−d² / 2σ²) + β``, fitted by ``curve_fit``.

    Args:
        num_genes: Unused; accepted so that every pair model takes the same data-linked arguments.
    """

    initial_values: ClassVar[dict[str, float]] = {"width": 1.0, "gain": 1.0, "intercept": 0.0}
    width: Tensor
    gain: Tensor
    intercept: Tensor

    def _rule(self, distance: Tensor) -> Tensor:
        return self.gain * torch.exp(-distance.square() / (2.0 * self.width.square())) + self.intercept

    def _fit_rule(self, distance: NDArray[np.float64], values: NDArray[np.float64]) -> None:
        """Fit σ, α ≥ 0 and β on training edges.

        The kernel must decay with distance (α ≥ 0) and σ stays within [1, 500] mm: an unconstrained fit can
        drift to a huge σ with α < 0, an inverted parabola that fits short training distances and fails on
        held-out regions. σ starts at the best point of a log grid (α, β solved linearly there), then
        ``curve_fit`` refines all three within the bounds.
        """
        best: tuple[float, float, float, float] | None = None
        for candidate in np.geomspace(GAUSSIAN_WIDTH_BOUNDS[0], GAUSSIAN_WIDTH_BOUNDS[1], 48):
            kernel = np.exp(-(distance**2) / (2.0 * candidate**2))
            gain, intercept = np.polyfit(kernel, values, 1) if np.ptp(kernel) > 0 else (0.0, values.mean())
            if gain < 0:
                gain, intercept = 0.0, float(values.mean())
            error = float(np.sum((gain * kernel + intercept - values) ** 2))
            if best is None or error < best[0]:
                best = (error, float(candidate), float(gain), float(intercept))
        assert best is not None
        (width, gain, intercept), _ = curve_fit(
            gaussian_kernel,
            distance,
            values,
            p0=[best[1], max(best[2], 1e-6), best[3]],
            bounds=([GAUSSIAN_WIDTH_BOUNDS[0], 0.0, -np.inf], [GAUSSIAN_WIDTH_BOUNDS[1], np.inf, np.inf]),
        )
        self.width.fill_(width)
        self.gain.fill_(gain)
        self.intercept.fill_(intercept)


class CGE(FittedPairModel):
    """Correlated gene expression ``ŷ = α corr(PCA(x_i), PCA(x_j)) + β``.

    PCA is fitted on the training regions; the correlation is Pearson's across the (at least 2) components.
    The region embedding is the centred, unit-norm PCA score vector, so the correlation is a dot product.

    Args:
        num_genes: Number of genes G.
        pca_variance: Variance kept by the PCA [0.95]; 1 keeps every component.
    """

    def __init__(self, num_genes: int, pca_variance: float = 0.95) -> None:
        super().__init__()
        if not 0 < pca_variance <= 1:
            raise ValueError(f"pca_variance must be in (0, 1], got {pca_variance}")
        self.num_genes = num_genes
        self.pca_variance = pca_variance
        self.pca_mean: Tensor
        self.pca_components: Tensor
        self.gain: Tensor
        self.intercept: Tensor
        self.register_buffer("pca_mean", torch.zeros(num_genes, dtype=torch.float64))
        self.register_buffer("pca_components", torch.zeros(0, num_genes, dtype=torch.float64))
        self.register_buffer("gain", torch.ones((), dtype=torch.float64))
        self.register_buffer("intercept", torch.zeros((), dtype=torch.float64))

    def encode_regions(self, expression: Tensor, coordinates: Tensor) -> Tensor:
        """(N, G), (N, 3) → (N, q) centred unit-norm PCA scores; coordinates are ignored."""
        scores = (expression.to(torch.float64) - self.pca_mean) @ self.pca_components.T
        centred = scores - scores.mean(dim=-1, keepdim=True)
        return centred / torch.linalg.vector_norm(centred, dim=-1, keepdim=True)

    def decode(self, embeddings_i: Tensor, embeddings_j: Tensor) -> Tensor:
        """(B, q), (B, q) → (B,) calibrated correlations."""
        return self.gain * (embeddings_i * embeddings_j).sum(dim=-1) + self.intercept

    def forward(self, expression: Tensor, coordinates: Tensor, rows: Tensor, cols: Tensor) -> Tensor:
        """Predict ``Y[rows, cols]`` in the dtype of ``expression``."""
        return super().forward(expression, coordinates, rows, cols).to(expression.dtype)

    def fit(
        self,
        expression: NDArray[np.floating],
        coordinates: NDArray[np.floating],
        rows: NDArray[np.integer],
        cols: NDArray[np.integer],
        targets: NDArray[np.floating],
    ) -> None:
        """Fit the PCA on the training regions, then α and β by least squares on training edges."""
        expression = np.asarray(expression, dtype=np.float64)
        rows, cols = np.asarray(rows), np.asarray(cols)
        regions = np.unique(np.concatenate([rows, cols]))
        pca = PCA(n_components=self.pca_variance if self.pca_variance < 1 else None, svd_solver="full")
        pca.fit(expression[regions])
        if pca.n_components_ < 2:
            # A correlation needs at least two components.
            pca = PCA(n_components=2, svd_solver="full").fit(expression[regions])
        scores = pca.transform(expression)
        centred = scores - scores.mean(axis=1, keepdims=True)
        unit = centred / np.linalg.norm(centred, axis=1, keepdims=True)
        correlation = np.sum(unit[rows] * unit[cols], axis=1)
        gain, intercept = np.polyfit(correlation, np.asarray(targets, dtype=np.float64), 1)
        device = self.pca_mean.device
        self.pca_mean = torch.as_tensor(pca.mean_, dtype=torch.float64, device=device)
        self.pca_components = torch.as_tensor(pca.components_, dtype=torch.float64, device=device)
        self.gain.fill_(gain)
        self.intercept.fill_(intercept)
