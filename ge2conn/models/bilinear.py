"""Bilinear tasks: the trained low-rank model and the closed-form Connectome Model (genes, PCA, PLS)."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from ge2conn.data.protocol import require_edge_data
from ge2conn.models.base import LR_FACTOR, LR_PATIENCE, ClosedFormTask, EdgeRegressionTask
from ge2conn.nn.bilinear import BilinearLowRank
from ge2conn.nn.connectome import ConnectomeModel


class BilinearLowRankTask(EdgeRegressionTask):
    """ŷ_ij = ⟨W x_i, W x_j⟩ + b trained with MSE + λ‖W‖² by AdamW (method §3.3).

    Args:
        num_genes: Number of genes (linked from the datamodule).
        coordinate_mean: Mean training-region centroid (linked; unused by this model).
        coordinate_std: SD of training-region centroids (linked; unused).
        rank: Embedding size k.
        penalty: λ of the ‖W‖² penalty.
        learning_rate: AdamW learning rate.
        weight_decay: AdamW weight decay.
        lr_patience: Plateau epochs before the LR is reduced.
        lr_factor: LR reduction factor.
    """

    def __init__(
        self,
        num_genes: int = 1,
        coordinate_mean: list[float] | None = None,
        coordinate_std: list[float] | None = None,
        rank: int = 10,
        penalty: float = 1e-4,
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        lr_patience: int = LR_PATIENCE,
        lr_factor: float = LR_FACTOR,
    ) -> None:
        super().__init__()

    def configure_models(self) -> None:
        """Build the low-rank bilinear network."""
        self.network = BilinearLowRank(**self.network_arguments(BilinearLowRank))

    def on_fit_start(self) -> None:
        """Center expression on the training regions' mean (kept in the checkpoint for later use)."""
        super().on_fit_start()
        datamodule = require_edge_data(self.trainer, type(self).__name__)
        assert isinstance(self.network, BilinearLowRank)
        if self.trainer.ckpt_path is None:  # a resumed run keeps the centre it was trained with
            expression = datamodule.region_tensors(self.device)["expression"]
            training_regions = torch.as_tensor(datamodule.split.train, device=self.device)
            self.network.set_center(expression[training_regions].mean(dim=0))

    def regularization(self) -> Tensor:
        """λ‖W‖²."""
        assert isinstance(self.network, BilinearLowRank)
        return self.hparams["penalty"] * self.network.regularization()


class ConnectomeModelTask(ClosedFormTask):
    """Connectome Model Y ≈ φ(X) O φ(X)ᵀ + b, solved in closed form on the training block (method §3.3).

    ``features="pls"`` is the PLS encoder–decoder; ``solver="paper"`` is the paper's approximate
    (A+λI)⁻¹M(A+λI)⁻¹ regularizer, offered for comparison only.

    Args:
        num_genes: Number of genes (linked from the datamodule).
        coordinate_mean: Mean training-region centroid (linked; unused).
        coordinate_std: SD of training-region centroids (linked; unused).
        features: ``"genes"`` (raw expression), ``"pca"`` (95% variance) or ``"pls"``.
        ridge: Ridge strength λ, or None (default) to choose it on each fit by leave-regions-out
            cross-validation over the training regions (:mod:`ge2conn.nn.ridge_selection`).
        solver: ``"exact"`` ridge solution or the ``"paper"`` approximation.
        pca_variance: Explained variance kept by the PCA features.
        pls_components: Number of PLS components.
    """

    def __init__(
        self,
        num_genes: int = 1,
        coordinate_mean: list[float] | None = None,
        coordinate_std: list[float] | None = None,
        features: Literal["genes", "pca", "pls"] = "genes",
        ridge: float | None = None,
        solver: Literal["exact", "paper"] = "exact",
        pca_variance: float = 0.95,
        pls_components: int = 10,
    ) -> None:
        super().__init__()

    def configure_models(self) -> None:
        """Build the (unfitted) Connectome Model."""
        self.network = ConnectomeModel(**self.network_arguments(ConnectomeModel))
