"""Bilinear pair models ``ŷ_ij = φ(x_i)ᵀ O φ(x_j) + b``: a learned low-rank one and a fixed (fitted) one."""

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import Tensor, nn

from ge2conn.nn.base import PairModel, ResizableBuffersMixin


class BilinearLowRank(PairModel):
    """Learned low-rank bilinear model ``ŷ_ij = ⟨W x_i, W x_j⟩ + b`` with W ∈ R^{k×G}; symmetric by design.

    Train with MSE plus ``λ * regularization()``; the region embedding is ``z_i = W (x_i − μ)``, where μ is
    the mean expression of the training regions (set with :meth:`set_center`; zero until then). Without
    centering, the mean profile shared by all regions' non-negative expression dominates every ``W x`` and
    gradient descent is ill-conditioned (dk82 random folds 0 and 1: test r ≈ 0.1 uncentered, ≈ 0.4 centered).

    Args:
        num_genes: Number of genes G.
        rank: Embedding size k [10].
    """

    def __init__(self, num_genes: int, rank: int = 10) -> None:
        super().__init__()
        self.num_genes = num_genes
        self.projection = nn.Linear(num_genes, rank, bias=False)
        self.bias = nn.Parameter(torch.zeros(()))
        self.center: Tensor
        self.register_buffer("center", torch.zeros(num_genes))

    def set_center(self, center: Tensor) -> None:
        """Set μ, the per-gene mean expression of the training regions.

        Args:
            center: (G,) mean expression.
        """
        if center.shape != (self.num_genes,):
            raise ValueError(f"center must have shape ({self.num_genes},), got {tuple(center.shape)}")
        self.center.copy_(center.to(self.center.dtype))

    def encode_regions(self, expression: Tensor, coordinates: Tensor) -> Tensor:
        """(N, G), (N, 3) → (N, k) embeddings ``W (x − μ)``; coordinates are ignored."""
        return self.projection(expression - self.center.to(expression.dtype))

    def decode(self, embeddings_i: Tensor, embeddings_j: Tensor) -> Tensor:
        """(B, k), (B, k) → (B,) inner products plus bias."""
        return (embeddings_i * embeddings_j).sum(dim=-1) + self.bias

    def regularization(self) -> Tensor:
        """The squared Frobenius norm ``‖W‖²`` for the training task to add with its weight λ."""
        return self.projection.weight.square().sum()


class FixedBilinear(ResizableBuffersMixin, PairModel):
    """Fixed bilinear model ``ŷ = φ_iᵀ core φ_j + b`` with ``φ(x) = ((x − mean) / scale) @ projection``.

    The feature map covers identity, PCA and PLS features (and a basis V folded into ``projection`` when O is
    stored factored as V core Vᵀ). Buffers are float64 (the closed forms are fitted in float64); predictions
    come back in the input's dtype. Until :meth:`set_parameters` is called the model predicts 0. This class
    only holds and applies the buffers; :class:`~ge2conn.nn.connectome.ConnectomeModel` fits them.

    Args:
        num_genes: Number of genes G.
    """

    def __init__(self, num_genes: int) -> None:
        super().__init__()
        self.num_genes = num_genes
        self.mean: Tensor
        self.scale: Tensor
        self.projection: Tensor
        self.core: Tensor
        self.bias: Tensor
        self.register_buffer("mean", torch.zeros(num_genes, dtype=torch.float64))
        self.register_buffer("scale", torch.ones(num_genes, dtype=torch.float64))
        self.register_buffer("projection", torch.zeros(num_genes, 0, dtype=torch.float64))
        self.register_buffer("core", torch.zeros(0, 0, dtype=torch.float64))
        self.register_buffer("bias", torch.zeros((), dtype=torch.float64))

    def set_parameters(
        self, mean: ArrayLike, scale: ArrayLike, projection: ArrayLike, core: ArrayLike, bias: float
    ) -> None:
        """Replace the fitted buffers (shapes may change).

        Args:
            mean: (G,) feature-map centre.
            scale: (G,) feature-map scale (positive).
            projection: (G, q) feature-map projection.
            core: (q, q) bilinear core.
            bias: Additive bias.
        """
        device = self.mean.device
        values = {"mean": mean, "scale": scale, "projection": projection, "core": core, "bias": bias}
        tensors = {
            name: torch.as_tensor(np.asarray(value, dtype=np.float64), device=device)
            for name, value in values.items()
        }
        num_features = tensors["projection"].shape[1]
        if tensors["projection"].shape[0] != self.num_genes or tensors["core"].shape != (
            num_features,
            num_features,
        ):
            raise ValueError(
                f"projection {tuple(tensors['projection'].shape)} and core {tuple(tensors['core'].shape)} "
                f"do not fit {self.num_genes} genes"
            )
        for name, tensor in tensors.items():
            setattr(self, name, tensor)

    def encode_regions(self, expression: Tensor, coordinates: Tensor) -> Tensor:
        """(N, G), (N, 3) → (N, q) fitted features φ(x), float64; coordinates are ignored."""
        return ((expression.to(self.mean.dtype) - self.mean) / self.scale) @ self.projection

    def decode(self, embeddings_i: Tensor, embeddings_j: Tensor) -> Tensor:
        """(B, q), (B, q) → (B,) ``φ_iᵀ core φ_j + b``."""
        return ((embeddings_i @ self.core) * embeddings_j).sum(dim=-1) + self.bias

    def forward(self, expression: Tensor, coordinates: Tensor, rows: Tensor, cols: Tensor) -> Tensor:
        """Predict ``Y[rows, cols]`` in the dtype of ``expression``."""
        return super().forward(expression, coordinates, rows, cols).to(expression.dtype)

    def predict_symmetric(
        self, expression: Tensor, coordinates: Tensor, rows: Tensor, cols: Tensor
    ) -> Tensor:
        """Symmetric prediction in the dtype of ``expression``."""
        return super().predict_symmetric(expression, coordinates, rows, cols).to(expression.dtype)
