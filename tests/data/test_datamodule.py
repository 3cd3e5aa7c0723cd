"""EdgePairDataModule and the edge iterables, checked against direct h5py/numpy reads of the fixture."""

from __future__ import annotations

from math import comb
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import h5py
import numpy as np
import pytest
import torch
from lightning.pytorch import LightningModule, Trainer
from torch import Tensor, nn

import ge2conn.data.datamodule
from ge2conn.data.datamodule import EdgePairDataModule
from ge2conn.data.edges import EvaluationEdgeBatches, TrainEdgeBatches, epoch_permutation
from tests.data.make_fixtures import make_synthetic_dataset


@pytest.fixture(scope="module")
def raw(synthetic_path: Path) -> dict[str, np.ndarray]:
    with h5py.File(synthetic_path, "r") as file:
        return {
            "expression": np.asarray(file["expression"][()]),
            "connectivity": np.asarray(file["connectivity/population"][()]),
            "individual": np.asarray(file["connectivity/individual"][()]),
            "centroids": np.asarray(file["regions/centroid"][()]),
            "labels": np.asarray(file["regions/label"].asstr()[()]),
            "hemisphere": np.asarray(file["regions/hemisphere"].asstr()[()]),
            "network": np.asarray(file["regions/network"].asstr()[()]),
            "structure": np.asarray(file["regions/structure"].asstr()[()]),
        }


@pytest.fixture()
def datamodule(synthetic_path: Path) -> EdgePairDataModule:
    return EdgePairDataModule(dataset=str(synthetic_path), batch_size=32, eval_batch_size=8)


def _edge_set(edges: Tensor | np.ndarray) -> set[tuple[int, int]]:
    return set(map(tuple, np.asarray(edges).tolist()))


def test_linkable_attributes_exist_after_init(datamodule: EdgePairDataModule,
                                              raw: dict[str, np.ndarray]) -> None:
    assert datamodule.num_genes == 120 and datamodule.num_regions == 24 and datamodule.num_subjects == 6
    train_centroids = raw["centroids"][datamodule.split.train]
    np.testing.assert_allclose(datamodule.coordinate_mean, train_centroids.mean(axis=0))
    np.testing.assert_allclose(datamodule.coordinate_std, train_centroids.std(axis=0))


def test_edge_counts_and_no_leakage(datamodule: EdgePairDataModule) -> None:
    split = datamodule.split
    assert datamodule.test_edges.shape == (comb(split.test.size, 2), 2)
    assert datamodule.val_edges.shape == (comb(split.val.size, 2), 2)
    assert datamodule.train_edges.shape == (2 * comb(split.train.size, 2), 2)
    assert datamodule.train_edges.dtype == torch.int64
    test_regions = set(split.test.tolist())
    for edges in (datamodule.train_edges, datamodule.val_edges):
        assert not test_regions & set(edges.reshape(-1).tolist())
    assert set(datamodule.train_edges.reshape(-1).tolist()) == set(split.train.tolist())
    assert set(datamodule.val_edges.reshape(-1).tolist()) <= set(split.val.tolist())
    for edges in (datamodule.val_edges, datamodule.test_edges, datamodule.predict_edges):
        assert bool((edges[:, 0] < edges[:, 1]).all())
    assert datamodule.predict_edges.shape[0] == comb(24, 2)


def test_one_orientation(synthetic_path: Path) -> None:
    module = EdgePairDataModule(dataset=str(synthetic_path), both_orientations=False)
    assert module.train_edges.shape[0] == comb(module.split.train.size, 2)


