"""Fixtures for the inference tests: a small MLP+coords checkpoint on the synthetic dataset."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from ge2conn.data.format import BrainDataset
from ge2conn.inference import training_genes_entry
from ge2conn.models import MLPTask


def random_mlp(num_genes: int, seed: int = 0) -> MLPTask:
    """An MLP+coords task with random weights everywhere (fresh decoders predict a constant)."""
    torch.manual_seed(seed)
    task = MLPTask(
        num_genes=num_genes,
        inputs="expression+coordinates",
        hidden_sizes=[16, 8],
        coordinate_mean=[1.0, -2.0, 3.0],
        coordinate_std=[30.0, 40.0, 20.0],
    )
    with torch.no_grad():
        for name, parameter in task.named_parameters():
            if "weight" in name or "bias" in name:
                parameter.normal_(0.0, 0.3)
    return task.eval()


@pytest.fixture(scope="session")
def synthetic(synthetic_path: Path) -> BrainDataset:
    """The synthetic dataset (24 regions × 120 genes)."""
    return BrainDataset.load(synthetic_path, individual=False)


@pytest.fixture(scope="session")
def mlp_checkpoint(tmp_path_factory: pytest.TempPathFactory, synthetic_path: Path) -> Path:
    """A checkpoint of a random MLP+coords on the synthetic genes, recording its genes."""
    task = random_mlp(120)
    hyper_parameters = {**dict(task.hparams), "_class_path": "ge2conn.models.MLPTask"}
    path = tmp_path_factory.mktemp("inference") / "synthetic_mlp.ckpt"
    torch.save(
        {
            "state_dict": task.state_dict(),
            "hyper_parameters": hyper_parameters,
            "datamodule_hyper_parameters": {"dataset": str(synthetic_path)},
            "ge2conn_inference": training_genes_entry(synthetic_path),
        },
        path,
    )
    return path


@pytest.fixture
def synthetic_tables(synthetic: BrainDataset) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Expression and coordinates of the synthetic dataset as labelled tables."""
    labels = pd.Index(synthetic.region_labels.astype(str), name="label")
    expression = pd.DataFrame(synthetic.expression, index=labels, columns=synthetic.gene_symbols.astype(str))
    coordinates = pd.DataFrame(synthetic.centroids, index=labels, columns=["x", "y", "z"])
    return expression, coordinates
