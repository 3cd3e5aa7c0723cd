"""The contract every pair model follows, and small pieces shared by several models.

A pair model predicts ``Y[rows, cols]`` from region features. It is split into a region encoder
(:meth:`PairModel.encode_regions`, one row per region) and a pair decoder (:meth:`PairModel.decode`), so
that a batch of pairs encodes each distinct region once and gathers, instead of encoding both ends of every
pair. Two further savings build on that split:

- :meth:`PairModel.decode_indexed` decodes pairs from the distinct encodings and two index vectors, so that a
  decoder whose first layer is linear in ``[z_i ‖ z_j]`` can project each distinct region once instead of
  each pair (see :meth:`ge2conn.nn.decoders.PairDecoder.forward_indexed`).
- In evaluation, an opt-in region cache (:meth:`PairModel.region_cache`) keeps the encodings across batches,
  so predicting every pair of R regions encodes R regions once instead of once per batch.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor, nn


@dataclass
class _RegionCache:
    """Encodings of the regions of one (expression, coordinates) pair under one set of weights."""

    expression: Tensor  # held (not just its id) so that the id cannot be reused by a new tensor
    coordinates: Tensor
    key: tuple[Any, ...]
    encodings: Tensor | None  # (R, D) once the first region is encoded; rows valid where ``computed``
    computed: Tensor  # (R,) bool

    def holds(self, expression: Tensor, coordinates: Tensor, key: tuple[Any, ...]) -> bool:
        return self.expression is expression and self.coordinates is coordinates and self.key == key


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

    # Region cache state (plain attributes, not module state: never saved, never moved between devices).
    _region_cache_enabled: bool = False
    _region_cache: _RegionCache | None = None

    def __init__(self) -> None:
        super().__init__()
        self.register_load_state_dict_post_hook(_drop_region_cache)

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

    def decode_indexed(self, encoded: Tensor, index_i: Tensor, index_j: Tensor) -> Tensor:
        """Decode pairs given as indices into a table of encoded regions.

        Equals ``decode(encoded[index_i], encoded[index_j])``, which is what this default does; models whose
        decoder can work per region (a first layer linear in ``[z_i ‖ z_j]``) override it to avoid gathering
        and multiplying one wide row per pair.

        Args:
            encoded: (U, D) encodings of distinct regions.
            index_i: (B,) long rows of ``encoded`` for the first region of each pair.
            index_j: (B,) long rows of ``encoded`` for the second region of each pair.

        Returns:
            (B,) predictions f(i, j), not symmetrized.
        """
        return self.decode(gather_rows(encoded, index_i), gather_rows(encoded, index_j))

    def _encode_distinct(
        self, expression: Tensor, coordinates: Tensor, rows: Tensor, cols: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        # Encode each region of rows ∪ cols once; a batch of pairs touches far fewer regions than 2B.
        regions, inverse = torch.unique(torch.cat([rows, cols]), return_inverse=True)
        if self._region_cache_active():
            encoded = self._cached_encodings(expression, coordinates, regions)
        else:
            encoded = self.encode_regions(expression[regions], coordinates[regions])
        batch_size = rows.shape[0]
        return encoded, inverse[:batch_size], inverse[batch_size:]

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
        encoded, index_i, index_j = self._encode_distinct(expression, coordinates, rows, cols)
        return self.decode_indexed(encoded, index_i, index_j)

    def predict_symmetric(
        self, expression: Tensor, coordinates: Tensor, rows: Tensor, cols: Tensor
    ) -> Tensor:
        """Predict ``(f(i, j) + f(j, i)) / 2``, encoding each distinct region once for both orientations.

        Both orientations go through a single :meth:`decode_indexed` call so that batch-dependent layers
        (BatchNorm in training mode) see the same batch for f(i, j) and f(j, i).

        Args:
            expression: (R, G) expression of all regions.
            coordinates: (R, 3) MNI coordinates of all regions, in mm.
            rows: (B,) long indices of the first region of each pair.
            cols: (B,) long indices of the second region of each pair.

        Returns:
            (B,) symmetric predictions.
        """
        encoded, index_i, index_j = self._encode_distinct(expression, coordinates, rows, cols)
        both = self.decode_indexed(encoded, torch.cat([index_i, index_j]), torch.cat([index_j, index_i]))
        batch_size = rows.shape[0]
        return 0.5 * (both[:batch_size] + both[batch_size:])

    # ------------------------------------------------------------------------------------ region cache
    @contextmanager
    def region_cache(self) -> Iterator[None]:
        """Keep region encodings across calls while in evaluation mode without gradients.

        Inside the context, :meth:`forward` and :meth:`predict_symmetric` encode a region the first time a
        batch needs it and reuse that encoding in later batches, so predicting all pairs of R regions in many
        batches encodes R regions once. The cache is only consulted when the module is in evaluation mode and
        gradients are off (so dropout and the autograd graph cannot differ between batches); it is dropped
        when the context ends, when the module enters training mode, when a state dict is loaded, when it is
        moved or cast, when a parameter or buffer is replaced, and when another expression or coordinates
        tensor object is passed. Weights and inputs are held fixed inside one context (one evaluation loop):
        an in-place edit made inside it is not seen, so call :meth:`clear_region_cache` after one.
        """
        self.enable_region_cache()
        try:
            yield
        finally:
            self.disable_region_cache()

    def enable_region_cache(self) -> None:
        """Start caching region encodings (see :meth:`region_cache`); tasks call it per evaluation loop."""
        self._region_cache_enabled = True
        self._region_cache = None

    def clear_region_cache(self) -> None:
        """Forget the cached encodings (e.g. after editing weights or inputs in place inside a context)."""
        self._region_cache = None

    def disable_region_cache(self) -> None:
        """Stop caching region encodings and free the cache."""
        self._region_cache_enabled = False
        self._region_cache = None

    def train(self, mode: bool = True) -> Self:
        """Set training mode; entering training mode frees the region cache (it is evaluation-only)."""
        if mode:
            self._region_cache = None
        return super().train(mode)

    def _region_cache_active(self) -> bool:
        return self._region_cache_enabled and not self.training and not torch.is_grad_enabled()

    def _cache_key(self, expression: Tensor) -> tuple[Any, ...]:
        # Storage, dtype and device of every parameter and buffer (a move, a cast or a replaced tensor changes
        # them) and the autocast state. In-place updates keep the storage: load_state_dict drops the cache
        # through a hook, training mode drops it, and an optimizer step cannot run in evaluation without
        # gradients, which is the only time the cache is consulted.
        device_type = expression.device.type
        tensors = [*self.parameters(), *self.buffers()]
        layout = tuple((tensor.data_ptr(), tensor.dtype, tensor.device) for tensor in tensors)
        return layout + (torch.is_autocast_enabled(device_type), torch.get_autocast_dtype(device_type))

    def _cached_encodings(self, expression: Tensor, coordinates: Tensor, regions: Tensor) -> Tensor:
        key = self._cache_key(expression)
        cache = self._region_cache
        if cache is None or not cache.holds(expression, coordinates, key):
            cache = _RegionCache(expression, coordinates, key, None,
                                 torch.zeros(expression.shape[0], dtype=torch.bool, device=expression.device))
            self._region_cache = cache
        missing = regions[~cache.computed[regions]]
        if missing.numel():
            encoded = self.encode_regions(expression[missing], coordinates[missing])
            if cache.encodings is None:
                cache.encodings = encoded.new_empty((expression.shape[0], *encoded.shape[1:]))
            cache.encodings[missing] = encoded
            cache.computed[missing] = True
        assert cache.encodings is not None  # every requested region is computed by now
        return cache.encodings[regions]

    def initialize_output(self, target_mean: float) -> None:
        """Start predicting ``target_mean`` everywhere (models with an MLP decoder); a no-op by default.

        Args:
            target_mean: Mean target of the training edges.
        """
        decoder = getattr(self, "decoder", None)
        if decoder is not None and hasattr(decoder, "set_output_bias"):
            decoder.set_output_bias(target_mean)

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


def _drop_region_cache(module: nn.Module, incompatible_keys: Any) -> None:
    """Load-state-dict post-hook of :class:`PairModel`: loaded weights make cached encodings stale."""
    if isinstance(module, PairModel):
        module.clear_region_cache()


def gather_rows(table: Tensor, index: Tensor) -> Tensor:
    """``table[index]`` along the first axis, with a backward pass that is deterministic on CPU.

    The backward of advanced indexing (``index_put_`` with accumulation) sums the gradients of repeated
    indices with atomic adds on several CPU threads, so the summation order, and thus the rounding, changes
    from run to run: two fits with the same seed drifted apart (dk82 MLP, 2 threads: test r 0.6244 vs 0.6263
    after 4 epochs). ``index_select``'s backward (``index_add_``) sums rows in index order on CPU, and on CUDA
    it switches to a deterministic kernel under ``torch.use_deterministic_algorithms(True)``
    (``--trainer.deterministic true``). Every gather that gradients flow through goes through here.

    Args:
        table: (N, ...) rows to gather from.
        index: (B,) long row indices.

    Returns:
        (B, ...) the gathered rows.
    """
    return table.index_select(0, index)


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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register_load_state_dict_pre_hook(resize_buffers_to_state_dict)


def resize_buffers_to_state_dict(module: nn.Module, state_dict: Mapping[str, Any], prefix: str,
                                 *unused: Any) -> None:
    """Load-state-dict pre-hook: give the module's own buffers the shapes of the values being loaded.

    Args:
        module: The module being loaded.
        state_dict: The state dict being loaded.
        prefix: The module's key prefix in ``state_dict``.
        *unused: The hook's other arguments (strictness, key lists), not needed here.
    """
    for name, buffer in list(module.named_buffers(recurse=False)):
        key = prefix + name
        if key in state_dict and state_dict[key].shape != buffer.shape:
            # Assigning a tensor to a registered buffer name replaces the buffer (public nn.Module API).
            setattr(module, name, torch.empty_like(state_dict[key], dtype=buffer.dtype, device=buffer.device))


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
