"""The contract every pair model follows, and small pieces shared by several models.

A pair model predicts ``Y[rows, cols]`` from region features. It is split into a region encoder
(:meth:`PairModel.encode_regions`, one row per region) and a pair decoder (:meth:`PairModel.decode`), so
that a batch of pairs encodes each distinct region once and gathers, instead of encoding both ends of every
pair.
"""

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor, nn


class PairModel(nn.Module, ABC):
    """Abstract base of every model that predicts a connectivity value for a pair of regions.

    Subclasses implement :meth:`encode_regions` (features of the regions given) and :meth:`decode`
    (one value per pair of encoded regions). ``forward`` and ``predict_symmetric`` do the deduplication.

    Attributes:
        has_embeddings: Whether :meth:`encode` returns a learned or fitted region embedding. Models that only
            see raw inputs (MLPs, distance rules) set it to False and :meth:`encode` raises ``TypeError``.
        is_closed_form: Whether the model is fitted by its ``fit(expression, coordinates, rows, cols,
            targets)`` numpy method instead of by gradient descent.
    """

    has_embeddings: ClassVar[bool] = True
    is_closed_form: ClassVar[bool] = False

    @abstractmethod
    def encode_regions(self, expression: Tensor, coordinates: Tensor) -> Tensor:
        """Encode the regions whose rows are given.

        Args:
            expression: (N, G) expression of N regions, genes in TSS order.
            coordinates: (N, 3) MNI coordinates of the same regions, in mm.

        Returns:
            (N, D) one row per region.
        """

    @abstractmethod
    def decode(self, embeddings_i: Tensor, embeddings_j: Tensor) -> Tensor:
        """Predict one value per pair from the encodings of its two ends.

        Args:
            embeddings_i: (B, D) encodings of the first region of each pair.
            embeddings_j: (B, D) encodings of the second region of each pair.

        Returns:
            (B,) predictions f(i, j), not symmetrized.
        """

    def _encode_distinct(
        self, expression: Tensor, coordinates: Tensor, rows: Tensor, cols: Tensor
    ) -> tuple[Tensor, Tensor]:
        # Encode each region of rows ∪ cols once; a batch of pairs touches far fewer regions than 2B.
        regions, inverse = torch.unique(torch.cat([rows, cols]), return_inverse=True)
        encoded = self.encode_regions(expression[regions], coordinates[regions])
        batch_size = rows.shape[0]
        return encoded[inverse[:batch_size]], encoded[inverse[batch_size:]]

    def forward(self, expression: Tensor, coordinates: Tensor, rows: Tensor, cols: Tensor) -> Tensor:
        """Predict ``Y[rows, cols]``, possibly asymmetric.

        Args:
            expression: (R, G) expression of all regions.
            coordinates: (R, 3) MNI coordinates of all regions, in mm.
            rows: (B,) long indices of the first region of each pair.
            cols: (B,) long indices of the second region of each pair.

        Returns:
            (B,) raw predictions f(i, j).
        """
        embeddings_i, embeddings_j = self._encode_distinct(expression, coordinates, rows, cols)
        return self.decode(embeddings_i, embeddings_j)

    def predict_symmetric(
        self, expression: Tensor, coordinates: Tensor, rows: Tensor, cols: Tensor
    ) -> Tensor:
        """Predict ``(f(i, j) + f(j, i)) / 2``, encoding each distinct region once for both orientations.

        Both orientations go through a single :meth:`decode` call so that batch-dependent layers (BatchNorm in
        training mode) see the same batch for f(i, j) and f(j, i).

        Args:
            expression: (R, G) expression of all regions.
            coordinates: (R, 3) MNI coordinates of all regions, in mm.
            rows: (B,) long indices of the first region of each pair.
            cols: (B,) long indices of the second region of each pair.

        Returns:
            (B,) symmetric predictions.
        """
        embeddings_i, embeddings_j = self._encode_distinct(expression, coordinates, rows, cols)
        both = self.decode(torch.cat([embeddings_i, embeddings_j]), torch.cat([embeddings_j, embeddings_i]))
        batch_size = rows.shape[0]
        return 0.5 * (both[:batch_size] + both[batch_size:])

    def encode(self, expression: Tensor, coordinates: Tensor, regions: Tensor) -> Tensor:
        """Region embeddings z_i of the regions given.

        Args:
            expression: (R, G) expression of all regions.
            coordinates: (R, 3) MNI coordinates of all regions, in mm.
            regions: (N,) long indices of the regions to embed.

        Returns:
            (N, D) embeddings.

        Raises:
            TypeError: If the model has no region embedding (``has_embeddings`` is False).
        """
        if not self.has_embeddings:
            raise TypeError(
                f"{type(self).__name__} has no region embedding: it only sees raw pair inputs "
                "(has_embeddings is False)."
            )
        return self.encode_regions(expression[regions], coordinates[regions])


