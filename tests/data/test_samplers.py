"""The region-block training sampler: exact coverage, DDP shards, seeding, resume, block structure."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from lightning.pytorch import Trainer

from ge2conn.data.datamodule import EdgePairDataModule
from ge2conn.data.edges import TrainEdgeBatches, pairs_within
from ge2conn.data.samplers import BlockEdgeBatches, block_partition, group_count
from tests.data.test_datamodule import RecordingModule


def _edges(num_regions: int, both_orientations: bool, offset: int = 0) -> torch.Tensor:
    # Non-contiguous region ids, like the training regions of a split.
    regions = np.arange(num_regions) * 3 + offset
    return torch.from_numpy(pairs_within(regions, both_orientations))


def _rank_batches(edges: torch.Tensor, batch_size: int, world_size: int, epoch: int,
                  seed: int = 0) -> list[list[torch.Tensor]]:
    ranks = []
    for rank in range(world_size):
        iterable = BlockEdgeBatches(edges, batch_size, seed=seed, rank=rank, world_size=world_size)
        iterable.set_epoch(epoch)
        batches = list(iterable)
        assert len(batches) == len(iterable)
        ranks.append(batches)
    return ranks


@pytest.mark.parametrize("both_orientations", [True, False])
@pytest.mark.parametrize(("num_regions", "batch_size"), [(53, 512), (40, 64), (7, 10), (3, 2)])
def test_every_edge_exactly_once_per_epoch(num_regions: int, batch_size: int,
                                           both_orientations: bool) -> None:
    edges = _edges(num_regions, both_orientations)
    for epoch in (0, 1):
        (batches,) = _rank_batches(edges, batch_size, 1, epoch)
        seen = Counter(map(tuple, torch.cat(batches).tolist()))
        assert seen == Counter(map(tuple, edges.tolist()))
        assert min(batch.shape[0] for batch in batches) >= 2


@pytest.mark.parametrize("world_size", [2, 3, 5])
def test_ddp_shards_are_disjoint_equal_in_count_and_complete(world_size: int) -> None:
    edges = _edges(60, True)
    ranks = _rank_batches(edges, 128, world_size, epoch=3, seed=7)
    assert len({len(batches) for batches in ranks}) == 1  # every rank runs the same number of steps
    shards = [set(map(tuple, torch.cat(batches).tolist())) for batches in ranks]
    for first in range(world_size):
        for second in range(first + 1, world_size):
            assert not shards[first] & shards[second]
    assert sum(len(shard) for shard in shards) == edges.shape[0]  # nothing dropped, nothing repeated
    assert set().union(*shards) == set(map(tuple, edges.tolist()))


def test_blocks_are_halved_until_the_ranks_get_equal_counts() -> None:
    edges = _edges(10, False).numpy()  # 45 unordered edges, target 45 per block: one group
    single = block_partition(edges, 45, seed=0, epoch=0, world_size=1)
    assert len(single) == 1  # one group: all 45 edges in one block
    split = block_partition(edges, 45, seed=0, epoch=0, world_size=4)
    assert len(split) == 4
    np.testing.assert_array_equal(np.sort(np.concatenate(split)), np.arange(45))


def test_too_few_edges_for_the_ranks_is_an_error() -> None:
    with pytest.raises(ValueError, match="too few blocks"):
        block_partition(_edges(2, True).numpy(), 2, seed=0, epoch=0, world_size=2)


def test_order_is_reproducible_per_seed_and_epoch() -> None:
    edges = _edges(50, True)

    def order(seed: int, epoch: int) -> torch.Tensor:
        (batches,) = _rank_batches(edges, 200, 1, epoch, seed)
        return torch.cat(batches)

    assert torch.equal(order(1, 4), order(1, 4))
    assert not torch.equal(order(1, 4), order(1, 5))
    assert not torch.equal(order(1, 4), order(2, 4))


def test_batches_are_blocks_of_few_regions() -> None:
    # S456-like fold: 299 training regions, ordered edges, batches of 512.
    regions = np.arange(299)
    edges = torch.from_numpy(pairs_within(regions, both_orientations=True))
    num_groups = group_count(299, edges.shape[0], 512)
    assert num_groups == round(299 / 16)
    largest_group = -(-299 // num_groups)
    (batches,) = _rank_batches(edges, 512, 1, epoch=0)
    distinct = [torch.unique(batch).numel() for batch in batches]
    assert max(distinct) <= 2 * largest_group
    sizes = np.array([batch.shape[0] for batch in batches])
    assert 0.8 * 512 <= sizes.mean() <= 1.2 * 512 and sizes.max() <= 2 * 512
    for batch in batches:
        assert _is_cross_or_diagonal_block(set(map(tuple, batch.tolist())))
    # Uniform batches of the same size touch far more regions (the point of the sampler).
    uniform = TrainEdgeBatches(edges, 512)
    assert np.mean([torch.unique(batch).numel() for batch in uniform]) > 8 * np.mean(distinct)


def _is_cross_or_diagonal_block(pairs: set[tuple[int, int]]) -> bool:
    """Whether ordered pairs are A×B ∪ B×A (a cross block) or within(A) ∪ within(B) (two diagonal blocks)."""
    regions = {region for pair in pairs for region in pair}
    start = next(iter(pairs))[0]
    neighbours = {j for i, j in pairs if i == start}
    other = regions - neighbours
    cross = {(i, j) for i in other for j in neighbours} | {(j, i) for i in other for j in neighbours}
    group = neighbours | {start}
    rest = regions - group
    diagonal = {(i, j) for part in (group, rest) for i in part for j in part if i != j}
    return pairs in (cross, diagonal)


def test_datamodule_option_and_resume_reproduce_the_blocks(synthetic_path: Path, tmp_path: Path) -> None:
    def datamodule() -> EdgePairDataModule:
        return EdgePairDataModule(dataset=str(synthetic_path), batch_size=16, eval_batch_size=64,
                                  sampler="blocks")

    def trainer(epochs: int) -> Trainer:
        return Trainer(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                       enable_progress_bar=False, enable_model_summary=False, max_epochs=epochs,
                       limit_val_batches=0, default_root_dir=tmp_path)

    probe = datamodule()
    probe.trainer = SimpleNamespace(current_epoch=2, global_rank=0, world_size=1)  # type: ignore[assignment]
    assert isinstance(probe.train_batches(), BlockEdgeBatches) and probe.train_batches().epoch == 2

    uninterrupted = RecordingModule()
    trainer(3).fit(uninterrupted, datamodule=datamodule())
    first_part = RecordingModule()
    interrupted = trainer(2)
    interrupted.fit(first_part, datamodule=datamodule())
    interrupted.save_checkpoint(tmp_path / "epoch2.ckpt")
    resumed = RecordingModule()
    trainer(3).fit(resumed, datamodule=datamodule(), ckpt_path=tmp_path / "epoch2.ckpt")

    def pairs(module: RecordingModule) -> list[torch.Tensor]:
        return [torch.stack([batch["rows"], batch["cols"]], 1) for batch in module.seen["train"]]

    replayed = pairs(first_part) + pairs(resumed)
    assert len(replayed) == len(pairs(uninterrupted))
    assert all(torch.equal(a, b) for a, b in zip(replayed, pairs(uninterrupted), strict=True))
    per_epoch = len(pairs(resumed))
    epoch_edges = torch.cat(pairs(resumed))
    assert epoch_edges.shape[0] == probe.train_edges.shape[0] and per_epoch == len(probe.train_batches())
    assert set(map(tuple, epoch_edges.tolist())) == set(map(tuple, probe.train_edges.tolist()))


def test_unknown_sampler_is_rejected(synthetic_path: Path) -> None:
    with pytest.raises(ValueError, match="data.sampler"):
        EdgePairDataModule(dataset=str(synthetic_path), sampler="random")  # type: ignore[arg-type]
