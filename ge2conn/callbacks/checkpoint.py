"""Checkpointing into a folder that stays the same across runs, so ``--ckpt_path last`` finds the last run."""

from __future__ import annotations

import os

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint


class StableCheckpoint(ModelCheckpoint):
    """A :class:`ModelCheckpoint` that defaults to ``<default_root_dir>/checkpoints``, ``last`` kept fresh.

    Lightning's default puts checkpoints under the logger's ``version_N`` folder, which changes on every run,
    so ``ge2conn fit --ckpt_path last`` after an interruption would find nothing. Lightning 2.6 also writes
    ``last.ckpt`` only in a step that wrote a top-k checkpoint, so after epochs without improvement "last"
    would be stale and a resumed run would repeat them; here ``last.ckpt`` is refreshed at every epoch end.
    All arguments are those of :class:`ModelCheckpoint`.
    """

    def _use_stable_dir(self, trainer: Trainer) -> None:
        if self.dirpath is None:
            self.dirpath = os.path.join(trainer.default_root_dir, "checkpoints")

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Pin the checkpoint folder before Lightning resolves it."""
        self._use_stable_dir(trainer)
        super().setup(trainer, pl_module, stage)

    def _save_last_if_stale(self, trainer: Trainer) -> None:
        # _should_skip_saving_checkpoint is True when this step already wrote a checkpoint (and last with it).
        if self.save_last and not self._should_skip_saving_checkpoint(trainer):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Save top-k as usual (when saving at epoch end), then ``last.ckpt`` if nothing was written."""
        super().on_train_epoch_end(trainer, pl_module)
        if self._should_save_on_train_epoch_end(trainer):
            self._save_last_if_stale(trainer)

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Save top-k as usual (when saving after validation), then ``last.ckpt`` if nothing was written."""
        super().on_validation_end(trainer, pl_module)
        if not self._should_save_on_train_epoch_end(trainer):
            self._save_last_if_stale(trainer)

    def _find_last_checkpoints(self, trainer: Trainer) -> set[str]:
        self._use_stable_dir(trainer)
        return super()._find_last_checkpoints(trainer)
