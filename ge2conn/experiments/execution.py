"""Worker side of the runner: tune, fit and test the runs of one outer split, and write their folders.

Everything here runs inside a worker process (or in the main process when there is one worker) and goes
through :func:`ge2conn.api.fit_and_test`: the same configuration files, links and callbacks as
``ge2conn fit``, given as objects.
"""

from __future__ import annotations

import logging
import math
import os
import platform
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ge2conn import api
from ge2conn.experiments.config import ExperimentConfig
from ge2conn.experiments.grid import (
    OuterSplit,
    null_rank,
    run_folder,
    run_seed,
    sample_hyperparameters,
    split_index,
    tuning_folder,
)
from ge2conn.experiments.storage import (
    ERROR_FILE,
    METRICS_FILE,
    PREDICTIONS_FILE,
    clean_partial,
    is_finished,
    read_json,
    remove_checkpoints,
    write_json,
    write_predictions,
)

SELECTION_FILE = "selection.json"
CANDIDATE_FILE = "candidate.json"


@dataclass(frozen=True)
class CellJob:
    """Everything a worker needs to run one outer split (picklable for the 'spawn' start method).

    Attributes:
        config: The experiment.
        cell: The outer split.
        nulls_paths: Nulls file of each dataset label that has null runs.
        git_commit: Commit recorded in every ``metrics.json``.
    """

    config: ExperimentConfig
    cell: OuterSplit
    nulls_paths: dict[str, str] = field(default_factory=dict)
    git_commit: str = "unknown"


@dataclass(frozen=True)
class RunOutcome:
    """What happened to one run: ``finished``, ``skipped`` (finished before) or ``failed``.

    Attributes:
        folder: The run folder.
        status: ``finished``, ``skipped`` or ``failed``.
        wall_time_s: Seconds spent (0 when skipped).
        error: One-line error message of a failed run.
    """

    folder: str
    status: str
    wall_time_s: float = 0.0
    error: str = ""


def quiet_lightning() -> None:
    """Silence Lightning's per-run info lines (GPU available, seed set, ...), which drown the progress bar."""
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)


def run_settings(job: CellJob, variant: str, folder: Path,
                 hyperparameters: dict[str, Any]) -> tuple[list[Path], dict[str, Any]]:
    """Config files and settings of one fit (a run, or a tuning candidate when ``variant == "tuning"``).

    Args:
        job: The cell's job.
        variant: ``true``, ``null`` or ``tuning`` (a tuning candidate uses the true expression).
        folder: The fit's ``trainer.default_root_dir``.
        hyperparameters: Selected or candidate hyperparameters ``{dotted key: value}``.

    Returns:
        ``(config_files, settings)`` for :func:`ge2conn.api.fit_and_test`, settings by dotted key.
    """
    config, cell = job.config, job.cell
    model = config.model(cell.model)
    dataset = next(spec for spec in config.datasets if spec.label == cell.dataset)
    settings: dict[str, Any] = {
        "data.dataset": dataset.dataset,
        "data.split": cell.split,
        "data.split_round": cell.split_round,
        "data.fold": cell.fold,
        "data.num_folds": config.num_folds,
        "data.val_fraction": config.val_fraction,
        "data.seed": config.seed,
        "seed_everything": run_seed(config, cell),
        "trainer.default_root_dir": str(folder),
        "trainer.enable_progress_bar": False,
        "trainer.enable_model_summary": False,
    }
    if dataset.structures:
        settings["data.structures"] = list(dataset.structures)
    if variant == "null":
        settings["data.null_rank"] = null_rank(config, cell)
        settings["data.nulls_path"] = job.nulls_paths[cell.dataset]
    if config.logger == "false":
        settings["trainer.logger"] = False
    else:
        logger_class = "CSVLogger" if config.logger == "csv" else "TensorBoardLogger"
        settings["trainer.logger"] = {"class_path": f"lightning.pytorch.loggers.{logger_class}",
                                      "init_args": {"save_dir": str(folder), "name": "logs"}}
    if config.devices == "gpu":
        settings.update({"trainer.accelerator": "gpu", "trainer.devices": 1})
    if model.epochs is not None:
        settings["trainer.max_epochs"] = model.epochs
    settings.update(config.settings)
    settings.update(model.settings)
    settings.update(hyperparameters)
    return [model.config, *config.trainer_configs], settings


def select_hyperparameters(job: CellJob) -> dict[str, Any]:
    """Nested tuning: fit each candidate on the inner split, keep the lowest validation loss.

    Candidates see only training and validation regions (``test=False``); the outer test fold is first
    touched by the final run. Each candidate's result and the selection are saved in the cell's tuning
    folder, so a resumed experiment neither refits candidates nor re-selects.

    Args:
        job: The cell's job.

    Returns:
        The selected hyperparameters (``{}`` means the model config's defaults).
    """
    config, cell = job.config, job.cell
    candidates = sample_hyperparameters(config, config.model(cell.model), cell)
    if len(candidates) == 1:
        return candidates[0]
    folder = tuning_folder(config, cell)
    saved = read_json(folder / SELECTION_FILE)
    if saved is not None and "selected" in saved:
        return dict(saved["selected"])
    losses: list[float] = []
    for index, candidate in enumerate(candidates):
        candidate_folder = folder / f"candidate{index}"
        record = read_json(candidate_folder / CANDIDATE_FILE)
        if record is None or record.get("hyperparameters") != candidate:
            files, settings = run_settings(job, "tuning", candidate_folder, candidate)
            result = api.fit_and_test(files, settings, test=False)
            record = {"hyperparameters": candidate, "best_val_loss": result.metrics["best_val_loss"],
                      "epochs": result.metrics["epochs"], "wall_time_s": result.metrics["wall_time_s"]}
            remove_checkpoints(candidate_folder)
            write_json(candidate_folder / CANDIDATE_FILE, record)
        loss = record.get("best_val_loss")
        losses.append(float(loss) if loss is not None and math.isfinite(float(loss)) else math.inf)
    best = int(np.argmin(losses))
    write_json(folder / SELECTION_FILE, {"selected": candidates[best], "candidate": best,
                                         "candidates": candidates, "best_val_loss": losses})
    return candidates[best]


