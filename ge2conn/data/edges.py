"""Edge lists and whole-batch edge iterables (vectorized sampling and DDP sharding).

A batch is a ``(B, 2)`` LongTensor of region index pairs; targets and region features are gathered on the
device afterwards (see :class:`ge2conn.data.datamodule.EdgePairDataModule`). The iterables yield whole
batches, so they are used with ``DataLoader(dataset, batch_size=None, num_workers=0)``: no per-sample
``__getitem__``, no Python loop over edges and no materialized pair-feature matrix.

Training order: one permutation of the training edges per epoch, drawn by numpy's PCG64 generator seeded with
``(seed, epoch)``, so resuming at epoch ``e`` reproduces epoch ``e``'s order. Under DDP every rank gets the
same number of edges: the permutation is truncated to a multiple of the world size (the at most
``world_size - 1`` dropped edges differ from epoch to epoch) and cut into contiguous, disjoint shards. A
trailing batch of fewer than 2 edges is dropped, because BatchNorm cannot train on a batch of one.

Evaluation order: the edge list in order, cut into contiguous per-rank chunks (sizes may differ by one; no
edge is duplicated or dropped), then into batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import IterableDataset

MINIMUM_TRAIN_BATCH = 2
"""A trailing training batch smaller than this is dropped (BatchNorm needs more than one sample)."""

_PERMUTATION_STREAM = 2  # mixed into the epoch seed so it never collides with the split generators


def pairs_within(regions: np.ndarray, both_orientations: bool = False) -> np.ndarray:
    """All pairs of distinct regions within a set.

    Args:
        regions: Region indices (any order; duplicates are ignored).
        both_orientations: Return (i, j) and (j, i) for every pair instead of i < j only.

    Returns:
        (E, 2) int64 pairs: ``C(n, 2)`` rows with i < j, followed by their ``C(n, 2)`` mirrors when
        ``both_orientations``. The diagonal is never included.
    """
    members = np.unique(np.asarray(regions, dtype=np.int64))
    first, second = np.triu_indices(members.size, k=1)
    pairs = np.stack([members[first], members[second]], axis=1)
    if both_orientations:
        pairs = np.concatenate([pairs, pairs[:, ::-1]], axis=0)
    return np.ascontiguousarray(pairs, dtype=np.int64)


def contiguous_shard(count: int, rank: int, world_size: int) -> slice:
    """The contiguous chunk of ``range(count)`` owned by a rank (``np.array_split`` sizes).

    Args:
        count: Number of items.
        rank: This rank, ``0 <= rank < world_size``.
        world_size: Number of ranks.

    Returns:
        A slice; the slices of all ranks partition ``range(count)``.
    """
    _check_rank(rank, world_size)
    base, remainder = divmod(count, world_size)
    start = rank * base + min(rank, remainder)
    return slice(start, start + base + (1 if rank < remainder else 0))


def _check_rank(rank: int, world_size: int) -> None:
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"need 0 <= rank < world_size, got rank={rank}, world_size={world_size}")


def epoch_permutation(num_edges: int, seed: int, epoch: int) -> np.ndarray:
    """The training-edge permutation of one epoch (the same on every rank and machine).

    Args:
        num_edges: Number of training edges.
        seed: Base seed.
        epoch: Epoch index.

    Returns:
        (num_edges,) int64 permutation.
    """
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(epoch), _PERMUTATION_STREAM]))
    return rng.permutation(num_edges).astype(np.int64)


class TrainEdgeBatches(IterableDataset[Tensor]):
    """Shuffled training edges, one rank's shard, in whole batches of ``(B, 2)`` region indices.

    Args:
        edges: (E, 2) LongTensor of training pairs (kept on the CPU).
        batch_size: Edges per batch.
        seed: Base seed of the per-epoch permutation.
        rank: This process's global rank.
        world_size: Number of processes.
        epoch_source: Returns the current epoch (the datamodule passes ``trainer.current_epoch``); when None
            the epoch set by :meth:`set_epoch` is used.
    """

    def __init__(self, edges: Tensor, batch_size: int, seed: int = 0, rank: int = 0, world_size: int = 1,
                 epoch_source: Callable[[], int] | None = None) -> None:
        super().__init__()
        _check_rank(rank, world_size)
        if batch_size < MINIMUM_TRAIN_BATCH:
            raise ValueError(f"batch_size must be at least {MINIMUM_TRAIN_BATCH}, got {batch_size}")
        if edges.shape[0] < world_size * MINIMUM_TRAIN_BATCH:
            raise ValueError(f"{edges.shape[0]} training edges are too few for {world_size} rank(s): each "
                             f"rank needs at least {MINIMUM_TRAIN_BATCH}")
        self.edges = edges.detach().to("cpu", torch.int64).contiguous()
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.rank = int(rank)
        self.world_size = int(world_size)
        self.epoch_source = epoch_source
        self._epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch used when no ``epoch_source`` is given."""
        self._epoch = int(epoch)

    @property
    def epoch(self) -> int:
        """The epoch whose order the next iteration yields."""
        return int(self.epoch_source()) if self.epoch_source is not None else self._epoch

    @property
    def edges_per_rank(self) -> int:
        """Edges each rank receives per epoch (equal on every rank)."""
        return self.edges.shape[0] // self.world_size

    def shard_indices(self, epoch: int) -> np.ndarray:
        """Indices into :attr:`edges` that this rank trains on in ``epoch``, in order.

        Args:
            epoch: Epoch index.

        Returns:
            (edges_per_rank,) int64 indices.
        """
        permutation = epoch_permutation(self.edges.shape[0], self.seed, epoch)
        per_rank = self.edges_per_rank
        return permutation[self.rank * per_rank:(self.rank + 1) * per_rank]

    def __len__(self) -> int:
        full, remainder = divmod(self.edges_per_rank, self.batch_size)
        return full + (1 if remainder >= MINIMUM_TRAIN_BATCH else 0)

    def __iter__(self) -> Iterator[Tensor]:
        shard = self.edges[torch.from_numpy(self.shard_indices(self.epoch))]
        # torch.split returns views of one gathered tensor: one copy per epoch, none per batch.
        for batch in torch.split(shard, self.batch_size):
            if batch.shape[0] >= MINIMUM_TRAIN_BATCH:
                yield batch


class EvaluationEdgeBatches(IterableDataset[Tensor]):
    """Evaluation edges in order, one rank's contiguous chunk, in whole batches.

    A rank whose chunk is empty (fewer edges than ranks) yields one empty batch: Lightning refuses a
    zero-length loader under DDP, and every rank must take part in the epoch-end metric reduction.

    Args:
        edges: (E, 2) LongTensor of pairs (each unordered pair once).
        batch_size: Edges per batch.
        rank: This process's global rank.
        world_size: Number of processes.
    """

    def __init__(self, edges: Tensor, batch_size: int, rank: int = 0, world_size: int = 1) -> None:
        super().__init__()
        _check_rank(rank, world_size)
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.edges = edges.detach().to("cpu", torch.int64).contiguous()
        self.batch_size = int(batch_size)
        self.rank = int(rank)
        self.world_size = int(world_size)

    @property
    def shard(self) -> Tensor:
        """This rank's edges."""
        return self.edges[contiguous_shard(self.edges.shape[0], self.rank, self.world_size)]

    def __len__(self) -> int:
        return max(1, -(-self.shard.shape[0] // self.batch_size))

    def __iter__(self) -> Iterator[Tensor]:
        shard = self.shard
        if shard.shape[0] == 0:
            yield shard
            return
        yield from torch.split(shard, self.batch_size)
