"""Multilayer perceptron heads shared by the pair models."""

from collections.abc import Sequence

import torch
import torch.nn.functional as functional
from torch import Tensor, nn

from ge2conn.nn.base import PairModel, gather_rows


def mlp_blocks(in_features: int, hidden_sizes: Sequence[int], dropout: float) -> nn.Sequential:
    """Hidden blocks ``Linear → ReLU → BatchNorm1d → Dropout`` followed by ``Linear → 1``.

    Args:
        in_features: Width of the input.
        hidden_sizes: Width of each hidden block, in order.
        dropout: Dropout probability after each hidden block.

    Returns:
        A module mapping (B, in_features) to (B, 1).
    """
    layers: list[nn.Module] = []
    width = in_features
    for hidden_size in hidden_sizes:
        layers += [nn.Linear(width, hidden_size), nn.ReLU(), nn.BatchNorm1d(hidden_size), nn.Dropout(dropout)]
        width = hidden_size
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


DECODER_HIDDEN_SIZES: tuple[int, ...] = (512, 256, 128)
"""Default hidden widths of every pair decoder (SMT, MLPs); tasks reuse it, never restate it."""
DECODER_DROPOUT = 0.2
"""Default dropout of every pair decoder's hidden blocks."""


class PairDecoder(nn.Module):
    """Predict a pair value from the concatenated embeddings ``[z_i ‖ z_j]`` with an MLP.

    Args:
        in_features: Size of ONE region embedding; the MLP input is ``2 * in_features`` wide.
        hidden_sizes: Hidden widths [512, 256, 128].
        dropout: Dropout probability of the hidden blocks [0.2].
    """

    def __init__(
        self,
        in_features: int,
        hidden_sizes: Sequence[int] = DECODER_HIDDEN_SIZES,
        dropout: float = DECODER_DROPOUT,
    ) -> None:
        super().__init__()
        self.mlp = mlp_blocks(2 * in_features, hidden_sizes, dropout)

    def set_output_bias(self, value: float) -> None:
        """Start from the constant prediction ``value``: zero output weights, output bias ``value``.

        FC targets have a mean far from 0 and a small spread (dk82: 0.27 ± 0.2); a randomly initialised output
        layer starts with errors several times the target variance, and the few hundred steps a small atlas
        gives per run are then spent learning the mean. Zeroing the last layer's weights (as residual branches
        are zero-initialised) still lets every layer learn from the first step on, since the output weights
        receive gradients at once.

        Args:
            value: Initial prediction, e.g. the mean training target.
        """
        output = self.mlp[-1]
        assert isinstance(output, nn.Linear)
        with torch.no_grad():
            output.weight.zero_()
            output.bias.fill_(value)

    def forward(self, embeddings_i: Tensor, embeddings_j: Tensor) -> Tensor:
        """Map (B, D) and (B, D) embeddings to (B,) predictions (order matters: f(i, j) ≠ f(j, i))."""
        return self.mlp(torch.cat([embeddings_i, embeddings_j], dim=-1)).squeeze(-1)

    def forward_indexed(self, encoded: Tensor, index_i: Tensor, index_j: Tensor) -> Tensor:
        """``forward(encoded[index_i], encoded[index_j])`` without building one ``[z_i ‖ z_j]`` row per pair.

        The first layer is linear in the concatenation, ``W [z_i ‖ z_j] + b = W_i z_i + W_j z_j + b``, so when
        there are fewer distinct regions U than pairs B it projects each region by both halves of W once
        (``2 U D H`` multiply-adds instead of ``2 B D H``) and gathers the (B, H) sums; otherwise it gathers
        the pairs and runs :meth:`forward`. The two agree up to float rounding.

        Args:
            encoded: (U, D) encodings of distinct regions.
            index_i: (B,) long rows of ``encoded`` for the first region of each pair.
            index_j: (B,) long rows of ``encoded`` for the second region of each pair.

        Returns:
            (B,) predictions.
        """
        if encoded.shape[0] >= index_i.shape[0]:
            return self.forward(gather_rows(encoded, index_i), gather_rows(encoded, index_j))
        first, *rest = self.mlp
        assert isinstance(first, nn.Linear)  # built by mlp_blocks
        hidden, width = first.out_features, encoded.shape[-1]
        # Rows [0, H) of the stacked weight act on z_i, rows [H, 2H) on z_j: one GEMM for both halves.
        stacked = first.weight.view(hidden, 2, width).transpose(0, 1).reshape(2 * hidden, width)
        projected = functional.linear(encoded, stacked)
        features = (gather_rows(projected[:, :hidden], index_i) + gather_rows(projected[:, hidden:], index_j)
                    + first.bias)
        for layer in rest:
            features = layer(features)
        return features.squeeze(-1)


class PairDecoderModel(PairModel):
    """A pair model that decodes its region encodings with a :class:`PairDecoder` held as ``self.decoder``.

    Subclasses build ``self.decoder`` and implement :meth:`encode_regions`.
    """

    decoder: PairDecoder

    def decode(self, embeddings_i: Tensor, embeddings_j: Tensor) -> Tensor:
        """(B, D), (B, D) → (B,) MLP predictions on ``[z_i ‖ z_j]``."""
        return self.decoder(embeddings_i, embeddings_j)

    def decode_indexed(self, encoded: Tensor, index_i: Tensor, index_j: Tensor) -> Tensor:
        """Decode pairs of distinct encodings; see ``PairDecoder.forward_indexed``."""
        return self.decoder.forward_indexed(encoded, index_i, index_j)
