"""Turn a configuration into a fitted, tested and predicting model: the functions behind every caller.

``ge2conn fit|test|predict`` (through :class:`~ge2conn.api.lightning_cli.Ge2connCLI`), the experiment
runner, the transfer analysis and the demo all build their objects here, from the same YAML files and the
same links, and none of them writes command-line strings.

Example::

    run = build(["configs/smt_cls.yaml"], {"data.dataset": "dk82", "trainer.max_epochs": 5})
    fit(run)
    metrics = test(run)
    connectome = predict(run)  # (R, R) numpy array, NaN diagonal
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from jsonargparse import Namespace
from lightning.pytorch import Callback, Trainer
from lightning.pytorch.callbacks import EarlyStopping

from ge2conn.api.lightning_cli import CHECKPOINT_DEFAULTS, EARLY_STOPPING_DEFAULTS, ConfigRequest, Ge2connCLI
from ge2conn.callbacks import RestoreBestWeights, StableCheckpoint
from ge2conn.callbacks.console import quiet_console
from ge2conn.callbacks.edge_predictions import TestPredictions
from ge2conn.callbacks.run_state import RunState
from ge2conn.data.datamodule import EdgePairDataModule
from ge2conn.models.base import LINKED_DATA_FIELDS, EdgeRegressionTask
from ge2conn.utils.warnings_policy import quiet_known_warnings

ConfigSource = str | Path | Mapping[str, Any]
"""A YAML file, or a mapping with the same layout (``{"model": {...}, "data": {...}, "trainer": {...}}``)."""
TaskType = TypeVar("TaskType", bound=EdgeRegressionTask)


@dataclass
class Run:
    """The objects of one run.

    Attributes:
        task: The model (a ``*Task``).
        datamodule: The dataset split into region-pair batches.
        trainer: The Lightning trainer (with ge2conn's checkpoint, early-stopping and best-weight callbacks
            when made by :func:`build` or :func:`build_trainer`).
        config: The parsed configuration (None when the objects were made in Python).
    """

    task: EdgeRegressionTask
    datamodule: EdgePairDataModule
    trainer: Trainer
    config: Namespace | None = None


@dataclass
class RunResult:
    """What :func:`fit_and_test` produced.

    Attributes:
        metrics: Test metrics (``test/...``; none when ``test=False``) plus ``best_val_loss``, ``epochs``
            and ``wall_time_s``.
        run: The run, its task holding the best-on-validation weights.
        predictions: Test-edge predictions ``rows``, ``cols``, ``prediction``, ``target``
            (empty without test).
    """

    metrics: dict[str, float]
    run: Run
    predictions: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def task(self) -> EdgeRegressionTask:
        """The trained task."""
        return self.run.task

    @property
    def datamodule(self) -> EdgePairDataModule:
        """The run's datamodule."""
        return self.run.datamodule

    @property
    def trainer(self) -> Trainer:
        """The run's trainer."""
        return self.run.trainer


def nest_settings(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """Turn dotted keys into nested mappings: ``{"data.fold": 2}`` -> ``{"data": {"fold": 2}}``.

    Args:
        settings: Values by dotted key (``"model.init_args.dropout"``) or already nested; both may mix.

    Returns:
        The nested mapping (later keys win where two set the same value).

    Raises:
        ValueError: When a key sets a value and a section at once (``"data"`` and ``"data.fold"``).
    """
    nested: dict[str, Any] = {}
    for key, value in (settings or {}).items():
        parts = str(key).split(".")
        node = nested
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"setting {key!r} goes inside {part!r}, which another setting gives a value")
            node = child
        if isinstance(value, Mapping) and "class_path" not in value:
            existing = node.setdefault(parts[-1], {})
            if not isinstance(existing, dict):
                raise ValueError(f"setting {key!r} is a section, but another setting gives it a value")
            existing.update(nest_settings(value))
        else:
            node[parts[-1]] = value
    return nested


def build(configs: ConfigSource | Sequence[ConfigSource] = (),
          settings: Mapping[str, Any] | None = None) -> Run:
    """Instantiate task, datamodule and trainer from config files and settings, as ``ge2conn fit`` would.

    Args:
        configs: YAML files (or mappings) applied in order, files first; later ones override earlier ones.
        settings: Values applied last, by dotted key or nested: ``{"data.fold": 2, "trainer.max_epochs": 5,
            "model.init_args.dropout": 0.1}``.

    Returns:
        The run's objects (nothing is fitted yet).
    """
    sources = [configs] if isinstance(configs, str | Path | Mapping) else list(configs)
    request = ConfigRequest(configs=tuple(sources), settings=nest_settings(settings))
    with quiet_known_warnings():
        cli = Ge2connCLI(args=request, run=False)
    return Run(task=cli.model, datamodule=cli.datamodule, trainer=cli.trainer, config=cli.config)


