"""Checkpointing with a ``last.ckpt`` that is fresh after every epoch."""

from __future__ import annotations

import os
import zipfile

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
        self.last_saved_global_step: int | None = None
        super().setup(trainer, pl_module, stage)

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Save top-k as usual, then (re)write ``last.ckpt`` with this epoch's state."""
        super().on_train_epoch_end(trainer, pl_module)
        # fast_dev_run is a public Trainer attribute that Lightning's type stubs do not declare.
        if not self.save_last or getattr(trainer, "fast_dev_run", False) or self.dirpath is None:
            return
        path = os.path.join(str(self.dirpath), f"{self.CHECKPOINT_NAME_LAST}{self.FILE_EXTENSION}")
        trainer.save_checkpoint(path, weights_only=self.save_weights_only)
        self.last_model_path = path
        self.last_saved_global_step = trainer.global_step

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Keep the ``last.ckpt`` of the final epoch instead of Lightning's end-of-training rewrite.

        :class:`ModelCheckpoint` rewrites "last" at the end of training unless *it* wrote one during the run;
        after a resume without a new best epoch that rewrite would store the epoch counter already advanced
        past the final epoch, and a resumed run's ``last.ckpt`` would differ from the uninterrupted run's.
        """
        if self.last_saved_global_step == trainer.global_step:
            return
        super().on_train_end(trainer, pl_module)


def resolve_last_checkpoint(folder: str | os.PathLike[str] | None) -> str | None:
    """What ``--ckpt_path last`` resumes from: ``last.ckpt``, else the newest complete checkpoint, else None.

    A crash between writing ``best-*.ckpt`` and the first ``last.ckpt`` leaves only the former, which holds
    the same state, so the run resumes from it (and no stale file is left beside a fresh best). None means
    there is nothing to resume: the run starts from scratch.

    Args:
        folder: The checkpoint folder of the run (``<default_root_dir>/checkpoints``).

    Returns:
        The checkpoint path, or None.
    """
    if folder is None:
        return None
    name = f"{StableCheckpoint.CHECKPOINT_NAME_LAST}{StableCheckpoint.FILE_EXTENSION}"
    last = os.path.join(str(folder), name)
    if os.path.isfile(last) and zipfile.is_zipfile(last):
        return last
    found = newest_complete_checkpoint(folder)
    return next(iter(found)) if found else None


def newest_complete_checkpoint(folder: str | os.PathLike[str] | None) -> set[str]:
    """The most recently written readable ``*.ckpt`` of a folder, as a set of zero or one path.

    A checkpoint is a zip archive (``torch.save``) whose directory is written last, so a file truncated by a
    crash is not a zip file and is skipped.

    Args:
        folder: The checkpoint folder (None or missing: nothing found).

    Returns:
        ``{path}`` or the empty set.
    """
    if folder is None or not os.path.isdir(folder):
        return set()
    candidates = [entry.path for entry in os.scandir(folder)
                  if entry.name.endswith(".ckpt") and entry.is_file()]
    complete = [path for path in candidates if zipfile.is_zipfile(path)]
    return {max(complete, key=os.path.getmtime)} if complete else set()
