"""Collect the edge predictions of evaluation loops in a callback (tasks keep none of them).

Every task's ``validation_step`` and ``test_step`` return ``{"rows", "cols", "prediction", "target"}`` for
their batch; :class:`EdgePredictionCollector` keeps them for the stages it is asked to, for one epoch at a
time, and gathers them over DDP ranks. :class:`TestPredictions` is the collector the Python API attaches to
return a run's test predictions (``ge2conn.api.fit_and_test``); the figure callback is another.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from torch import Tensor

PREDICTION_COLUMNS: dict[str, torch.dtype] = {
    "rows": torch.long,
    "cols": torch.long,
    "prediction": torch.float32,
    "target": torch.float32,
}
"""What an evaluation step returns for each edge, and the dtype of an empty column."""


def gather_uneven(pl_module: LightningModule, tensor: Tensor) -> Tensor:
    """All-gather 1-D tensors whose length differs between ranks (pads, gathers, trims).

    Args:
        pl_module: The module (its strategy does the gathering).
        tensor: This rank's 1-D tensor.

    Returns:
        The concatenation over ranks (this rank's tensor when not distributed).
    """
    if pl_module.trainer.world_size == 1:
        return tensor
    length = torch.tensor([tensor.numel()], device=tensor.device)
    lengths = torch.as_tensor(pl_module.all_gather(length)).flatten()
    padded = torch.zeros(int(lengths.max()), dtype=tensor.dtype, device=tensor.device)
    padded[: tensor.numel()] = tensor
    gathered = torch.as_tensor(pl_module.all_gather(padded))
    return torch.cat([gathered[rank, : int(lengths[rank])] for rank in range(gathered.shape[0])])


class EdgePredictionCollector(Callback):
    """Keep the current epoch's evaluation outputs of some stages.

    Args:
        stages: ``"val"`` and/or ``"test"``.
    """

    def __init__(self, stages: tuple[str, ...] = ("test",)) -> None:
        self.stages = tuple(stages)
        self.parts: dict[str, list[dict[str, Tensor]]] = {stage: [] for stage in self.stages}

    def _start(self, stage: str) -> None:
        if stage in self.parts:
            self.parts[stage] = []

    def _keep(self, stage: str, outputs: Any) -> None:
        if stage in self.parts and isinstance(outputs, dict) and "prediction" in outputs:
            self.parts[stage].append({key: outputs[key].detach() for key in PREDICTION_COLUMNS})

    def on_validation_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Forget the previous validation epoch."""
        self._start("val")

    def on_test_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Forget earlier test predictions."""
        self._start("test")

    def on_validation_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any,
                                batch_idx: int, dataloader_idx: int = 0) -> None:
        """Keep a validation batch's predictions (sanity checks included; the next epoch forgets them)."""
        self._keep("val", outputs)

    def on_test_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any,
                          batch_idx: int, dataloader_idx: int = 0) -> None:
        """Keep a test batch's predictions."""
        self._keep("test", outputs)

    def gathered(self, pl_module: LightningModule, stage: str) -> dict[str, Tensor]:
        """The stage's columns over every rank; every rank must call it (also one with no edges).

        Args:
            pl_module: The module.
            stage: ``"val"`` or ``"test"``.

        Returns:
            ``rows``, ``cols``, ``prediction``, ``target`` (1-D, concatenated over ranks).
        """
        parts = self.parts.get(stage, [])
        return {
            key: gather_uneven(pl_module, torch.cat([part[key] for part in parts]) if parts
                               else torch.zeros(0, dtype=dtype, device=pl_module.device))
            for key, dtype in PREDICTION_COLUMNS.items()
        }


class TestPredictions(EdgePredictionCollector):
    """The test-edge predictions of the last ``trainer.test``, gathered over ranks, as numpy arrays."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        super().__init__(stages=("test",))
        self.arrays: dict[str, np.ndarray] = {}

    def on_test_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Gather the test edges' predictions and targets."""
        columns = self.gathered(pl_module, "test")
        self.parts["test"] = []
        self.arrays = {key: value.cpu().numpy() for key, value in columns.items()}
