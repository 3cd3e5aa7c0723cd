"""Restore the best-on-validation weights when fitting ends, from the best checkpoint on disk."""

from __future__ import annotations

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_warn


class RestoreBestWeights(Callback):
    """Load the best-on-validation weights back into the module at the end of ``fit`` (method §3).

    The reference implementation kept a reference to the live ``state_dict`` as its "best weights", so the
    last epoch's weights were restored. Here the weights come from the best checkpoint that the checkpoint
    callback wrote: every checkpoint holds one copy of the weights, and a resumed run restores the best
    epoch of the whole run (the checkpoint callback's record of it is part of the resumed state).

    Args:
        monitor: Read the checkpoint callback that monitors this quantity (default: the task's ``monitor``).
    """

    def __init__(self, monitor: str | None = None) -> None:
        self.monitor = monitor

    def best_checkpoint(self, trainer: Trainer, pl_module: LightningModule) -> str | None:
        """Path of the best checkpoint of the monitored quantity (None when none was written)."""
        monitor = self.monitor or str(getattr(pl_module, "monitor", "val/loss"))
        for callback in trainer.checkpoint_callbacks:
            if (isinstance(callback, ModelCheckpoint) and callback.monitor == monitor
                    and callback.best_model_path):
                return str(callback.best_model_path)
        return None

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Load the best checkpoint's weights into the module (every rank reads the same file)."""
        path = self.best_checkpoint(trainer, pl_module)
        if path is None:
            rank_zero_warn("RestoreBestWeights: no best checkpoint was written (checkpointing off, or no "
                           "validation); the module keeps the last epoch's weights")
            return
        # A file this run wrote itself: it holds hyperparameters and loop state besides tensors.
        checkpoint = torch.load(path, map_location=pl_module.device, weights_only=False)
        pl_module.load_state_dict(checkpoint["state_dict"])
