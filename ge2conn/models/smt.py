"""The Spatiomolecular Transformer task (SMT, optionally with the coordinate [CLS] token)."""

from __future__ import annotations

from ge2conn.models.base import EdgeRegressionTask
from ge2conn.nn.smt import SMT


class SMTTask(EdgeRegressionTask):
    """Train the SMT (method §3.1) on FC edges.

    Args:
        num_genes: Number of genes (linked from the datamodule).
        num_regions: Number of regions (linked).
        coordinate_mean: Mean training-region centroid (linked).
        coordinate_std: SD of training-region centroids (linked).
        token_size: Genes per token k.
        d_model: Token width d.
        d_out: Output width per token.
        num_layers: Transformer layers.
        num_heads: Attention heads.
        dropout: Transformer dropout.
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
        num_regions: int = 1,
        coordinate_mean: list[float] | None = None,
        coordinate_std: list[float] | None = None,
        token_size: int = 60,
        d_model: int = 128,
        d_out: int = 10,
        num_layers: int = 4,
        num_heads: int = 4,
        dropout: float = 0.2,
        use_alibi: bool = True,
        alibi_slopes: list[float] | None = None,
        use_cls: bool = False,
        decoder_hidden_sizes: list[int] | None = None,
        decoder_dropout: float = 0.2,
        learning_rate: float = 1e-4,
        weight_decay: float = 1e-4,
        lr_patience: int = 10,
        lr_factor: float = 0.5,
    ) -> None:
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
        """Build the SMT from the hyperparameters."""
        hparams = self.hparams
        mean, std = self.coordinate_statistics
        self.network = SMT(
            num_genes=hparams["num_genes"],
            token_size=hparams["token_size"],
            d_model=hparams["d_model"],
            d_out=hparams["d_out"],
            num_layers=hparams["num_layers"],
            num_heads=hparams["num_heads"],
            dropout=hparams["dropout"],
            use_alibi=hparams["use_alibi"],
            alibi_slopes=hparams["alibi_slopes"],
            use_cls=hparams["use_cls"],
            decoder_hidden_sizes=hparams["decoder_hidden_sizes"] or (512, 256, 128),
            decoder_dropout=hparams["decoder_dropout"],
            coordinate_mean=mean,
            coordinate_std=std,
        )