def build_task(task_class: type[TaskType], datamodule: EdgePairDataModule,
               **hyperparameters: Any) -> TaskType:
    """Instantiate a task with the dataset facts of a datamodule filled in (the CLI's links, from Python).

    Args:
        task_class: A ``*Task`` class, e.g. :class:`~ge2conn.models.SMTTask`.
        datamodule: The datamodule whose ``num_genes`` and coordinate statistics the task needs.
        **hyperparameters: The task's other arguments.

    Returns:
        The task.
    """
    linked = {name: getattr(datamodule, name) for name in LINKED_DATA_FIELDS}
    return task_class(**linked, **hyperparameters)


def build_trainer(**trainer_arguments: Any) -> Trainer:
    """A trainer with the callbacks of ``ge2conn fit``: checkpoints, early stopping, best weights, run state.

    Args:
        **trainer_arguments: Arguments of :class:`lightning.pytorch.Trainer` (``max_epochs``,
            ``default_root_dir``, ``accelerator``, ...). Extra ``callbacks`` are added after the defaults.

    Returns:
        The trainer.
    """
    root = trainer_arguments.get("default_root_dir") or os.getcwd()
    callbacks = [
        StableCheckpoint(dirpath=os.path.join(str(root), "checkpoints"), **CHECKPOINT_DEFAULTS),
        EarlyStopping(**EARLY_STOPPING_DEFAULTS),
        RestoreBestWeights(),
        RunState(),
        *trainer_arguments.pop("callbacks", []),
    ]
    with quiet_known_warnings():
        return Trainer(**quiet_console({**trainer_arguments, "callbacks": callbacks}))


def fit(run: Run) -> dict[str, float]:
    """Fit the task; its best-on-validation weights are restored at the end.

    Args:
        run: The run.

    Returns:
        ``best_val_loss`` (NaN when nothing was validated), ``epochs`` and ``wall_time_s``.
    """
    start = time.perf_counter()
    with quiet_known_warnings():
        run.trainer.fit(run.task, datamodule=run.datamodule)
    checkpoint = run.trainer.checkpoint_callback
    best_score = getattr(checkpoint, "best_model_score", None) if checkpoint is not None else None
    return {
        "best_val_loss": float(best_score) if best_score is not None else float("nan"),
        "epochs": float(run.trainer.current_epoch),
        "wall_time_s": time.perf_counter() - start,
    }


def test(run: Run) -> dict[str, float]:
    """Evaluate the task (as it is now) on the test edges of the run's split.

    Args:
        run: The run.

    Returns:
        The test metrics (``test/pearson``, ``test/mse``, ...).
    """
    with quiet_known_warnings():
        results = run.trainer.test(run.task, datamodule=run.datamodule, verbose=False)
    return {name: float(value) for name, value in results[0].items()} if results else {}


def predict(run: Run) -> np.ndarray:
    """Predict every pair of the datamodule's regions.

    Args:
        run: The run.

    Returns:
        The (R, R) predicted connectome (float32, symmetric, NaN diagonal), regions in the datamodule's order
        (``run.datamodule.region_metadata.labels``).
    """
    with quiet_known_warnings():
        outputs = run.trainer.predict(run.task, datamodule=run.datamodule) or []
    size = run.datamodule.num_regions
    matrix = np.full((size, size), np.nan, dtype=np.float32)
    for output in outputs:
        if isinstance(output, dict):
            rows, cols = output["rows"].cpu().numpy(), output["cols"].cpu().numpy()
            values = output["prediction"].float().cpu().numpy()
            matrix[rows, cols] = values
            matrix[cols, rows] = values
    return matrix


def fit_and_test(configs: ConfigSource | Sequence[ConfigSource], settings: Mapping[str, Any] | None = None,
                 test: bool = True) -> RunResult:
    """Build a run, fit it (best-on-validation weights restored) and evaluate it on the test edges.

    Args:
        configs: YAML files or mappings (model, data, trainer presets).
        settings: Values applied last, e.g. ``{"data.fold": 2}`` (see :func:`build`).
        test: Evaluate on the test edges after fitting (False: only fit, e.g. a tuning candidate).

    Returns:
        The run's metrics, objects and test predictions.
    """
    start = time.perf_counter()
    run = build(configs, settings)
    facts = fit(run)
    metrics: dict[str, float] = {}
    predictions: dict[str, np.ndarray] = {}
    if test:
        collector = TestPredictions()
        # Trainer.callbacks is public but undeclared in Lightning's type stubs.
        callbacks: list[Callback] = getattr(run.trainer, "callbacks", [])
        callbacks.append(collector)
        metrics.update(_test_metrics(run))
        callbacks.remove(collector)
        predictions = collector.arrays
    metrics.update(facts)
    metrics["wall_time_s"] = time.perf_counter() - start
    return RunResult(metrics=metrics, run=run, predictions=predictions)


def _test_metrics(run: Run) -> dict[str, float]:
    return test(run)
