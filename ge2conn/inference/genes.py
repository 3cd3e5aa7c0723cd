"""The genes a trained model reads, and the values that stand in for genes a user's data lacks.

A checkpoint made by :func:`training_genes_entry` (every shipped model) carries them in its
``ge2conn_inference`` entry, so it predicts new data with nothing else at hand. For other checkpoints they
are read from the dataset the checkpoint was trained on (its datamodule arguments: ``dataset``,
``gene_list``, ``structures``), which must then be built on this machine.

Missing-gene policy: a model gene absent from the user's table is filled with its **training mean** (the mean
of that gene over the regions of the training dataset), a value that carries no regional contrast. Up to
:data:`DEFAULT_MAX_MISSING_FRACTION` of the model's genes may be filled; more is an error, because the model
would then mostly see constants (use a model trained on genes you have: ``ge2conn models list``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ge2conn.data.catalog import resolve_dataset
from ge2conn.data.errors import DatasetError
from ge2conn.data.format import STRUCTURES, BrainDataset
from ge2conn.data.region_table import read_gene_list

DEFAULT_MAX_MISSING_FRACTION = 0.05
"""Largest share of a model's genes that may be missing from the input and filled with training means."""
FILL_POLICY = "training mean"
"""How missing genes are filled (recorded in every prediction's gene-matching report)."""


@dataclass(frozen=True)
class TrainingGenes:
    """The genes a model reads, in its order, with one fill value per gene.

    Attributes:
        symbols: (G,) gene symbols in the model's (reference TSS) order.
        fill_values: (G,) float32 training mean of each gene.
        dataset: Name of the training dataset.
        source: Where this was read from (the checkpoint, or a dataset file).
    """

    symbols: np.ndarray
    fill_values: np.ndarray
    dataset: str
    source: str


def training_genes_entry(
    dataset: str | Path, gene_list: str | None = None, structures: list[str] | None = None
) -> dict[str, Any]:
    """The ``ge2conn_inference`` checkpoint entry for a model trained on these datamodule arguments.

    Args:
        dataset: Dataset name or ``.h5`` path.
        gene_list: Gene list file the model was restricted to (the datamodule's ``gene_list``).
        structures: Structures the model was restricted to (the datamodule's ``structures``).

    Returns:
        Plain data (lists, str, int): loadable with ``torch.load(weights_only=True)``.
    """
    genes = _genes_of_dataset(dataset, gene_list, structures)
    return {
        "format_version": 1,
        "gene_symbols": genes.symbols.tolist(),
        "fill_values": [float(value) for value in genes.fill_values],
        "fill_policy": FILL_POLICY,
        "dataset": genes.dataset,
    }


def training_genes(
    entries: dict[str, Any], datamodule_hparams: dict[str, Any], checkpoint: str | Path, num_genes: int
) -> TrainingGenes:
    """The genes of a loaded checkpoint: from its ``ge2conn_inference`` entry, else from its training dataset.

    Args:
        entries: The checkpoint's ge2conn entries (``LoadedCheckpoint.entries``).
        datamodule_hparams: The checkpoint's datamodule arguments.
        checkpoint: The checkpoint path (for messages).
        num_genes: Number of genes the model reads (checked against what is found).

    Returns:
        The genes.

    Raises:
        DatasetError: when the checkpoint records neither its genes nor a dataset built here, or the number
            of genes found differs from the model's.
    """
    entry = entries.get("ge2conn_inference")
    if entry is not None:
        genes = TrainingGenes(
            np.asarray(entry["gene_symbols"], dtype=str),
            np.asarray(entry["fill_values"], dtype=np.float32),
            str(entry.get("dataset", "")),
            f"{checkpoint} (ge2conn_inference)",
        )
    else:
        dataset = datamodule_hparams.get("dataset")
        if not dataset:
            raise DatasetError(
                checkpoint,
                "datamodule_hyper_parameters/dataset",
                "the checkpoint records neither its genes nor the dataset it was trained on",
                "use a checkpoint written by `ge2conn fit` or one of `ge2conn models list`",
            )
        genes = _genes_of_dataset(
            dataset, datamodule_hparams.get("gene_list"), datamodule_hparams.get("structures")
        )
    if genes.symbols.size != num_genes:
        raise DatasetError(
            genes.source,
            "genes/symbol",
            f"{genes.symbols.size} genes, but the model in {checkpoint} reads {num_genes}",
            "pass the dataset and gene list the checkpoint was trained with",
        )
    return genes


def _genes_of_dataset(
    dataset: str | Path, gene_list: str | None, structures: list[str] | None
) -> TrainingGenes:
    path = resolve_dataset(dataset)
    brain = BrainDataset.load(path, individual=False)
    if structures:
        unknown = sorted(set(structures) - set(STRUCTURES))
        if unknown:
            raise DatasetError(
                path, "structures", f"unknown structures {unknown}", f"use some of {STRUCTURES}"
            )
        brain = brain.select_regions(np.flatnonzero(np.isin(brain.structure, structures)))
    if gene_list is not None:
        if not Path(gene_list).is_file():
            raise DatasetError(
                gene_list,
                "<file>",
                "the gene list the checkpoint was trained with is not on this machine",
                "pass a checkpoint that records its genes (e.g. one of `ge2conn models list`)",
            )
        brain = brain.select_genes(read_gene_list(gene_list, brain.gene_symbols, path))
    fill = np.nanmean(brain.expression, axis=0).astype(np.float32)
    return TrainingGenes(brain.gene_symbols.astype(str), fill, brain.name, str(path))
