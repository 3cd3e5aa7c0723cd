"""Every model family trains, evaluates, checkpoints and predicts through the same task/CLI path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from ge2conn.api import build, fit, fit_and_test
from ge2conn.models import BilinearLowRankTask, ConnectomeModelTask, EdgeRegressionTask, MLPTask, SMTTask
from tests.support.quick import SMALL_MODEL_SETTINGS
from tests.support.quick import quick_settings as fixture_settings

from .conftest import CONFIGS, MODEL_CONFIGS

TASK_CLASSES = {cls.__name__: cls for cls in (SMTTask, MLPTask, BilinearLowRankTask, ConnectomeModelTask)}


def _predict_pairs(
    task: EdgeRegressionTask, datamodule, rows: torch.Tensor, cols: torch.Tensor
) -> torch.Tensor:
    regions = datamodule.region_tensors("cpu")
    task.eval()
    with torch.no_grad():
        return task(regions["expression"], regions["coordinates"], rows, cols)


@pytest.mark.parametrize("config", MODEL_CONFIGS)
def test_every_config_fits_tests_and_round_trips(config: str, tmp_path: Path, synthetic_path: Path) -> None:
    run = fit_and_test(
        [CONFIGS / config],
        {**fixture_settings(tmp_path, synthetic_path), **SMALL_MODEL_SETTINGS.get(config, {})},
    )
    metrics = run.metrics
    # Test edges: all unordered pairs among the test regions, evaluated once.
    test_regions = len(run.datamodule.split.test)
    assert run.datamodule.test_edges.shape[0] == test_regions * (test_regions - 1) // 2
    assert np.isfinite(metrics["test/mse"]) and metrics["test/mse"] >= 0
    assert -1.0 <= metrics["test/pearson"] <= 1.0
    # Symmetric predictions: f(i, j) == f(j, i).
    rows, cols = run.datamodule.test_edges[:, 0], run.datamodule.test_edges[:, 1]
    forward = _predict_pairs(run.task, run.datamodule, rows, cols)
    backward = _predict_pairs(run.task, run.datamodule, cols, rows)
    torch.testing.assert_close(forward, backward, rtol=1e-5, atol=1e-6)
    # The test MSE equals a direct computation on the restored (best) weights.
    target = run.datamodule.region_tensors("cpu")["connectivity"][rows, cols]
    assert float(((forward - target) ** 2).mean()) == pytest.approx(metrics["test/mse"], rel=1e-4, abs=1e-7)
    assert float(stats.pearsonr(forward.numpy(), target.numpy())[0]) == pytest.approx(
        metrics["test/pearson"], abs=1e-4
    )
    # Checkpoint round trip: a fresh task loaded from the best checkpoint predicts the same values.
    checkpoint = run.trainer.checkpoint_callback.best_model_path
    assert checkpoint and Path(checkpoint).exists()
    loaded = type(run.task).load_from_checkpoint(checkpoint, weights_only=False)
    torch.testing.assert_close(
        _predict_pairs(loaded, run.datamodule, rows, cols), forward, rtol=1e-5, atol=1e-6
    )


def test_learned_and_closed_form_models_beat_chance(tmp_path: Path, synthetic_path: Path) -> None:
    # The fixture plants distance decay + a bilinear expression term: closed forms recover it.
    cm = fit_and_test([CONFIGS / "cm.yaml"], fixture_settings(tmp_path / "cm", synthetic_path))
    decay = fit_and_test([CONFIGS / "exp_decay.yaml"], fixture_settings(tmp_path / "decay", synthetic_path))
    assert cm.metrics["test/pearson"] > 0.5
    assert decay.metrics["test/pearson"] > 0.3


@pytest.mark.parametrize("config", ["smt_cls.yaml", "mlp_coords.yaml", "lowrank.yaml"])
def test_training_reduces_loss(config: str, tmp_path: Path, synthetic_path: Path) -> None:
    run = build(
        [CONFIGS / config],
        {**fixture_settings(tmp_path, synthetic_path), **SMALL_MODEL_SETTINGS.get(config, {}),
         "model.init_args.learning_rate": 0.003},
    )
    datamodule, task = run.datamodule, run.task
    datamodule.setup("fit")
    regions = datamodule.region_tensors("cpu")
    rows, cols = datamodule.train_edges[:, 0], datamodule.train_edges[:, 1]
    target = regions["connectivity"][rows, cols]
    optimizer = torch.optim.Adam(task.parameters(), lr=3e-3)
    task.train()
    losses = []
    for _ in range(8):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(
            task.network(regions["expression"], regions["coordinates"], rows, cols), target
        )
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0]


def test_best_weights_are_restored_not_the_last(tmp_path: Path, synthetic_path: Path) -> None:
    # A huge learning rate makes validation loss bounce; the restored weights must be those of the best epoch.
    snapshots: dict[int, dict[str, torch.Tensor]] = {}
    from lightning.pytorch import Callback

    class Snapshot(Callback):
        def on_validation_end(self, trainer, pl_module) -> None:
            if not trainer.sanity_checking:
                snapshots[trainer.current_epoch] = {
                    name: value.detach().clone() for name, value in pl_module.state_dict().items()
                }

    run = build(
        [CONFIGS / "mlp.yaml"],
        {**fixture_settings(tmp_path, synthetic_path, epochs=6), **SMALL_MODEL_SETTINGS["mlp.yaml"],
         "model.init_args.learning_rate": 0.05},
    )
    run.trainer.callbacks.append(Snapshot())
    losses: dict[int, float] = {}

    class RecordLoss(Callback):
        def on_validation_end(self, trainer, pl_module) -> None:
            if not trainer.sanity_checking:
                losses[trainer.current_epoch] = float(trainer.callback_metrics["val/loss"])

    run.trainer.callbacks.append(RecordLoss())
    fit(run)
    best_epoch = min(losses, key=losses.get)
    state = run.task.state_dict()
    for name, value in snapshots[best_epoch].items():
        torch.testing.assert_close(state[name], value)
    if best_epoch != max(losses):
        last = snapshots[max(losses)]
        assert any(
            not torch.equal(state[name], last[name]) for name in state if state[name].is_floating_point()
        )