def test_batch_contract(datamodule: EdgePairDataModule, raw: dict[str, np.ndarray]) -> None:
    datamodule.setup("fit")
    batches = [datamodule.on_after_batch_transfer(edges, 0) for edges in datamodule.train_dataloader()]
    first = batches[0]
    assert set(first) == {"rows", "cols", "target", "expression", "coordinates"}
    assert first["rows"].dtype == torch.int64 and first["target"].dtype == torch.float32
    assert first["expression"].shape == (24, 120) and first["coordinates"].shape == (24, 3)
    for batch in batches:
        assert batch["expression"] is first["expression"] and batch["coordinates"] is first["coordinates"]
        rows, cols = batch["rows"].numpy(), batch["cols"].numpy()
        np.testing.assert_array_equal(batch["target"].numpy(), raw["connectivity"][rows, cols])
    np.testing.assert_allclose(first["expression"].numpy(), raw["expression"])
    # One epoch visits every training edge once (240 edges, batches of 32: the last one has 16).
    seen = torch.cat([torch.stack([b["rows"], b["cols"]], 1) for b in batches])
    assert seen.shape[0] == datamodule.train_edges.shape[0]
    assert _edge_set(seen) == _edge_set(datamodule.train_edges)


def test_region_tensors_cached_per_device(datamodule: EdgePairDataModule) -> None:
    first = datamodule.region_tensors("cpu")
    assert datamodule.region_tensors(torch.device("cpu"))["expression"] is first["expression"]
    individual = datamodule.individual_connectivity("cpu")
    assert individual is not None and individual.shape == (6, 24, 24)
    assert datamodule.individual_connectivity("cpu") is individual


def test_training_arrays(datamodule: EdgePairDataModule, raw: dict[str, np.ndarray]) -> None:
    expression, coordinates, rows, cols, targets = datamodule.training_arrays()
    train = datamodule.split.train
    assert rows.size == comb(train.size, 2) and np.all(rows < cols)
    assert set(rows.tolist()) | set(cols.tolist()) == set(train.tolist())
    np.testing.assert_allclose(targets, raw["connectivity"][rows, cols])
    np.testing.assert_allclose(expression, raw["expression"], rtol=1e-6)
    np.testing.assert_allclose(coordinates, raw["centroids"], rtol=1e-6)


def test_region_metadata(datamodule: EdgePairDataModule, raw: dict[str, np.ndarray]) -> None:
    metadata = datamodule.region_metadata
    np.testing.assert_array_equal(metadata.labels, raw["labels"])
    expected_hemisphere = np.where(raw["hemisphere"] == "L", 0, np.where(raw["hemisphere"] == "R", 1, -1))
    np.testing.assert_array_equal(metadata.hemisphere_codes, expected_hemisphere)
    np.testing.assert_array_equal(np.asarray(metadata.network_names)[metadata.network_codes], raw["network"])


def test_epoch_order_is_seeded_and_read_from_the_trainer(datamodule: EdgePairDataModule) -> None:
    edges = datamodule.train_edges
    batches = TrainEdgeBatches(edges, 32, seed=3)
    batches.set_epoch(2)
    order = torch.cat(list(batches))
    again = TrainEdgeBatches(edges, 32, seed=3)
    again.set_epoch(2)
    assert torch.equal(order, torch.cat(list(again)))
    again.set_epoch(3)
    assert not torch.equal(order, torch.cat(list(again)))
    datamodule.trainer = SimpleNamespace(current_epoch=5, global_rank=1, world_size=2)  # type: ignore[assignment]
    attached = datamodule.train_batches()
    assert (attached.rank, attached.world_size, attached.epoch) == (1, 2, 5)
    expected = edges[torch.from_numpy(epoch_permutation(edges.shape[0], 0, 5)[120:240])]
    assert torch.equal(torch.cat(list(attached)), expected)


