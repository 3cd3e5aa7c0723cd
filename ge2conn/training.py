"""Fit and test one model in-process through the same CLI path as ``ge2conn fit`` / ``ge2conn test``.

The demo, the experiment runner and the transfer analysis all call :func:`fit_and_test`, so every run is
configured by the same YAML files and ``--section.key=value`` overrides that users type.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lightning.pytorch import LightningDataModule, Trainer

from ge2conn.main import Ge2connCLI
from ge2conn.models.base import EdgeRegressionTask

QUIET_WARNINGS = (
    ".*does not have many workers.*",
    ".*has `__len__` defined.*",
    ".*isinstance\\(treespec, LeafSpec\\).*",
    ".*log_every_n_steps.*",
    ".*args parameter is intended to run from within Python.*",
)


@dataclass
class RunResult:
    """What one fit + test produced.

    Attributes:
        metrics: Test metrics (``test/...``) plus ``best_val_loss``, ``best_epoch``, ``epochs`` and
            ``wall_time_s``.
        task: The trained task with its best-on-validation weights restored.
        datamodule: The datamodule (split, region metadata, tensors).
        trainer: The trainer.
    """

    metrics: dict[str, float]
    task: EdgeRegressionTask
    datamodule: LightningDataModule
    trainer: Trainer
    extra: dict[str, Any] = field(default_factory=dict)


def build_cli(config_files: list[str | Path], overrides: list[str]) -> Ge2connCLI:
    """Instantiate model, datamodule and trainer from config files and overrides, without running.

    Args:
        config_files: YAML files, applied in order (later ones override earlier ones).
        overrides: Command-line style overrides such as ``"--trainer.max_epochs=5"``.

    Returns:
        The CLI object with ``model``, ``datamodule`` and ``trainer`` built.
    """
    arguments: list[str] = []
    for config in config_files:
        arguments += ["--config", str(config)]
    with warnings.catch_warnings():
        for pattern in QUIET_WARNINGS:
            warnings.filterwarnings("ignore", pattern)
        return Ge2connCLI(args=arguments + list(overrides), run=False)


def fit_and_test(config_files: list[str | Path], overrides: list[str], test: bool = True) -> RunResult:
    """Fit a model (best-on-validation weights restored) and evaluate it on the outer test edges.

    Args:
        config_files: YAML files (model, data, trainer presets).
        overrides: Command-line style overrides, e.g. ``["--data.fold=2"]``.
        test: Evaluate on the test edges after fitting (False: validation metrics only).

    Returns:
        The run's metrics and objects.
    """
    start = time.perf_counter()
    cli = build_cli(config_files, overrides)
    with warnings.catch_warnings():
        for pattern in QUIET_WARNINGS:
            warnings.filterwarnings("ignore", pattern)
        cli.trainer.fit(cli.model, datamodule=cli.datamodule)
        metrics: dict[str, float] = {}
        if test:
            results = cli.trainer.test(cli.model, datamodule=cli.datamodule, verbose=False)
            metrics.update({name: float(value) for name, value in results[0].items()})
    best = cli.trainer.checkpoint_callback
    best_score = getattr(best, "best_model_score", None) if best is not None else None
    metrics["best_val_loss"] = float(best_score) if best_score is not None else float("nan")
    metrics["epochs"] = float(cli.trainer.current_epoch)
    metrics["wall_time_s"] = time.perf_counter() - start
    return RunResult(metrics=metrics, task=cli.model, datamodule=cli.datamodule, trainer=cli.trainer)
