"""Schedules in optimizer steps (configs/trainer/steps.yaml): validation, early stopping and LR plateaus."""

from __future__ import annotations

from pathlib import Path

from lightning.pytorch import Callback

from ge2conn.api import build, fit, fit_and_test
from tests.support.quick import SMALL_MODEL_SETTINGS
from tests.support.quick import quick_settings as fixture_settings

from .conftest import CONFIGS

STEPS = CONFIGS / "trainer" / "steps.yaml"


class RecordValidationSteps(Callback):
    def __init__(self) -> None:
        self.steps: list[int] = []
        self.epochs: list[int] = []

    def on_validation_end(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self.steps.append(trainer.global_step)
            self.epochs.append(trainer.current_epoch)


def test_step_preset_validates_every_n_steps_and_stops_after_patience_validations(
    tmp_path: Path, synthetic_path: Path
) -> None:
    settings = {
        **fixture_settings(tmp_path, synthetic_path),
        **SMALL_MODEL_SETTINGS["mlp.yaml"],
        "trainer.max_epochs": -1,  # the preset's value; quick_settings sets epochs
        "trainer.max_steps": 60,
        "trainer.val_check_interval": 5,
        "early_stopping.patience": 2,
        "early_stopping.min_delta": 1e9,  # no validation after the first counts as an improvement
    }
    run = build([CONFIGS / "mlp.yaml", STEPS], settings)
    record = RecordValidationSteps()
    run.trainer.callbacks.append(record)
    fit(run)
    batches_per_epoch = run.trainer.num_training_batches
    assert batches_per_epoch < 5  # so validations fall across epoch boundaries
    # Validation every 5 optimizer steps whatever the epoch length; stopped after 1 + patience validations.
    assert record.steps == [5, 10, 15]
    assert len(set(record.epochs)) == 3


def test_plateau_scheduler_steps_after_each_validation(tmp_path: Path, synthetic_path: Path) -> None:
    settings = {
        **fixture_settings(tmp_path, synthetic_path),
        **SMALL_MODEL_SETTINGS["mlp.yaml"],
        "trainer.max_epochs": -1,
        "trainer.max_steps": 50,
        "trainer.val_check_interval": 5,
        "early_stopping.patience": 100,
        "model.init_args.lr_patience": 0,  # every validation without improvement halves the LR
        "model.init_args.learning_rate": 0.1,
    }
    run = build([CONFIGS / "mlp.yaml", STEPS], settings)
    losses: list[float] = []

    class RecordLoss(Callback):
        def on_validation_end(self, trainer, pl_module) -> None:
            if not trainer.sanity_checking:
                losses.append(float(trainer.callback_metrics["val/loss"]))

    run.trainer.callbacks.append(RecordLoss())
    fit(run)
    assert len(losses) == 10
    best, reductions = losses[0], 0
    for loss in losses[1:]:
        if loss < best:
            best = loss
        else:
            reductions += 1
    (optimizer,) = run.trainer.optimizers
    # Lightning steps the plateau scheduler after each validation, with that validation's loss.
    assert optimizer.param_groups[0]["lr"] == 0.1 * 0.5**reductions


def test_closed_form_models_validate_once_under_the_step_preset(tmp_path: Path, synthetic_path: Path) -> None:
    settings = {**fixture_settings(tmp_path, synthetic_path), "trainer.max_epochs": -1}
    run = fit_and_test([CONFIGS / "cm_pca.yaml", STEPS], settings)
    assert run.trainer.checkpoint_callback.best_model_path  # the one validation wrote a best checkpoint
    assert "test/pearson" in run.metrics