@pytest.mark.parametrize("world_size", [1, 3, 7])
def test_train_shards_are_disjoint_and_equal_sized(world_size: int) -> None:
    edges = torch.arange(2 * 103).reshape(103, 2)
    shards = [TrainEdgeBatches(edges, 10, seed=1, rank=rank, world_size=world_size).shard_indices(4)
              for rank in range(world_size)]
    assert {shard.size for shard in shards} == {103 // world_size}
    merged = np.concatenate(shards)
    assert np.unique(merged).size == merged.size == world_size * (103 // world_size)
    # Lengths agree with what the iterables yield, and no batch has fewer than 2 edges.
    for rank in range(world_size):
        iterable = TrainEdgeBatches(edges, 10, seed=1, rank=rank, world_size=world_size)
        iterable.set_epoch(4)
        sizes = [batch.shape[0] for batch in iterable]
        assert len(sizes) == len(iterable) and min(sizes) >= 2


def test_trailing_batch_of_one_is_dropped() -> None:
    iterable = TrainEdgeBatches(torch.zeros(21, 2, dtype=torch.long), 10)
    assert [batch.shape[0] for batch in iterable] == [10, 10] and len(iterable) == 2


@pytest.mark.parametrize("world_size", [1, 2, 4, 9])
def test_evaluation_shards_are_contiguous_and_complete(world_size: int) -> None:
    edges = torch.arange(2 * 23).reshape(23, 2)
    parts = []
    for rank in range(world_size):
        iterable = EvaluationEdgeBatches(edges, 4, rank=rank, world_size=world_size)
        batches = list(iterable)
        assert len(batches) == len(iterable)
        parts.append(torch.cat(batches) if batches else edges[:0])
    assert torch.equal(torch.cat(parts), edges)
    assert max(part.shape[0] for part in parts) - min(part.shape[0] for part in parts) <= 1


def test_regions_without_expression_are_dropped(tmp_path: Path) -> None:
    dataset = make_synthetic_dataset()
    dataset.expression[[2, 18]] = np.nan
    path = dataset.save(tmp_path / "holes.h5")
    module = EdgePairDataModule(dataset=str(path))
    assert module.num_regions == 22 and "L_ctx2" not in module.region_metadata.labels
    with pytest.warns(UserWarning, match="L_ctx2"):
        module.setup("fit")
    kept = np.setdiff1d(np.arange(24), [2, 18])
    tensors = module.region_tensors("cpu")
    np.testing.assert_allclose(tensors["connectivity"].numpy(), dataset.connectivity[np.ix_(kept, kept)])
    individual = module.individual_connectivity("cpu")
    assert individual is not None
    np.testing.assert_array_equal(individual.numpy(), dataset.individual[:, kept][:, :, kept])


def test_cortex_only_and_gene_list(synthetic_path: Path, tmp_path: Path, raw: dict[str, np.ndarray]) -> None:
    genes = tmp_path / "genes.txt"
    genes.write_text("# three genes and one unknown\nGENE007\nGENE100\nGENE003\nNOT_A_GENE\n")
    with pytest.warns(UserWarning, match="1 of 4"):
        module = EdgePairDataModule(dataset=str(synthetic_path), structures=["cortex"], gene_list=str(genes))
    assert module.num_regions == 16 and module.num_genes == 3
    assert set(module.region_metadata.structure.tolist()) == {"cortex"}
    expression = module.region_tensors("cpu")["expression"].numpy()
    np.testing.assert_allclose(expression, raw["expression"][:16][:, [3, 7, 100]])


def test_null_rank_uses_the_permuted_expression(synthetic_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                raw: dict[str, np.ndarray]) -> None:
    permutation = np.random.default_rng(0).permutation(24)
    calls: list[tuple[Any, ...]] = []

    def fake_loader(path: Path, rank: int, labels: np.ndarray) -> np.ndarray:
        calls.append((path, rank, list(labels)))
        return permutation

    monkeypatch.setattr(ge2conn.data.datamodule, "null_path_for",
                        lambda path: Path(path).with_suffix(".nulls.h5"))
    monkeypatch.setattr(ge2conn.data.datamodule, "load_null_permutation", fake_loader)
    module = EdgePairDataModule(dataset=str(synthetic_path), null_rank=3)
    tensors = module.region_tensors("cpu")
    np.testing.assert_allclose(tensors["expression"].numpy(), raw["expression"][permutation])
    np.testing.assert_array_equal(tensors["connectivity"].numpy(), raw["connectivity"])
    assert calls[0][0] == synthetic_path.with_suffix(".nulls.h5") and calls[0][1] == 3
    assert calls[0][2] == list(raw["labels"])


def test_shuffled_expression_control(synthetic_path: Path, raw: dict[str, np.ndarray]) -> None:
    module = EdgePairDataModule(dataset=str(synthetic_path), shuffle_expression=True, seed=4)
    shuffled = module.region_tensors("cpu")["expression"].numpy()
    # Each shuffled row is some original row, the row set is unchanged, and the order is not the identity.
    matches = (np.abs(shuffled[:, None, :] - raw["expression"][None]).max(axis=-1) == 0)
    assert np.array_equal(matches.sum(axis=1), np.ones(24))
    assert np.array_equal(matches.sum(axis=0), np.ones(24))
    assert not np.array_equal(matches.argmax(axis=1), np.arange(24))
    again = EdgePairDataModule(dataset=str(synthetic_path), shuffle_expression=True, seed=4)
    np.testing.assert_array_equal(again.region_tensors("cpu")["expression"].numpy(), shuffled)
    np.testing.assert_array_equal(module.region_tensors("cpu")["connectivity"].numpy(), raw["connectivity"])


def test_bad_requests(synthetic_path: Path) -> None:
    with pytest.raises(ValueError, match="choose one"):
        EdgePairDataModule(dataset=str(synthetic_path), null_rank=0, shuffle_expression=True)
    with pytest.raises(ValueError, match="unknown structures"):
        EdgePairDataModule(dataset=str(synthetic_path), structures=["cortx"])
    with pytest.raises(ValueError, match="fold must satisfy"):
        EdgePairDataModule(dataset=str(synthetic_path), fold=4)


class RecordingModule(LightningModule):
    """A linear model on [x_i ‖ x_j] that records the batches it sees."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(240, 1)
        self.seen: dict[str, list[dict[str, Tensor]]] = {"train": [], "val": [], "test": [], "predict": []}

    def _step(self, batch: dict[str, Tensor], stage: str) -> Tensor:
        self.seen[stage].append({key: batch[key] for key in ("rows", "cols", "target")})
        expression = batch["expression"]
        features = torch.cat([expression[batch["rows"]], expression[batch["cols"]]], dim=1)
        return nn.functional.mse_loss(self.layer(features).squeeze(1), batch["target"])

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self.log("val/loss", self._step(batch, "val"), batch_size=batch["rows"].numel())

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self.log("test/loss", self._step(batch, "test"), batch_size=batch["rows"].numel())

    def predict_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        return self._step(batch, "predict")

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.01)


def _trainer(**options: Any) -> Trainer:
    return Trainer(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                   enable_progress_bar=False, enable_model_summary=False, **options)


def test_fast_dev_run_end_to_end(datamodule: EdgePairDataModule, raw: dict[str, np.ndarray]) -> None:
    module = RecordingModule()
    trainer = _trainer(fast_dev_run=True)
    trainer.fit(module, datamodule=datamodule)
    trainer.test(module, datamodule=datamodule)
    trainer.predict(module, datamodule=datamodule)
    for stage in ("train", "val", "test", "predict"):
        assert module.seen[stage], stage
        batch = module.seen[stage][0]
        np.testing.assert_array_equal(batch["target"].numpy(),
                                      raw["connectivity"][batch["rows"].numpy(), batch["cols"].numpy()])
    test_regions = set(datamodule.split.test.tolist())
    assert set(module.seen["test"][0]["rows"].tolist()) <= test_regions


def test_epochs_follow_the_seeded_permutation(datamodule: EdgePairDataModule) -> None:
    module = RecordingModule()
    trainer = _trainer(max_epochs=2, limit_val_batches=0)
    trainer.fit(module, datamodule=datamodule)
    per_epoch = len(datamodule.train_batches())
    seen = module.seen["train"]
    assert len(seen) == 2 * per_epoch
    edges = datamodule.train_edges
    for epoch in range(2):
        pairs = torch.cat([torch.stack([b["rows"], b["cols"]], 1) for b in seen[epoch * per_epoch:
                                                                                   (epoch + 1) * per_epoch]])
        assert torch.equal(pairs, edges[torch.from_numpy(epoch_permutation(edges.shape[0], 0, epoch))])
