"""Training and evaluation steps of the transfer analysis (:mod:`ge2conn.experiments.transfer`)."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import torch

from ge2conn.experiments.transfer_data import TargetConnectome, WholeBrainDataModule
from ge2conn.metrics import geodesic_distance, mean_squared_error, pearson_r
from ge2conn.models.base import EdgeRegressionTask
from ge2conn.training import QUIET_WARNINGS, build_cli


def train_whole_brain(
    config_files: list[str | Path],
    overrides: list[str],
    dataset: Path,
    gene_list: Path,
    null_rank: int | None,
    root: Path,
    val_fraction: float,
    seed: int,
) -> tuple[EdgeRegressionTask, dict[str, float]]:
    """Train one model on all regions of a dataset but a validation subset, restricted to a gene list.

    The model and trainer come from the same YAML files and overrides as ``ge2conn fit``; only the
    datamodule's split is replaced (:class:`WholeBrainDataModule`) and the model is rebuilt with that
    split's coordinate statistics.

    Args:
        config_files: ``ge2conn fit`` YAML files.
        overrides: ``--section.key=value`` overrides.
        dataset: Source dataset file.
        gene_list: Gene list file (shared genes).
        null_rank: Train on the null brain of this rank (None: the true brain).
        root: The run's folder (logs, checkpoints).
        val_fraction: Share of regions held out for validation.
        seed: Seed of the validation draw (and of the run, unless the configs set ``seed_everything``).

    Returns:
        The trained task (best-on-validation weights, eval mode, CPU) and training facts.
    """
    start = time.perf_counter()
    data_overrides = [
        f"--data.dataset={dataset}",
        f"--data.gene_list={gene_list}",
        f"--trainer.default_root_dir={root}",
    ]
    if null_rank is not None:
        data_overrides.append(f"--data.null_rank={null_rank}")
    with warnings.catch_warnings():
        # The arguments are ours, not sys.argv: LightningCLI's warning about having both does not apply.
        warnings.filterwarnings("ignore", ".*args parameter is intended to run from within Python.*")
        cli = build_cli(config_files, [f"--seed_everything={seed}", *overrides, *data_overrides])
    datamodule = WholeBrainDataModule.from_arguments(dict(cli.datamodule.hparams), val_fraction, seed)
    hparams = {key: value for key, value in cli.model.hparams.items() if not key.startswith("_")}
    hparams.update(
        num_regions=datamodule.num_regions,
        coordinate_mean=datamodule.coordinate_mean,
        coordinate_std=datamodule.coordinate_std,
    )
    task = type(cli.model)(**hparams)
    with warnings.catch_warnings():
        for pattern in QUIET_WARNINGS:
            warnings.filterwarnings("ignore", pattern)
        cli.trainer.fit(task, datamodule=datamodule)
    callback = cli.trainer.checkpoint_callback
    best = getattr(callback, "best_model_score", None) if callback is not None else None
    facts = {
        "best_val_loss": float(best) if best is not None else float("nan"),
        "epochs": float(cli.trainer.current_epoch),
        "train_regions": float(datamodule.split.train.size),
        "val_regions": float(datamodule.split.val.size),
        "wall_time_s": time.perf_counter() - start,
    }
    return task.cpu().eval(), facts


def evaluate_on_target(
    task: EdgeRegressionTask, target: TargetConnectome, batch_size: int = 8192
) -> tuple[dict[str, float], np.ndarray]:
    """Predict every edge i < j of the target and score it against the target's FC.

    Args:
        task: A trained task (its network is used in eval mode).
        target: The target restricted to the model's genes.
        batch_size: Edges per forward pass.

    Returns:
        ``{"pearson", "mse", "geodesic"}`` and the (R, R) predicted matrix (NaN diagonal).
    """
    expression = torch.from_numpy(target.expression)
    coordinates = torch.from_numpy(target.coordinates)
    count = target.labels.size
    rows, cols = (torch.from_numpy(index) for index in np.triu_indices(count, k=1))
    network = task.network.eval()
    with torch.no_grad():
        prediction = torch.cat(
            [
                network.predict_symmetric(
                    expression,
                    coordinates,
                    rows[start : start + batch_size],
                    cols[start : start + batch_size],
                ).float()
                for start in range(0, rows.numel(), batch_size)
            ]
        )
    truth = torch.from_numpy(target.connectivity)[rows, cols]
    metrics = {
        "pearson": float(pearson_r(prediction, truth)),
        "mse": float(mean_squared_error(prediction, truth)),
        "geodesic": float(geodesic_distance(prediction.double(), truth.double(), rows, cols)),
    }
    matrix = np.full((count, count), np.nan, dtype=np.float32)
    matrix[rows.numpy(), cols.numpy()] = prediction.numpy()
    matrix[cols.numpy(), rows.numpy()] = prediction.numpy()
    return metrics, matrix
