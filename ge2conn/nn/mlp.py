"""Multilayer perceptrons on concatenated raw pair inputs: expression (+ coordinates) or coordinates only."""

from collections.abc import Sequence

import torch
from torch import Tensor

from ge2conn.nn.base import StandardizeCoordinates
from ge2conn.nn.decoders import DECODER_DROPOUT, DECODER_HIDDEN_SIZES, PairDecoder, PairDecoderModel


class MLP(PairDecoderModel):
    """MLP on ``[x_i ‖ c_i ‖ x_j ‖ c_j]``: expression, plus standardized coordinates with ``use_coordinates``.

    The per-region block ``[x_i ‖ c_i]`` is the raw input, not an embedding, so ``has_embeddings`` is False.
    (Putting c_i beside x_i instead of after x_j only permutes first-layer weights.)

    Args:
        num_genes: Number of genes G.
        use_coordinates: Also feed the standardized coordinates of both regions (the MLP+coords variant).
        hidden_sizes: Hidden widths [512, 256, 128].
        dropout: Dropout of the hidden blocks [0.2].
        coordinate_mean: Mean of the MNI coordinates (x, y, z) used to standardize them.
        coordinate_std: Standard deviation of the MNI coordinates used to standardize them.
    """

    has_embeddings = False

    def __init__(
        self,
        num_genes: int,
        use_coordinates: bool = False,
        hidden_sizes: Sequence[int] = DECODER_HIDDEN_SIZES,
        dropout: float = DECODER_DROPOUT,
        coordinate_mean: Sequence[float] = (0.0, 0.0, 0.0),
        coordinate_std: Sequence[float] = (1.0, 1.0, 1.0),
    ) -> None:
        super().__init__()
        self.num_genes = num_genes
        self.use_coordinates = use_coordinates
        self.standardize = StandardizeCoordinates(coordinate_mean, coordinate_std)
        self.decoder = PairDecoder(num_genes + 3 * int(use_coordinates), hidden_sizes, dropout)

    def encode_regions(self, expression: Tensor, coordinates: Tensor) -> Tensor:
        """(N, G), (N, 3) → (N, G [+ 3]) raw region inputs."""
        if not self.use_coordinates:
            return expression
        return torch.cat([expression, self.standardize(coordinates)], dim=-1)


class CoordsMLP(PairDecoderModel):
    """MLP on standardized coordinates ``[c_i ‖ c_j]`` only: the spatial control model.

    Args:
        num_genes: Unused; accepted so that every pair model takes the same data-linked arguments.
        hidden_sizes: Hidden widths [512, 256, 128].
        dropout: Dropout of the hidden blocks [0.2].
        coordinate_mean: Mean of the MNI coordinates (x, y, z) used to standardize them.
        coordinate_std: Standard deviation of the MNI coordinates used to standardize them.
    """

    has_embeddings = False

    def __init__(
        self,
        num_genes: int = 0,
        hidden_sizes: Sequence[int] = DECODER_HIDDEN_SIZES,
        dropout: float = DECODER_DROPOUT,
        coordinate_mean: Sequence[float] = (0.0, 0.0, 0.0),
        coordinate_std: Sequence[float] = (1.0, 1.0, 1.0),
    ) -> None:
        super().__init__()
        self.num_genes = num_genes
        self.standardize = StandardizeCoordinates(coordinate_mean, coordinate_std)
        self.decoder = PairDecoder(3, hidden_sizes, dropout)

    def encode_regions(self, expression: Tensor, coordinates: Tensor) -> Tensor:
        """(N, G), (N, 3) → (N, 3) standardized coordinates; expression is ignored."""
        return self.standardize(coordinates)
