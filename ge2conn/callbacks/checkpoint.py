"""Checkpointing with a ``last.ckpt`` that is fresh after every epoch."""

from __future__ import annotations

import os

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint


class StableCheckpoint(ModelCheckpoint):
    """A :class:`ModelCheckpoint` whose ``last.ckpt`` is rewritten at the end of every training epoch.

    Lightning 2.6 writes ``last.ckpt`` only in a step that also wrote a top-k checkpoint, so after epochs
    without improvement "last" would be stale and a resumed run would repeat them. ``ge2conn fit`` and
    :func:`ge2conn.api.build_trainer` give it ``dirpath=<default_root_dir>/checkpoints`` (not the logger's
    ``version_N`` folder, which changes on every run), so ``--ckpt_path last`` finds the previous run; made
    without a ``dirpath``, it uses the same folder from ``setup`` on. All arguments are those of
    :class:`ModelCheckpoint`. Only public Lightning API is used.
    """

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Default the folder to ``<default_root_dir>/checkpoints``."""
        if self.dirpath is None:
            self.dirpath = os.path.join(trainer.default_root_dir, "checkpoints")
        super().setup(trainer, pl_module, stage)

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Save top-k as usual, then (re)write ``last.ckpt`` with this epoch's state."""
        super().on_train_epoch_end(trainer, pl_module)
        # fast_dev_run is a public Trainer attribute that Lightning's type stubs do not declare.
        if not self.save_last or getattr(trainer, "fast_dev_run", False) or self.dirpath is None:
            return
        path = os.path.join(str(self.dirpath), f"{self.CHECKPOINT_NAME_LAST}{self.FILE_EXTENSION}")
        trainer.save_checkpoint(path)
        self.last_model_path = path
