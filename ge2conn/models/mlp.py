"""MLP tasks: expression MLP, expression + coordinates MLP and the coordinates-only control."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from ge2conn.models.base import LEARNING_RATE, LR_FACTOR, LR_PATIENCE, WEIGHT_DECAY, EdgeRegressionTask
from ge2conn.nn.decoders import DECODER_DROPOUT, DECODER_HIDDEN_SIZES
from ge2conn.nn.mlp import MLP, CoordsMLP

MLPInputs = Literal["expression", "expression+coordinates", "coordinates"]


class MLPTask(EdgeRegressionTask):
    """Pair MLP on ``[x_i ‖ x_j]`` (method §3.2), optionally with coordinates, or on coordinates alone.

    Args:
        num_genes: Number of genes (linked from the datamodule).
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
        coordinate_mean: list[float] | None = None,
        coordinate_std: list[float] | None = None,
        inputs: MLPInputs = "expression",
        hidden_sizes: Sequence[int] = DECODER_HIDDEN_SIZES,
        dropout: float = DECODER_DROPOUT,
        learning_rate: float = LEARNING_RATE,
        weight_decay: float = WEIGHT_DECAY,
        lr_patience: int = LR_PATIENCE,
        lr_factor: float = LR_FACTOR,
    ) -> None:
        if inputs not in ("expression", "expression+coordinates", "coordinates"):
            raise ValueError(
                f"inputs must be 'expression', 'expression+coordinates' or 'coordinates', got {inputs!r}"
            )
        super().__init__()

    def configure_models(self) -> None:
        """Build the MLP variant named by ``inputs``."""
        inputs = self.hparams["inputs"]
        if inputs == "coordinates":
            self.network = CoordsMLP(**self.network_arguments(CoordsMLP))
        else:
            use_coordinates = inputs == "expression+coordinates"
            self.network = MLP(**self.network_arguments(MLP, use_coordinates=use_coordinates))
