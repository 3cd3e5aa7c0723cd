"""MLP tasks: expression MLP, expression + coordinates MLP and the coordinates-only control."""

from __future__ import annotations

from typing import Literal

from ge2conn.models.base import EdgeRegressionTask
from ge2conn.nn.mlp import MLP, CoordsMLP

MLPInputs = Literal["expression", "expression+coordinates", "coordinates"]


class MLPTask(EdgeRegressionTask):
    """Pair MLP on ``[x_i ‖ x_j]`` (method §3.2), optionally with coordinates, or on coordinates alone.

    Args:
        num_genes: Number of genes (linked from the datamodule).
        num_regions: Number of regions (linked).
        coordinate_mean: Mean training-region centroid (linked).
        coordinate_std: SD of training-region centroids (linked).
        inputs: ``"expression"`` (MLP), ``"expression+coordinates"`` (MLP+coords) or ``"coordinates"``
            (the coordinates-only spatial control, paper Table 3).
        hidden_sizes: Hidden widths.
        dropout: Dropout of the hidden blocks.
        learning_rate: AdamW learning rate.
        weight_decay: AdamW weight decay.
        lr_patience: Plateau epochs before the LR is reduced.
        lr_factor: LR reduction factor.
    """

    def __init__(
        self,
        num_genes: int = 1,
        num_regions: int = 1,
        coordinate_mean: list[float] | None = None,
        coordinate_std: list[float] | None = None,
        inputs: MLPInputs = "expression",
        hidden_sizes: list[int] | None = None,
        dropout: float = 0.2,
        learning_rate: float = 1e-4,
        weight_decay: float = 1e-4,
        lr_patience: int = 10,
        lr_factor: float = 0.5,
    ) -> None:
        if inputs not in ("expression", "expression+coordinates", "coordinates"):
            raise ValueError(
                f"inputs must be 'expression', 'expression+coordinates' or 'coordinates', got {inputs!r}"
            )
        super().__init__(
            num_genes=num_genes,
            num_regions=num_regions,
            coordinate_mean=coordinate_mean,
            coordinate_std=coordinate_std,
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            lr_patience=lr_patience,
            lr_factor=lr_factor,
        )

    def configure_models(self) -> None:
        """Build the MLP variant named by ``inputs``."""
        hparams = self.hparams
        mean, std = self.coordinate_statistics
        hidden = hparams["hidden_sizes"] or (512, 256, 128)
        if hparams["inputs"] == "coordinates":
            self.network = CoordsMLP(
                num_genes=hparams["num_genes"],
                hidden_sizes=hidden,
                dropout=hparams["dropout"],
                coordinate_mean=mean,
                coordinate_std=std,
            )
        else:
            self.network = MLP(
                num_genes=hparams["num_genes"],
                use_coordinates=hparams["inputs"] == "expression+coordinates",
                hidden_sizes=hidden,
                dropout=hparams["dropout"],
                coordinate_mean=mean,
                coordinate_std=std,
            )
