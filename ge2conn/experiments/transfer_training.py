"""Training and evaluation steps of the transfer analysis (:mod:`ge2conn.experiments.transfer`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ge2conn import api
from ge2conn.experiments.transfer_data import TargetConnectome
from ge2conn.metrics import geodesic_distance, mean_squared_error, pearson_r
from ge2conn.models.base import EdgeRegressionTask


def train_whole_brain(
    config_files: list[str | Path],
    settings: dict[str, Any],
    dataset: Path,
    gene_list: Path,
    null_rank: int | None,
    root: Path,
    val_fraction: float,
    seed: int,
) -> tuple[EdgeRegressionTask, dict[str, float]]:
    """Train one model on all regions of a dataset but a validation subset, restricted to a gene list.

    The run is built by :func:`ge2conn.api.build` from the same YAML files as ``ge2conn fit``, with the
    datamodule's ``whole_brain`` option (so the model's coordinate statistics come from that split).

    Args:
        config_files: ``ge2conn fit`` YAML files.
        settings: Values by dotted key (``{"trainer.max_epochs": 20}``), applied over the files.
        dataset: Source dataset file.
        gene_list: Gene list file (shared genes).
        null_rank: Train on the null brain of this rank (None: the true brain).
        root: The run's folder (logs, checkpoints).
        val_fraction: Share of regions held out for validation.
        seed: Seed of the validation draw and of the run (``settings`` may set ``seed_everything`` or
            ``data.seed`` apart).

    Returns:
        The trained task (best-on-validation weights, eval mode, CPU) and training facts.
    """
    run_settings: dict[str, Any] = {"seed_everything": seed, "data.seed": seed,
                                    "data.val_fraction": val_fraction}
    run_settings.update(settings)
    run_settings.update({
        "data.dataset": str(dataset),
        "data.gene_list": str(gene_list),
        "data.whole_brain": True,
        "data.null_rank": null_rank,
        "trainer.default_root_dir": str(root),
    })
    run = api.build(config_files, run_settings)
    facts = api.fit(run)
    facts.update(train_regions=float(run.datamodule.split.train.size),
                 val_regions=float(run.datamodule.split.val.size))
    return run.task.cpu().eval(), facts


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
