"""Random streams that a resumed run reproduces exactly: one seed per (run seed, epoch, rank).

Lightning checkpoints hold the weights, the optimizer, the LR scheduler, the loop counters and the
callbacks' states (early stopping, checkpoint and best-model tracking, target augmentation), but not the
global random number generators, so dropout drew other masks after ``--ckpt_path last`` than in the
uninterrupted run (dk82 MLP: test r 0.5646 resumed vs 0.6092 uninterrupted). Saving the generator states is
not enough either: Lightning consumes global random numbers between saving a checkpoint and the next
training batch (each new DataLoader iterator draws a base seed, the sanity check runs on resume), and
differently in a resumed run than in an uninterrupted one.

:class:`RunState` therefore *derives* the global streams instead of carrying them: before the first
batch of every training epoch it seeds Python's ``random``, numpy's legacy global generator and torch (CPU
and every CUDA device) from ``SeedSequence([run seed, epoch, global rank])``. The stream of an epoch is then
a function of three numbers that the checkpoint holds (the run seed in this callback's state, the epoch in
the loop state, the rank from the launch), which makes a resumed run draw exactly the numbers the
uninterrupted run drew, on every rank under DDP. The edge order already follows ``(data seed, epoch)``
(:mod:`ge2conn.data.edges`).
"""

from __future__ import annotations

import os
import random
from typing import Any

import numpy as np
import torch
from lightning.pytorch import Callback, LightningModule, Trainer

_EPOCH_STREAM = 5  # mixed into the seed so that epoch streams never equal a split or edge-order stream


def epoch_seed(run_seed: int, epoch: int, rank: int) -> int:
    """The seed of the global generators for one epoch on one rank.

    Args:
        run_seed: The run's seed (``seed_everything``).
        epoch: Training epoch, 0-based.
        rank: Global rank of the process.

    Returns:
        A seed in ``[0, 2**32)`` (numpy's legacy generator takes no more).
    """
    sequence = np.random.SeedSequence([int(run_seed), int(epoch), int(rank), _EPOCH_STREAM])
    return int(sequence.generate_state(1, np.uint32)[0])


def seed_global_generators(seed: int) -> None:
    """Seed ``random``, numpy's global generator and torch on the CPU and every CUDA device."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002  (the legacy global generator is what third-party code draws from)
    torch.manual_seed(seed)  # also seeds every CUDA device


class RunState(Callback):
    """Keep a resumed run on the uninterrupted run's path: random streams and the plateau scheduler step.

    1. Before every epoch's first batch the global random generators are seeded from (run seed, epoch,
       rank); see the module docstring.
    2. Checkpoints are written at the end of validation, before the epoch's ``ReduceLROnPlateau`` step, and a
       resumed Lightning run skips that step for the epoch it restarts in (the monitored value is not in the
       checkpoint), so its learning rate schedule ran one plateau step behind. The monitored value of each
       pending plateau step is stored here and the step is taken before the next epoch's first batch.

    Args:
        seed: The run seed; None takes the seed set by ``seed_everything`` (``PL_GLOBAL_SEED``), or 0.
            A resumed run keeps the seed stored in its checkpoint, so that changing ``--seed_everything``
            between the interruption and the resume cannot fork the run.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed
        self._trainer: Trainer | None = None
        self._pending: dict[str, Any] | None = None  # a plateau step owed by the checkpoint being resumed

    @property
    def run_seed(self) -> int:
        """The seed in use (resolved lazily so that ``seed_everything`` may run after construction)."""
        if self.seed is None:
            self.seed = int(os.environ.get("PL_GLOBAL_SEED", "0"))
        return self.seed

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Keep the trainer: :meth:`state_dict` reads the schedulers and the monitored values."""
        self._trainer = trainer

    def on_train_batch_start(self, trainer: Trainer, pl_module: LightningModule, batch: Any,
                             batch_idx: int) -> None:
        """Before an epoch's first batch: take an owed plateau step, then seed the global generators.

        Not at ``on_train_epoch_start``: the epoch's DataLoader iterator draws a number from torch's
        generator, after that hook in a running fit but before it in the first epoch after a resume.
        """
        if batch_idx != 0:
            return
        if self._pending is not None and trainer.current_epoch == self._pending["epoch"] + 1:
            configs = trainer.lr_scheduler_configs
            for index, value in self._pending["plateau"].items():
                pl_module.lr_scheduler_step(configs[int(index)].scheduler, value)
        self._pending = None
        seed_global_generators(epoch_seed(self.run_seed, trainer.current_epoch, trainer.global_rank))

    def _pending_plateau_steps(self) -> dict[str, Any] | None:
        # Called while a checkpoint is written: during an epoch, before Lightning's plateau step of the epoch.
        if self._pending is not None:  # resumed, and the owed step is not taken yet: still owed
            return self._pending
        trainer = self._trainer
        if trainer is None or not trainer.training:
            return None
        steps: dict[str, float] = {}
        for index, config in enumerate(trainer.lr_scheduler_configs):
            scheduler = config.scheduler
            value = trainer.callback_metrics.get(config.monitor or "")
            owed = (config.reduce_on_plateau and config.interval == "epoch" and config.frequency == 1
                    and getattr(scheduler, "last_epoch", None) == trainer.current_epoch)
            if owed and value is not None:
                steps[str(index)] = float(value)
        return {"epoch": trainer.current_epoch, "plateau": steps} if steps else None

    def state_dict(self) -> dict[str, Any]:
        """The run seed and the plateau steps owed at this point of the epoch."""
        return {"seed": self.run_seed, "pending_plateau": self._pending_plateau_steps()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Take the run seed and the owed plateau steps of the checkpoint being resumed."""
        self.seed = int(state_dict["seed"])
        self._pending = state_dict.get("pending_plateau")
