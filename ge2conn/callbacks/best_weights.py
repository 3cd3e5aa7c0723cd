"""Keep a copy of the weights with the best validation loss and restore them when training ends."""

from __future__ import annotations

import math
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer


class RestoreBestWeights(Callback):
    """Restore the best-on-validation weights at the end of ``fit`` (method §3).

    The reference implementation kept a reference to the live ``state_dict`` as its "best weights", so the
    last epoch's weights were restored. This callback stores a *deep copy* (detached clones) of the state
    whenever the monitored quantity improves.

    Args:
        monitor: Logged quantity to watch (defaults to the task's ``monitor`` attribute).
        mode: "min" or "max" (defaults to the task's ``mode`` attribute).
    """

    def __init__(self, monitor: str | None = None, mode: str | None = None) -> None:
        self.monitor = monitor
        self.mode = mode
        self.best_score = math.nan
        self.best_epoch = -1
        self.best_state: dict[str, torch.Tensor] | None = None

    def _settings(self, pl_module: LightningModule) -> tuple[str, str]:
        monitor = self.monitor or str(getattr(pl_module, "monitor", "val/loss"))
        mode = self.mode or str(getattr(pl_module, "mode", "min"))
        return monitor, mode

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Copy the weights when the monitored metric improved."""
        if trainer.sanity_checking:
            return
        monitor, mode = self._settings(pl_module)
        value = trainer.callback_metrics.get(monitor)
        if value is None:
            return
        score = float(value)
        if math.isnan(score):
            return
        improved = math.isnan(self.best_score) or (
            score < self.best_score if mode == "min" else score > self.best_score
        )
        if improved:
            self.best_score = score
            self.best_epoch = trainer.current_epoch
            self.best_state = {
                name: tensor.detach().clone() for name, tensor in pl_module.state_dict().items()
            }

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Load the best weights back into the module."""
        if self.best_state is not None:
            pl_module.load_state_dict(self.best_state)

    def state_dict(self) -> dict[str, Any]:
        """Score, epoch and weights of the best epoch so far, so a resumed run restores the right weights."""
        return {"best_score": self.best_score, "best_epoch": self.best_epoch, "best_state": self.best_state}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the bookkeeping and the best weights on resume."""
        self.best_score = float(state_dict.get("best_score", math.nan))
        self.best_epoch = int(state_dict.get("best_epoch", -1))
        self.best_state = state_dict.get("best_state")