def execute_run(job: CellJob, variant: str, hyperparameters: dict[str, Any]) -> float:
    """Fit and test one run, then write its predictions and (last) its ``metrics.json``.

    Args:
        job: The cell's job.
        variant: ``true`` or ``null``.
        hyperparameters: The cell's selected hyperparameters.

    Returns:
        The run's wall time in seconds.
    """
    config, cell = job.config, job.cell
    folder = run_folder(config, cell, variant)
    clean_partial(folder)
    files, settings = run_settings(job, variant, folder, hyperparameters)
    cpu_start = time.process_time()
    result = api.fit_and_test(files, settings, test=True)
    cpu_time = time.process_time() - cpu_start
    if result.predictions:
        write_predictions(folder / PREDICTIONS_FILE, result.predictions)
    if not config.keep_checkpoints:
        remove_checkpoints(folder)
    metrics = dict(result.metrics)
    summary = {name: metrics.pop(name) for name in ("best_val_loss", "epochs", "wall_time_s")}
    model = config.model(cell.model)
    write_json(folder / METRICS_FILE, {
        "experiment": config.name,
        "dataset": cell.dataset,
        "model": cell.model,
        "model_name": model.name,
        "split": cell.split,
        "round": cell.split_round,
        "fold": cell.fold,
        "variant": variant,
        "split_index": split_index(config, cell),
        "null_rank": null_rank(config, cell) if variant == "null" else None,
        "seed": run_seed(config, cell),
        "split_seed": config.seed,
        **summary,
        "cpu_time_s": cpu_time,
        "num_parameters": sum(parameter.numel() for parameter in result.task.parameters()),
        # How many regions/edges chose the best epoch (ge2conn.data.validation): few means a noisy choice.
        "validation": {"regions": int(len(result.datamodule.split.val)),
                       "edges": int(result.datamodule.val_edges.shape[0])},
        "metrics": metrics,
        "hyperparameters": hyperparameters,
        "model_hparams": {key: value for key, value in dict(result.task.hparams).items()
                          if key not in ("coordinate_mean", "coordinate_std")},
        "config": {"config_files": [str(path) for path in files], "settings": settings,
                   "experiment": config.raw, "experiment_file": str(config.source or "")},
        "git_commit": job.git_commit,
        "host": platform.node(),
        "torch_threads": torch.get_num_threads(),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    })
    return float(summary["wall_time_s"])


def _record_failure(job: CellJob, variant: str, error: BaseException, seconds: float) -> str:
    folder = run_folder(job.config, job.cell, variant)
    message = f"{type(error).__name__}: {error}".strip()
    write_json(folder / ERROR_FILE, {
        "model": job.cell.model, "dataset": job.cell.dataset, "split": job.cell.split,
        "round": job.cell.split_round, "fold": job.cell.fold, "variant": variant,
        "error": message, "traceback": traceback.format_exc(), "wall_time_s": seconds,
        "git_commit": job.git_commit, "failed_at": datetime.now(UTC).isoformat(timespec="seconds"),
    })
    return message.splitlines()[0] if message else type(error).__name__


def execute_cell(job: CellJob, report: Callable[[RunOutcome], None] | None = None) -> list[RunOutcome]:
    """Run the unfinished runs of one outer split: tune once (true data), then each variant.

    A failure is written to the run's ``error.json`` and does not stop the other runs; a tuning failure
    fails every pending run of the cell.

    Args:
        job: The cell's job.
        report: Called with each run's outcome as soon as it is known (in-process execution).

    Returns:
        The outcomes, one per variant.
    """
    quiet_lightning()
    outcomes: list[RunOutcome] = []
    pending = [variant for variant in job.cell.variants
               if not is_finished(run_folder(job.config, job.cell, variant))]
    hyperparameters: dict[str, Any] | None = None
    tuning_error: BaseException | None = None
    for variant in job.cell.variants:
        folder = run_folder(job.config, job.cell, variant)
        if variant not in pending:
            outcome = RunOutcome(str(folder), "skipped")
        else:
            start = time.perf_counter()
            try:
                if hyperparameters is None and tuning_error is None:
                    try:
                        hyperparameters = select_hyperparameters(job)
                    except Exception as error:  # noqa: BLE001  (recorded in every pending run's error.json)
                        tuning_error = error
                if tuning_error is not None:
                    raise RuntimeError(f"hyperparameter tuning failed: {tuning_error}") from tuning_error
                assert hyperparameters is not None
                outcome = RunOutcome(str(folder), "finished", execute_run(job, variant, hyperparameters))
            except Exception as error:  # noqa: BLE001  (one failed run must not stop the experiment)
                seconds = time.perf_counter() - start
                message = _record_failure(job, variant, error, seconds)
                outcome = RunOutcome(str(folder), "failed", seconds, message)
        outcomes.append(outcome)
        if report is not None:
            report(outcome)
    return outcomes


def initialize_worker(threads: int, devices: Any = None) -> None:
    """Process-pool initializer: torch threads per worker and, on GPU machines, this worker's device.

    Args:
        threads: ``torch.set_num_threads`` value.
        devices: A queue of GPU ids (one taken per worker), or None on CPU.
    """
    if devices is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(devices.get())
    torch.set_num_threads(max(1, threads))
    quiet_lightning()
