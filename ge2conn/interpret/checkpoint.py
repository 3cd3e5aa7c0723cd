"""Rebuild a trained task from a checkpoint, and read the regions and genes it should be explained on.

LightningCLI records the task's class in the checkpoint (``hyper_parameters["_class_path"]``). Checkpoints
written by other means (``Trainer.save_checkpoint`` on a task built in Python) lack it, so the loader then
tries every task class of :mod:`ge2conn.models` whose constructor accepts the stored hyperparameters and
keeps the one whose ``state_dict`` loads strictly.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

import ge2conn.models as task_classes
from ge2conn.data.catalog import resolve_dataset
from ge2conn.data.errors import DatasetError
from ge2conn.data.format import BrainDataset
from ge2conn.data.region_table import read_gene_list
from ge2conn.models.base import EdgeRegressionTask
from ge2conn.utils.checkpoints import read_checkpoint


class CheckpointError(ValueError):
    """A checkpoint cannot be read or matched to a ge2conn task."""


@dataclass
class LoadedCheckpoint:
    """A task rebuilt from a checkpoint, in eval mode on the CPU.

    Attributes:
        task: The task with the checkpoint's weights.
        class_name: Name of the task class.
        datamodule_hparams: The datamodule arguments the checkpoint was trained with (empty when unknown).
    """

    task: EdgeRegressionTask
    class_name: str
    datamodule_hparams: dict[str, Any]


@dataclass
class RegionData:
    """Expression, coordinates and metadata of the regions a model is explained on.

    Attributes:
        path: The dataset file.
        expression: (R, G) float32 expression, genes in reference (TSS) order.
        coordinates: (R, 3) float32 MNI centroids.
        labels: (R,) region labels.
        hemisphere: (R,) "L", "R" or "M".
        structure: (R,) structure names.
        network: (R,) network names.
        gene_symbols: (G,) gene symbols.
        gene_chromosomes: (G,) chromosome names ("" when unknown).
    """

    path: Path
    expression: np.ndarray
    coordinates: np.ndarray
    labels: np.ndarray
    hemisphere: np.ndarray
    structure: np.ndarray
    network: np.ndarray
    gene_symbols: np.ndarray
    gene_chromosomes: np.ndarray


def concrete_task_classes() -> list[type[EdgeRegressionTask]]:
    """Every non-abstract task class exported by :mod:`ge2conn.models`."""
    found = []
    for name in task_classes.__all__:
        value = getattr(task_classes, name)
        if inspect.isclass(value) and issubclass(value, EdgeRegressionTask) and not inspect.isabstract(value):
            found.append(value)
    return found


def _named_task_class(class_path: str) -> type[EdgeRegressionTask] | None:
    # Only classes that ge2conn.models exports are accepted: a checkpoint must not make us import modules.
    value = getattr(task_classes, class_path.rsplit(".", 1)[-1], None)
    if inspect.isclass(value) and issubclass(value, EdgeRegressionTask) and not inspect.isabstract(value):
        return value
    return None


def _accepts(task_class: type[EdgeRegressionTask], hparams: dict[str, Any]) -> bool:
    parameters = inspect.signature(task_class.__init__).parameters
    return set(hparams) <= set(parameters) - {"self"}


def _build(
    task_class: type[EdgeRegressionTask], hparams: dict[str, Any], state_dict: dict[str, torch.Tensor]
) -> EdgeRegressionTask:
    task = task_class(**hparams)
    task.load_state_dict(state_dict, strict=True)
    return task.eval()


def load_checkpoint(path: str | Path) -> LoadedCheckpoint:
    """Rebuild the task stored in a Lightning checkpoint (read with ``torch.load(weights_only=True)``).

    Args:
        path: The ``.ckpt`` file.

    Returns:
        The task (eval mode, CPU) and the datamodule arguments stored with it.

    Raises:
        ge2conn.utils.checkpoints.CheckpointError: when the file is missing or not a plain-data Lightning
            checkpoint.
        CheckpointError: when it matches no task class.
    """
    source = Path(path)
    checkpoint = read_checkpoint(source)  # one-line errors for missing/truncated/foreign files
    stored = dict(checkpoint.get("hyper_parameters") or {})
    class_path = stored.get("_class_path")
    hparams = {key: value for key, value in stored.items() if not key.startswith("_")}
    state_dict = checkpoint["state_dict"]
    datamodule_hparams = {
        key: value
        for key, value in dict(checkpoint.get("datamodule_hyper_parameters") or {}).items()
        if not key.startswith("_")
    }
    named = _named_task_class(str(class_path)) if class_path else None
    candidates = (
        [named] if named is not None else [cls for cls in concrete_task_classes() if _accepts(cls, hparams)]
    )
    failures: list[str] = []
    for task_class in candidates:
        try:
            task = _build(task_class, hparams, state_dict)
        except (RuntimeError, TypeError, ValueError) as error:
            failures.append(f"{task_class.__name__}: {str(error).splitlines()[0]}")
            continue
        return LoadedCheckpoint(task, task_class.__name__, datamodule_hparams)
    detail = "; ".join(failures) if failures else "no task class accepts its hyperparameters"
    raise CheckpointError(f"{source}: matches no ge2conn task class ({detail})")


def load_regions(
    dataset: str | Path, gene_list: str | None = None, structures: list[str] | None = None
) -> RegionData:
    """Read the regions (with expression) and genes that the datamodule would serve for these arguments.

    Args:
        dataset: Dataset name or ``.h5`` path.
        gene_list: Optional gene list file (keeps only those genes, as the datamodule's ``gene_list``).
        structures: Keep only regions of these structures (as the datamodule's ``structures``).

    Returns:
        The regions, in the datamodule's order.
    """
    path = resolve_dataset(dataset)
    brain = BrainDataset.load(path, individual=False)
    if structures:
        brain = brain.select_regions(np.flatnonzero(np.isin(brain.structure, structures)))
        if brain.num_regions == 0:
            raise DatasetError(
                path,
                "regions/structure",
                f"no region among structures {structures}",
                "choose structures present in the dataset",
            )
    if gene_list is not None:
        brain = brain.select_genes(read_gene_list(gene_list, brain.gene_symbols, path))
    return RegionData(
        path=path,
        expression=np.ascontiguousarray(brain.expression, dtype=np.float32),
        coordinates=brain.centroids.astype(np.float32),
        labels=brain.region_labels,
        hemisphere=brain.hemisphere,
        structure=brain.structure,
        network=brain.network,
        gene_symbols=brain.gene_symbols,
        gene_chromosomes=brain.gene_chromosomes,
    )