class StandardizeCoordinates(nn.Module):
    """Standardize MNI coordinates with a fixed mean and standard deviation (per axis).

    The statistics come from the datamodule (training regions), so they are constructor arguments and
    buffers, never refitted here.

    Args:
        mean: Mean of the x, y, z coordinates in mm.
        std: Standard deviation of the x, y, z coordinates in mm; must be positive.
    """

    def __init__(
        self, mean: Sequence[float] = (0.0, 0.0, 0.0), std: Sequence[float] = (1.0, 1.0, 1.0)
    ) -> None:
        super().__init__()
        if len(mean) != 3 or len(std) != 3:
            raise ValueError(f"coordinate mean and std need 3 values each, got {list(mean)} and {list(std)}")
        if min(std) <= 0:
            raise ValueError(f"coordinate std must be positive, got {list(std)}")
        self.mean: Tensor
        self.std: Tensor
        self.register_buffer("mean", torch.tensor([float(value) for value in mean]))
        self.register_buffer("std", torch.tensor([float(value) for value in std]))

    def forward(self, coordinates: Tensor) -> Tensor:
        """Return ``(coordinates - mean) / std``, shape unchanged."""
        return (coordinates - self.mean.to(coordinates.dtype)) / self.std.to(coordinates.dtype)


class ResizableBuffersMixin(nn.Module):
    """Lets fitted models load state dicts whose buffer shapes differ from the freshly built ones.

    Closed-form and rules models only know their buffer sizes (number of PCA/PLS components, rank of the
    training features) after ``fit``; a model rebuilt from its constructor arguments (e.g. when a checkpoint
    is loaded) starts with placeholder buffers, which are resized here to the shapes being loaded.
    """

    def _load_from_state_dict(
        self,
        state_dict: Mapping[str, Any],
        prefix: str,
        local_metadata: dict[str, Any],
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        for name, buffer in list(self._buffers.items()):
            key = prefix + name
            if buffer is not None and key in state_dict and state_dict[key].shape != buffer.shape:
                self._buffers[name] = torch.empty_like(
                    state_dict[key], dtype=buffer.dtype, device=buffer.device
                )
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )


def pair_distances(coordinates_i: Tensor, coordinates_j: Tensor) -> Tensor:
    """Euclidean distance between matching rows of two (B, 3) coordinate tensors, shape (B,)."""
    return torch.linalg.vector_norm(coordinates_i - coordinates_j, dim=-1)


class FittedPairModel(ResizableBuffersMixin, PairModel):
    """A pair model fitted in closed form (numpy) on training edges instead of by gradient descent.

    Fitted values live in buffers, so the model saves, loads and moves between devices like any module.
    """

    is_closed_form: ClassVar[bool] = True

    @abstractmethod
    def fit(
        self,
        expression: NDArray[np.floating],
        coordinates: NDArray[np.floating],
        rows: NDArray[np.integer],
        cols: NDArray[np.integer],
        targets: NDArray[np.floating],
    ) -> None:
        """Fit the model on training edges.

        Args:
            expression: (R, G) expression of all regions, genes in TSS order.
            coordinates: (R, 3) MNI coordinates of all regions, in mm.
            rows: (E,) first region of each training edge.
            cols: (E,) second region of each training edge.
            targets: (E,) connectivity of each training edge.
        """


def symmetric_forward(
    model: PairModel, expression: Tensor, coordinates: Tensor, rows: Tensor, cols: Tensor
) -> Tensor:
    """``(f(i, j) + f(j, i)) / 2`` for any pair model; see :meth:`PairModel.predict_symmetric`."""
    return model.predict_symmetric(expression, coordinates, rows, cols)
