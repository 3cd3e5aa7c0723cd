"""Read a checkpoint file and rebuild the trained task it holds.

Every checkpoint is read by :func:`ge2conn.utils.checkpoints.read_checkpoint` (plain data only: a checkpoint
can never run code) and rebuilt by :func:`load_checkpoint`. LightningCLI records the task's class in the
checkpoint (``hyper_parameters["_class_path"]``). Checkpoints written by other means
(``Trainer.save_checkpoint`` on a task built in Python) lack it, so the loader then tries every task class of
:mod:`ge2conn.models` whose constructor accepts the stored hyperparameters and keeps the one whose
``state_dict`` loads strictly.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

import ge2conn.models as task_classes
from ge2conn.models.base import EdgeRegressionTask
from ge2conn.utils.checkpoints import CheckpointError, read_checkpoint

INFERENCE_ENTRY = "ge2conn_inference"
"""Checkpoint entry with what prediction on new data needs: the model's genes and their fill values."""
CARD_ENTRY = "ge2conn_card"
"""Checkpoint entry of shipped models: a short structured model card (see ``ge2conn models list``)."""


@dataclass
class LoadedCheckpoint:
    """A task rebuilt from a checkpoint, in eval mode on the CPU.

    Attributes:
        task: The task with the checkpoint's weights.
        class_name: Name of the task class.
        datamodule_hparams: The datamodule arguments the checkpoint was trained with (empty when unknown).
        entries: The checkpoint's ge2conn entries (:data:`INFERENCE_ENTRY`, :data:`CARD_ENTRY`) when present.
    """

    task: EdgeRegressionTask
    class_name: str
    datamodule_hparams: dict[str, Any]
    entries: dict[str, Any] = field(default_factory=dict)


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
    # Arguments the class no longer takes (e.g. the unused ``num_regions`` of older checkpoints) are dropped:
    # the strict state_dict load below still guarantees the architecture is the checkpoint's.
    parameters = inspect.signature(task_class.__init__).parameters
    task = task_class(**{key: value for key, value in hparams.items() if key in parameters})
    task.load_state_dict(state_dict, strict=True)
    return task.eval()


def load_checkpoint(path: str | Path) -> LoadedCheckpoint:
    """Rebuild the task stored in a Lightning checkpoint (read with :func:`read_checkpoint`).

    Args:
        path: The ``.ckpt`` file.

    Returns:
        The task (eval mode, CPU), the datamodule arguments stored with it and its ge2conn entries.

    Raises:
        CheckpointError: when the file is missing, not a plain-data checkpoint, or matches no task class.
    """
    source = Path(path)
    checkpoint = read_checkpoint(source)
    stored = dict(checkpoint.get("hyper_parameters") or {})
    class_path = stored.get("_class_path")
    hparams = {key: value for key, value in stored.items() if not key.startswith("_")}
    state_dict = checkpoint["state_dict"]
    datamodule_hparams = {
        key: value
        for key, value in dict(checkpoint.get("datamodule_hyper_parameters") or {}).items()
        if not key.startswith("_")
    }
    entries = {key: checkpoint[key] for key in (INFERENCE_ENTRY, CARD_ENTRY) if key in checkpoint}
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
        return LoadedCheckpoint(task, task_class.__name__, datamodule_hparams, entries)
    detail = "; ".join(failures) if failures else "no task class accepts its hyperparameters"
    raise CheckpointError(
        source,
        "hyper_parameters",
        f"matches no ge2conn task class ({detail})",
        "pass a checkpoint written by `ge2conn fit` or a shipped model (`ge2conn models list`)",
    )
