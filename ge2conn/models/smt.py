"""The Spatiomolecular Transformer task (SMT, optionally with the coordinate [CLS] token)."""

from __future__ import annotations

from collections.abc import Sequence

from ge2conn.models.base import LEARNING_RATE, LR_FACTOR, LR_PATIENCE, WEIGHT_DECAY, EdgeRegressionTask
from ge2conn.nn.decoders import DECODER_DROPOUT, DECODER_HIDDEN_SIZES
from ge2conn.nn.smt import (
    ATTENTION_DROPOUT,
    D_MODEL,
    D_OUT,
    NUM_HEADS,
    NUM_LAYERS,
    SMT,
    TOKEN_SIZE,
    TRANSFORMER_DROPOUT,
)


class SMTTask(EdgeRegressionTask):
    """Train the SMT (method §3.1) on FC edges.

    Args:
        num_genes: Number of genes (linked from the datamodule).
        coordinate_mean: Mean training-region centroid (linked).
        coordinate_std: SD of training-region centroids (linked).
        token_size: Genes per token k.
        d_model: Token width d.
        d_out: Output width per token.
        num_layers: Transformer layers.
        num_heads: Attention heads.
        dropout: Transformer dropout on the attention and feed-forward outputs.
        attention_dropout: Dropout on the attention weights.
        use_alibi: Use ALiBi attention biases.
        alibi_slopes: One slope per head (None: the standard geometric sequence).
        use_cls: Prepend the coordinate [CLS] token (SMT+[CLS]).
        decoder_hidden_sizes: Hidden widths of the pair decoder.
        decoder_dropout: Dropout of the pair decoder.
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
        token_size: int = TOKEN_SIZE,
        d_model: int = D_MODEL,
        d_out: int = D_OUT,
        num_layers: int = NUM_LAYERS,
        num_heads: int = NUM_HEADS,
        dropout: float = TRANSFORMER_DROPOUT,
        attention_dropout: float = ATTENTION_DROPOUT,
        use_alibi: bool = True,
        alibi_slopes: list[float] | None = None,
        use_cls: bool = False,
        decoder_hidden_sizes: Sequence[int] = DECODER_HIDDEN_SIZES,
        decoder_dropout: float = DECODER_DROPOUT,
        learning_rate: float = LEARNING_RATE,
        weight_decay: float = WEIGHT_DECAY,
        lr_patience: int = LR_PATIENCE,
        lr_factor: float = LR_FACTOR,
    ) -> None:
        super().__init__()

    def configure_models(self) -> None:
        """Build the SMT from the hyperparameters."""
        self.network = SMT(**self.network_arguments(SMT))
