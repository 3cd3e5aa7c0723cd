"""Target-side augmentation: schedules, per-edge subject draws and the Lightning callback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import torch
from lightning.pytorch import LightningModule, Trainer
from torch import Tensor, nn

from ge2conn.callbacks import TargetAugmentation, augmentation_probability
from ge2conn.callbacks.augmentation import individualize_targets, parse_schedule
from ge2conn.data.datamodule import EdgePairDataModule
from tests.data.make_fixtures import make_synthetic_dataset


@pytest.fixture(scope="module")
def raw(synthetic_path: Path) -> dict[str, np.ndarray]:
    with h5py.File(synthetic_path, "r") as file:
        return {"connectivity": np.asarray(file["connectivity/population"][()]),
                "individual": np.asarray(file["connectivity/individual"][()])}


@pytest.mark.parametrize(
    ("schedule", "epoch", "expected"),
    [
        ("none", 3, 0.0),
        ("constant", 7, 0.3),
        ("linear_decay", 0, 0.3),
        ("linear_decay", 5, 0.15),
        ("linear_decay", 9, 0.03),
        ("linear_increase", 0, 0.0),
        ("linear_increase", 4, 0.12),
        ("linear_peak", 0, 0.0),
        ("linear_peak", 5, 0.3),
        ("linear_peak", 2, 0.12),
        ("linear_peak", 8, 0.12),
    ],
)
def test_schedule_values(schedule: str, epoch: int, expected: float) -> None:
    assert augmentation_probability(schedule, epoch, 10, 0.3) == pytest.approx(expected)


def test_schedule_names() -> None:
    assert parse_schedule("curriculum_swap_linear_decay", "individual") == ("linear_decay", "curriculum_swap")
    assert parse_schedule("curriculum_swap_constant", "individual") == ("constant", "curriculum_swap")
    assert parse_schedule("linear_peak", "individual") == ("linear_peak", "individual")
    with pytest.raises(ValueError, match="unknown augmentation schedule"):
        parse_schedule("cosine", "individual")
    with pytest.raises(ValueError, match="unknown augmentation schedule"):
        augmentation_probability("cosine", 0, 10, 0.3)


def test_individualize_draws_only_finite_subjects() -> None:
    individual = torch.arange(4 * 3 * 3, dtype=torch.float32).reshape(4, 3, 3)
    individual[[0, 2], 0, 1] = torch.nan  # edge (0, 1): only subjects 1 and 3 have a value
    individual[:, 1, 2] = torch.nan  # edge (1, 2): nobody has a value
    rows = torch.tensor([0, 1, 2] * 400)
    cols = torch.tensor([1, 2, 0] * 400)
    target = torch.full((1200,), -5.0)
    uniform = torch.rand(1200, generator=torch.Generator().manual_seed(0))
    new_target, subjects = individualize_targets(individual, rows, cols, target, uniform)
    for edge, (row, col) in enumerate([(0, 1), (1, 2), (2, 0)]):
        chosen = subjects[edge::3]
        values = new_target[edge::3]
        if (row, col) == (1, 2):
            assert bool((chosen == -1).all()) and bool((values == -5.0).all())
            continue
        finite_subjects = {s for s in range(4) if torch.isfinite(individual[s, row, col])}
        assert set(chosen.tolist()) == finite_subjects
        torch.testing.assert_close(values, individual[chosen, row, col])


class RecordingModule(LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(3, 1)
        self.seen: dict[str, list[dict[str, Tensor]]] = {"train": [], "val": []}

    def _step(self, batch: dict[str, Tensor], stage: str) -> Tensor:
        self.seen[stage].append({key: batch[key].clone() for key in ("rows", "cols", "target")})
        coordinates = batch["coordinates"]
        prediction = self.layer(coordinates[batch["rows"]] - coordinates[batch["cols"]]).squeeze(1)
        return nn.functional.mse_loss(prediction, batch["target"])

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=1e-4)


def _fit(path: Path, callback: TargetAugmentation, max_epochs: int = 1) -> tuple[RecordingModule, Trainer,
                                                                                 EdgePairDataModule]:
    datamodule = EdgePairDataModule(dataset=str(path), batch_size=16, eval_batch_size=8)
    module = RecordingModule()
    trainer = Trainer(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                      enable_progress_bar=False, enable_model_summary=False, max_epochs=max_epochs,
                      callbacks=[callback])
    trainer.fit(module, datamodule=datamodule)
    return module, trainer, datamodule


def _check_individual_targets(batches: list[dict[str, Tensor]], raw: dict[str, np.ndarray]) -> int:
    """Every target is a real individual value of its own edge (or Y when nobody has one)."""
    replaced = 0
    for batch in batches:
        rows, cols, target = batch["rows"].numpy(), batch["cols"].numpy(), batch["target"].numpy()
        for row, col, value in zip(rows, cols, target, strict=True):
            candidates = raw["individual"][:, row, col]
            candidates = candidates[np.isfinite(candidates)]
            if candidates.size == 0:
                assert value == raw["connectivity"][row, col]
            else:
                assert np.any(candidates == value), (row, col, value)
                replaced += int(value != raw["connectivity"][row, col])
    return replaced


def test_individual_style_replaces_targets_with_individual_values(synthetic_path: Path,
                                                                  raw: dict[str, np.ndarray]) -> None:
    module, trainer, datamodule = _fit(synthetic_path, TargetAugmentation("constant", p_max=1.0))
    assert module.seen["train"]
    assert _check_individual_targets(module.seen["train"], raw) > 0
    # Evaluation targets stay the population Y.
    for batch in module.seen["val"]:
        np.testing.assert_array_equal(batch["target"].numpy(),
                                      raw["connectivity"][batch["rows"].numpy(), batch["cols"].numpy()])
    assert trainer.callback_metrics["augmentation/p"] == pytest.approx(1.0)


def test_probability_zero_keeps_population_targets(synthetic_path: Path, raw: dict[str, np.ndarray]) -> None:
    module, _, _ = _fit(synthetic_path, TargetAugmentation("constant", p_max=0.0))
    for batch in module.seen["train"]:
        np.testing.assert_array_equal(batch["target"].numpy(),
                                      raw["connectivity"][batch["rows"].numpy(), batch["cols"].numpy()])


def test_curriculum_batches_hold_only_strong_training_edges(synthetic_path: Path,
                                                            raw: dict[str, np.ndarray]) -> None:
    callback = TargetAugmentation("curriculum_swap_constant", p_max=1.0, threshold=0.3)
    module, _, datamodule = _fit(synthetic_path, callback)
    train = datamodule.train_edges.numpy()
    strong = {(i, j) for i, j in train.tolist() if abs(raw["connectivity"][i, j]) > 0.3}
    assert 0 < len(strong) < len(train)
    for batch in module.seen["train"]:
        pairs = set(zip(batch["rows"].tolist(), batch["cols"].tolist(), strict=True))
        assert pairs <= strong
    _check_individual_targets(module.seen["train"], raw)


def test_probability_is_logged_per_epoch(synthetic_path: Path) -> None:
    _, trainer, _ = _fit(synthetic_path, TargetAugmentation("linear_decay", p_max=0.3), max_epochs=2)
    assert float(trainer.callback_metrics["augmentation/p"]) == pytest.approx(0.15)


def test_dataset_without_individual_connectomes_fails_at_setup(tmp_path: Path) -> None:
    dataset = make_synthetic_dataset()
    dataset.individual = None
    dataset.subjects = None
    path = dataset.save(tmp_path / "population_only.h5")
    with pytest.raises(ValueError, match="needs individual connectomes"):
        _fit(path, TargetAugmentation())


def test_state_dict_resumes_the_same_draws(synthetic_path: Path) -> None:
    datamodule = EdgePairDataModule(dataset=str(synthetic_path))
    edges = datamodule.train_edges[:64]

    def batch() -> dict[str, Any]:
        rows, cols = edges[:, 0], edges[:, 1]
        population = datamodule.region_tensors("cpu")["connectivity"]
        return {"rows": rows, "cols": cols, "target": population[rows, cols]}

    first = TargetAugmentation("constant", p_max=1.0, seed=1)
    for _ in range(3):
        first.augment(datamodule, batch())
    state = first.state_dict()
    expected = batch()
    first.augment(datamodule, expected)
    resumed = TargetAugmentation("constant", p_max=1.0, seed=99)
    resumed.load_state_dict(state)
    actual = batch()
    resumed.augment(datamodule, actual)
    assert torch.equal(actual["target"], expected["target"])
    other = batch()
    TargetAugmentation("constant", p_max=1.0, seed=99).augment(datamodule, other)
    assert not torch.equal(other["target"], expected["target"])
