"""Ship a trained model: its best checkpoint stripped to weights and hyperparameters, written atomically.

The release scripts (``scripts/make_checkpoint.py``, ``scripts/make_pretrained.py``) keep only what
``ge2conn predict``/``test``/``explain`` and :func:`ge2conn.inference.load_model` read. Optimizer, scheduler
and loop states are dropped: they only serve resuming training and would triple the file size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import Trainer

from ge2conn.utils.atomic import atomic_output
from ge2conn.utils.checkpoints import read_checkpoint

KEPT_KEYS = (
    "epoch",
    "global_step",
    "pytorch-lightning_version",
    "state_dict",
    "hparams_name",
    "hyper_parameters",
    "datamodule_hparams_name",
    "datamodule_hyper_parameters",
)
"""Checkpoint entries kept in a shipped file (weights, hyperparameters, provenance of the data)."""


def best_checkpoint_path(trainer: Trainer) -> Path:
    """The best-on-validation checkpoint that ``trainer``'s checkpoint callback wrote.

    Args:
        trainer: The trainer of a finished fit.

    Returns:
        The checkpoint's path.

    Raises:
        RuntimeError: when the fit wrote no best checkpoint (no checkpoint callback, or no validation).
    """
    best = getattr(trainer.checkpoint_callback, "best_model_path", "")
    if not best:
        raise RuntimeError("training wrote no best checkpoint (is a ModelCheckpoint callback configured?)")
    return Path(best)


def stripped_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a Lightning checkpoint and keep only the :data:`KEPT_KEYS` entries it has.

    Args:
        path: The checkpoint file.

    Returns:
        The stripped checkpoint dictionary.

    Raises:
        CheckpointError: when the file cannot be read as a checkpoint.
    """
    checkpoint = read_checkpoint(path)
    return {key: checkpoint[key] for key in KEPT_KEYS if key in checkpoint}


def save_checkpoint(checkpoint: dict[str, Any], destination: str | Path) -> Path:
    """Write a checkpoint dictionary with ``torch.save`` atomically (a temporary file renamed over it).

    Args:
        checkpoint: The checkpoint dictionary.
        destination: The final path; its folder is created.

    Returns:
        ``destination`` as a path.
    """
    target = Path(destination)
    with atomic_output(target) as temporary:
        torch.save(checkpoint, temporary)
    return target
