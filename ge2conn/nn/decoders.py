"""Multilayer perceptron heads shared by the pair models."""

from collections.abc import Sequence

import torch
from torch import Tensor, nn


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


class PairDecoder(nn.Module):
    """Predict a pair value from the concatenated embeddings ``[z_i ‖ z_j]`` with an MLP.

    Args:
        in_features: Size of ONE region embedding; the MLP input is ``2 * in_features`` wide.
        hidden_sizes: Hidden widths [512, 256, 128].
        dropout: Dropout probability of the hidden blocks [0.2].
    """

    def __init__(
        self, in_features: int, hidden_sizes: Sequence[int] = (512, 256, 128), dropout: float = 0.2
    ) -> None:
        super().__init__()
        self.mlp = mlp_blocks(2 * in_features, hidden_sizes, dropout)

    def forward(self, embeddings_i: Tensor, embeddings_j: Tensor) -> Tensor:
        """Map (B, D) and (B, D) embeddings to (B,) predictions (order matters: f(i, j) ≠ f(j, i))."""
        return self.mlp(torch.cat([embeddings_i, embeddings_j], dim=-1)).squeeze(-1)
