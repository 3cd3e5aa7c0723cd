"""The Spatiomolecular Transformer (SMT): a gene-token transformer with ALiBi and a pair MLP decoder."""

from collections.abc import Sequence
from typing import Literal, overload

import torch
import torch.nn.functional as functional
from torch import Tensor, nn

from ge2conn.nn.attention import alibi_slopes as standard_alibi_slopes
from ge2conn.nn.attention import attention
from ge2conn.nn.base import StandardizeCoordinates
from ge2conn.nn.decoders import DECODER_DROPOUT, DECODER_HIDDEN_SIZES, PairDecoder, PairDecoderModel

# The paper's SMT (method §3.1); SMTTask reuses these, so each default is written once.
TOKEN_SIZE = 60
"""Genes per token k."""
D_MODEL = 128
"""Token width d."""
D_OUT = 10
"""Output width per token."""
NUM_LAYERS = 4
"""Transformer layers."""
NUM_HEADS = 4
"""Attention heads."""
TRANSFORMER_DROPOUT = 0.2
"""Dropout on the attention and feed-forward outputs."""
ATTENTION_DROPOUT = 0.0
"""Dropout on the attention weights."""



def token_count(num_genes: int, token_size: int, use_cls: bool) -> int:
    """Sequence length L of the SMT: ceil(G / k) gene tokens, plus the [CLS] token (first) when used."""
    return -(-num_genes // token_size) + int(use_cls)


def token_genes(position: int, token_size: int, use_cls: bool) -> slice:
    """Gene columns held by a token position: consecutive bins of ``token_size`` (empty for [CLS])."""
    offset = int(use_cls)
    if position < offset:
        return slice(0, 0)
    start = (position - offset) * token_size
    return slice(start, start + token_size)


class TransformerLayer(nn.Module):
    """Post-LN transformer layer: ``x = LN(x + Drop(MHA(x)))``, then ``x = LN(x + Drop(FFN(x)))``.

    Args:
        d_model: Token width d.
        num_heads: Number of attention heads; must divide ``d_model``.
        dropout: Dropout on the attention and feed-forward outputs, before each residual sum.
        attention_dropout: Dropout on the attention weights. Nonzero values leave the fused SDPA kernel on CPU
            (torch 2.13 has no fused CPU kernel with dropout), so training is slower.
    """

    def __init__(self, d_model: int, num_heads: int, dropout: float,
                 attention_dropout: float = ATTENTION_DROPOUT) -> None:
        super().__init__()
        if d_model % num_heads:
            raise ValueError(f"d_model ({d_model}) must be a multiple of num_heads ({num_heads})")
        self.num_heads = num_heads
        self.attention_dropout = attention_dropout
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.feedforward = nn.Sequential(
            nn.Linear(d_model, 4 * d_model), nn.ReLU(), nn.Linear(4 * d_model, d_model)
        )
        self.attention_norm = nn.LayerNorm(d_model)
        self.feedforward_norm = nn.LayerNorm(d_model)
        self.residual_dropout = nn.Dropout(dropout)

    def forward(
        self, tokens: Tensor, slopes: Tensor | None, return_attention: bool = False
    ) -> tuple[Tensor, Tensor | None]:
        """Transform (N, L, d) tokens; also return the (N, H, L, L) attention weights when asked."""
        batch, length, width = tokens.shape
        # One fused projection, split straight into the (N, L, H, D_h) layout that attention() takes.
        query, key, value = self.qkv(tokens).view(batch, length, 3, self.num_heads, -1).unbind(dim=2)
        dropout_p = self.attention_dropout if self.training else 0.0
        weights = None
        if return_attention:
            attended, weights = attention(query, key, value, slopes, dropout_p, return_weights=True)
        else:
            attended = attention(query, key, value, slopes, dropout_p)
        tokens = self.attention_norm(
            tokens + self.residual_dropout(self.out(attended.reshape(batch, length, width)))
        )
        tokens = self.feedforward_norm(tokens + self.residual_dropout(self.feedforward(tokens)))
        return tokens, weights


class SMTEncoder(nn.Module):
    """Encode a region's TSS-ordered expression profile as a flattened sequence of gene-bin tokens.

    Genes are cut into consecutive bins of ``token_size`` (the last bin zero-padded), each bin is projected by
    a shared ``Linear(token_size → d_model)`` (no positional embedding: position enters through ALiBi), passed
    through ``num_layers`` post-LN transformer layers, projected per token to ``d_out`` and flattened.

    Args:
        num_genes: Number of genes G.
        token_size: Genes per token k [60].
        d_model: Token width d [128].
        d_out: Output width per token [10].
        num_layers: Transformer layers [4].
        num_heads: Attention heads [4].
        dropout: Transformer dropout on the attention and feed-forward outputs [0.2].
        attention_dropout: Dropout on the attention weights [0, as the reference implementation]; nonzero
            values are slower on CPU (no fused SDPA kernel with dropout there).
        use_alibi: Add ALiBi biases [True]; off means no positional information at all.
        alibi_slopes: One slope per head; None takes the standard geometric sequence.
        use_cls: Prepend a [CLS] token built by ``Linear(3 → d)`` from the standardized coordinates.
        coordinate_mean: Mean of the MNI coordinates (x, y, z) used to standardize them.
        coordinate_std: Standard deviation of the MNI coordinates used to standardize them.
    """

    def __init__(
        self,
        num_genes: int,
        token_size: int = TOKEN_SIZE,
        d_model: int = D_MODEL,
        d_out: int = D_OUT,
        num_layers: int = NUM_LAYERS,
        num_heads: int = NUM_HEADS,
        dropout: float = TRANSFORMER_DROPOUT,
        attention_dropout: float = ATTENTION_DROPOUT,
        use_alibi: bool = True,
        alibi_slopes: Sequence[float] | None = None,
        use_cls: bool = False,
        coordinate_mean: Sequence[float] = (0.0, 0.0, 0.0),
        coordinate_std: Sequence[float] = (1.0, 1.0, 1.0),
    ) -> None:
        super().__init__()
        self.num_genes = num_genes
        self.token_size = token_size
        self.use_cls = use_cls
        self.num_tokens = token_count(num_genes, token_size, use_cls)
        self.embedding_size = self.num_tokens * d_out
        self.value_projection = nn.Linear(token_size, d_model)
        self.layers = nn.ModuleList(
            TransformerLayer(d_model, num_heads, dropout, attention_dropout) for _ in range(num_layers)
        )
        self.output_projection = nn.Linear(d_model, d_out)
        self.cls_projection = nn.Linear(3, d_model) if use_cls else None
        self.standardize = StandardizeCoordinates(coordinate_mean, coordinate_std)

        self.slopes: Tensor | None
        if not use_alibi:
            self.register_buffer("slopes", None)
        else:
            slopes = standard_alibi_slopes(num_heads) if alibi_slopes is None else torch.tensor(alibi_slopes)
            if slopes.shape != (num_heads,):
                raise ValueError(f"need {num_heads} ALiBi slopes, got {slopes.tolist()}")
            self.register_buffer("slopes", slopes.float())

    def tokenize(self, expression: Tensor) -> Tensor:
        """Cut (N, G) expression into (N, T, token_size) gene bins, zero-padding the last bin."""
        padding = -self.num_genes % self.token_size
        return functional.pad(expression, (0, padding)).view(expression.shape[0], -1, self.token_size)

    @overload
    def forward(
        self, expression: Tensor, coordinates: Tensor | None = ..., return_attention: Literal[False] = ...
    ) -> Tensor: ...

    @overload
    def forward(
        self, expression: Tensor, coordinates: Tensor | None, return_attention: Literal[True]
    ) -> tuple[Tensor, list[Tensor]]: ...

    def forward(
        self, expression: Tensor, coordinates: Tensor | None = None, return_attention: bool = False
    ) -> Tensor | tuple[Tensor, list[Tensor]]:
        """Encode regions.

        Args:
            expression: (N, G) expression, genes in TSS order.
            coordinates: (N, 3) MNI coordinates in mm; required with ``use_cls``.
            return_attention: Also return each layer's attention weights.

        Returns:
            (N, num_tokens * d_out) embeddings; with ``return_attention`` also a list with one (N, H, L, L)
            tensor per layer, ALiBi bias included (position 0 is [CLS] when used).
        """
        if expression.shape[-1] != self.num_genes:
            raise ValueError(f"expected {self.num_genes} genes, got {expression.shape[-1]}")
        tokens = self.value_projection(self.tokenize(expression))
        if self.cls_projection is not None:
            if coordinates is None:
                raise ValueError("the [CLS] variant needs coordinates")
            cls_token = self.cls_projection(self.standardize(coordinates))
            tokens = torch.cat([cls_token[:, None, :], tokens], dim=1)
        attention_maps: list[Tensor] = []
        for layer in self.layers:
            tokens, weights = layer(tokens, self.slopes, return_attention)
            if weights is not None:
                attention_maps.append(weights)
        embeddings = self.output_projection(tokens).flatten(start_dim=1)
        return (embeddings, attention_maps) if return_attention else embeddings


class SMT(PairDecoderModel):
    """Spatiomolecular Transformer: :class:`SMTEncoder` region embeddings and a :class:`PairDecoder`.

    Args:
        num_genes: Number of genes G.
        token_size: Genes per token [60].
        d_model: Token width [128].
        d_out: Output width per token [10].
        num_layers: Transformer layers [4].
        num_heads: Attention heads [4].
        dropout: Transformer dropout on the attention and feed-forward outputs [0.2].
        attention_dropout: Dropout on the attention weights [0, as the reference implementation]; nonzero
            values are slower on CPU (no fused SDPA kernel with dropout there).
        use_alibi: Add ALiBi biases [True].
        alibi_slopes: One slope per head; None takes the standard geometric sequence.
        use_cls: Add the coordinate [CLS] token (the SMT+[CLS] variant).
        decoder_hidden_sizes: Hidden widths of the pair decoder [512, 256, 128].
        decoder_dropout: Dropout of the pair decoder [0.2].
        coordinate_mean: Mean of the MNI coordinates (x, y, z) used to standardize them.
        coordinate_std: Standard deviation of the MNI coordinates used to standardize them.
    """

    def __init__(
        self,
        num_genes: int,
        token_size: int = TOKEN_SIZE,
        d_model: int = D_MODEL,
        d_out: int = D_OUT,
        num_layers: int = NUM_LAYERS,
        num_heads: int = NUM_HEADS,
        dropout: float = TRANSFORMER_DROPOUT,
        attention_dropout: float = ATTENTION_DROPOUT,
        use_alibi: bool = True,
        alibi_slopes: Sequence[float] | None = None,
        use_cls: bool = False,
        decoder_hidden_sizes: Sequence[int] = DECODER_HIDDEN_SIZES,
        decoder_dropout: float = DECODER_DROPOUT,
        coordinate_mean: Sequence[float] = (0.0, 0.0, 0.0),
        coordinate_std: Sequence[float] = (1.0, 1.0, 1.0),
    ) -> None:
        super().__init__()
        self.encoder = SMTEncoder(
            num_genes,
            token_size=token_size,
            d_model=d_model,
            d_out=d_out,
            num_layers=num_layers,
            num_heads=num_heads,
            dropout=dropout,
            attention_dropout=attention_dropout,
            use_alibi=use_alibi,
            alibi_slopes=alibi_slopes,
            use_cls=use_cls,
            coordinate_mean=coordinate_mean,
            coordinate_std=coordinate_std,
        )
        self.decoder = PairDecoder(self.encoder.embedding_size, decoder_hidden_sizes, decoder_dropout)

    def encode_regions(self, expression: Tensor, coordinates: Tensor) -> Tensor:
        """(N, G), (N, 3) → (N, num_tokens * d_out) transformer embeddings."""
        return self.encoder(expression, coordinates)

    def attention_maps(self, expression: Tensor, coordinates: Tensor, regions: Tensor) -> list[Tensor]:
        """Per-layer attention weights of the regions given, ALiBi bias included.

        Args:
            expression: (R, G) expression of all regions.
            coordinates: (R, 3) MNI coordinates of all regions.
            regions: (N,) long indices of the regions to inspect.

        Returns:
            One (N, H, L, L) tensor per layer; rows sum to 1.
        """
        _, maps = self.encoder(expression[regions], coordinates[regions], return_attention=True)
        return maps
