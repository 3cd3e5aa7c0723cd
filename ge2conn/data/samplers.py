"""Region-block training batches: every batch is the set of edges between two small groups of regions.

A uniform batch of 512 edges drawn from ~300 training regions touches ~286 distinct regions, so a pair model
that encodes each distinct region once per step (``PairModel.decode_indexed``) still runs its encoder ~286
times per step. :class:`BlockEdgeBatches` chooses *which* edges share a batch instead: each epoch the
training regions are split at random into ``G`` groups of ~``g`` regions, and every edge ``(i, j)`` goes to
the block of its two groups ``{group(i), group(j)}``:

- a cross block ``{a, b}`` (``a != b``) holds every training edge between group ``a`` and group ``b``, in both
  orientations when the training edges are ordered: ``2 g²`` edges that touch ``2 g`` regions;
- the within-group edges of two groups ``{a, a}`` and ``{b, b}`` (paired at random) form one batch of
  ``2 g (g - 1)`` ordered edges (or half that for unordered edges) that also touches ``2 g`` regions.

``g`` is chosen so that a cross block holds about ``batch_size`` edges (``g ≈ sqrt(batch_size / 2)`` for
ordered edges, ``sqrt(batch_size)`` for unordered ones); a batch of 512 ordered edges then touches ~32
regions instead of ~286. Every training edge is in exactly one block, so every edge is trained on exactly
once per epoch, as with the uniform sampler; only the composition of the batches changes.

The grouping, the diagonal pairing and the block order are drawn by numpy's PCG64 generator seeded with
``(seed, epoch)`` (a stream distinct from the uniform sampler's), so resuming at epoch ``e`` reproduces
epoch ``e``'s batches. Under DDP the blocks are dealt out to the ranks after shuffling: every rank gets the
same number of blocks (the largest blocks are halved until the count divides by the world size, so no edge is
dropped), and the ranks' blocks are disjoint. Block sizes differ a little (groups differ by at most one
region), so ranks see similar, not identical, edge counts. A block of fewer than 2 edges (only possible for
sparse edge lists) is merged into the smallest other block, because BatchNorm cannot train on one sample.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from math import sqrt

import numpy as np
import torch
from torch import Tensor

from ge2conn.data.edges import MINIMUM_TRAIN_BATCH, TrainEdgeBatches

_BLOCK_STREAM = 4  # seed stream of the block partition, distinct from splits, permutations and shuffles


def group_count(num_regions: int, num_edges: int, batch_size: int) -> int:
    """Number of region groups whose cross blocks hold about ``batch_size`` edges.

    Args:
        num_regions: Distinct regions in the training edges.
        num_edges: Training edges.
        batch_size: Target edges per batch.

    Returns:
        ``G >= 1``: with ``ρ`` edges per unordered region pair (2 for ordered edges, 1 for unordered ones) a
        cross block of two groups of ``g`` regions holds ``ρ g²`` edges, so ``g = sqrt(batch_size / ρ)``
        and ``G = round(num_regions / g)``.
    """
    if num_regions < 2:
        return 1
    edges_per_pair = num_edges / (num_regions * (num_regions - 1) / 2)
    group_size = sqrt(batch_size / max(edges_per_pair, 1e-12))
    return int(min(num_regions, max(1, round(num_regions / group_size))))


def block_partition(edges: np.ndarray, batch_size: int, seed: int, epoch: int,
                    world_size: int = 1) -> list[np.ndarray]:
    """One epoch's blocks: a partition of the edge indices, shuffled, a multiple of ``world_size`` long.

    Args:
        edges: (E, 2) int64 region pairs (ordered or unordered, no duplicates needed for exactness: every row
            index lands in exactly one block either way).
        batch_size: Target edges per block.
        seed: Base seed.
        epoch: Epoch index.
        world_size: Number of ranks the blocks will be dealt to.

    Returns:
        Index arrays into ``edges`` (each sorted ascending); together they hold every index ``0..E-1``
        exactly once. Rank ``r`` of ``world_size`` takes ``blocks[r::world_size]``.

    Raises:
        ValueError: If there are fewer than ``world_size`` blocks of at least 2 edges even after halving.
    """
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(epoch), _BLOCK_STREAM]))
    regions = np.unique(edges)
    num_groups = group_count(regions.size, edges.shape[0], batch_size)
    # Random groups of sizes differing by at most one region.
    order = rng.permutation(regions.size)
    group_of = np.zeros(int(regions.max()) + 1 if regions.size else 1, dtype=np.int64)
    group_of[regions[order]] = np.arange(regions.size) * num_groups // max(regions.size, 1)
    first, second = group_of[edges[:, 0]], group_of[edges[:, 1]]
    low, high = np.minimum(first, second), np.maximum(first, second)
    # Cross blocks {a, b} get ids a * G + b; the diagonal blocks of two groups (paired at random) share an id.
    diagonal_partner = np.empty(num_groups, dtype=np.int64)
    diagonal_partner[rng.permutation(num_groups)] = np.arange(num_groups) // 2
    block_id = np.where(low == high, num_groups * num_groups + diagonal_partner[low], low * num_groups + high)
    sorted_indices = np.argsort(block_id, kind="stable")
    _, starts = np.unique(block_id[sorted_indices], return_index=True)
    blocks = [block for block in np.split(sorted_indices, starts[1:]) if block.size]
    blocks = _merge_tiny_blocks(blocks)
    blocks = _halve_until_divisible(blocks, world_size)
    return [blocks[position] for position in rng.permutation(len(blocks))]


def _merge_tiny_blocks(blocks: list[np.ndarray]) -> list[np.ndarray]:
    """Merge each block of fewer than MINIMUM_TRAIN_BATCH edges into the smallest other block."""
    blocks = list(blocks)
    while len(blocks) > 1:
        tiny = next((position for position, block in enumerate(blocks) if block.size < MINIMUM_TRAIN_BATCH),
                    None)
        if tiny is None:
            break
        block = blocks.pop(tiny)
        target = int(np.argmin([other.size for other in blocks]))
        blocks[target] = np.sort(np.concatenate([blocks[target], block]))
    return blocks


def _halve_until_divisible(blocks: list[np.ndarray], world_size: int) -> list[np.ndarray]:
    """Split the largest block in two until every rank can get the same number of blocks."""
    blocks = list(blocks)
    while len(blocks) % world_size:
        largest = int(np.argmax([block.size for block in blocks]))
        if blocks[largest].size < 2 * MINIMUM_TRAIN_BATCH:
            raise ValueError(f"{sum(block.size for block in blocks)} training edges form too few blocks for "
                             f"{world_size} ranks; use the uniform sampler or fewer ranks")
        block = blocks.pop(largest)
        blocks[largest:largest] = np.array_split(block, 2)
    return blocks


class BlockEdgeBatches(TrainEdgeBatches):
    """Region-block training batches of one rank (see the module docstring), ``(B, 2)`` region indices.

    Takes the arguments of :class:`TrainEdgeBatches`; here ``batch_size`` is the target number of edges per
    batch (blocks hold about this many) and ``seed`` seeds the per-epoch partition.
    """

    def __init__(self, edges: Tensor, batch_size: int, seed: int = 0, rank: int = 0, world_size: int = 1,
                 epoch_source: Callable[[], int] | None = None) -> None:
        super().__init__(edges, batch_size, seed, rank, world_size, epoch_source)
        self._edges_numpy = self.edges.numpy()
        self._cached: tuple[int, list[np.ndarray]] | None = None

    def rank_blocks(self, epoch: int) -> list[np.ndarray]:
        """This rank's blocks in ``epoch``, in training order (indices into :attr:`edges`).

        Args:
            epoch: Epoch index.

        Returns:
            One index array per batch.
        """
        if self._cached is None or self._cached[0] != epoch:
            blocks = block_partition(self._edges_numpy, self.batch_size, self.seed, epoch, self.world_size)
            self._cached = (epoch, blocks[self.rank::self.world_size])
        return self._cached[1]

    def shard_indices(self, epoch: int) -> np.ndarray:
        """Indices into :attr:`edges` this rank trains on in ``epoch``, in order (its blocks, concatenated).

        Args:
            epoch: Epoch index.

        Returns:
            (n,) int64 indices; ``n`` differs slightly between ranks.
        """
        return np.concatenate(self.rank_blocks(epoch)).astype(np.int64)

    def __len__(self) -> int:
        return len(self.rank_blocks(self.epoch))

    def __iter__(self) -> Iterator[Tensor]:
        for block in self.rank_blocks(self.epoch):
            yield self.edges[torch.from_numpy(block)]
