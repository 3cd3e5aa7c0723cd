"""Checkpointing into a folder that stays the same across runs, so ``--ckpt_path last`` finds the last run."""

from __future__ import annotations

import os

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint


class StableCheckpoint(ModelCheckpoint):
    """A :class:`ModelCheckpoint` that defaults to ``<default_root_dir>/checkpoints``.

    Lightning's default puts checkpoints under the logger's ``version_N`` folder, which changes on every run,
    so ``ge2conn fit --ckpt_path last`` after an interruption would find nothing. All other arguments are
    those of :class:`ModelCheckpoint`.
    """

    def _use_stable_dir(self, trainer: Trainer) -> None:
        if self.dirpath is None:
            self.dirpath = os.path.join(trainer.default_root_dir, "checkpoints")

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Pin the checkpoint folder before Lightning resolves it."""
        self._use_stable_dir(trainer)
        super().setup(trainer, pl_module, stage)

    def _find_last_checkpoints(self, trainer: Trainer) -> set[str]:
        self._use_stable_dir(trainer)
        return super()._find_last_checkpoints(trainer)
