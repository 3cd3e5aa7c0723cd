"""A callback that kills the training process mid-epoch, to test resuming (used through the CLI)."""

from __future__ import annotations

import os
import signal
from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer


class KillMidEpoch(Callback):
    """Exit the process abruptly (no cleanup, like a crash or a pre-empted job) during an epoch.

    Args:
        epoch: Epoch in which to die.
        batch: Batch index after which to die.
        sigkill: Die by SIGKILL (as ``kill -9``) instead of ``os._exit(17)``.
    """

    def __init__(self, epoch: int = 1, batch: int = 1, sigkill: bool = False) -> None:
        self.epoch = epoch
        self.batch = batch
        self.sigkill = sigkill

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if trainer.current_epoch == self.epoch and batch_idx == self.batch:
            if self.sigkill:
                os.kill(os.getpid(), signal.SIGKILL)
            os._exit(17)
