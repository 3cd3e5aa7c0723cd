"""Distributional target-side augmentation (method §4): swap population targets for individual ones.

Schedules are pure functions ``p(epoch, max_epochs, p_max)``; :class:`TargetAugmentation` is a thin callback
that evaluates the schedule, flips one coin per training batch and, on heads, replaces the batch's targets on
the device. Evaluation batches are never touched, so validation and test targets are always the population Y.

Styles:

- ``individual``: every target ``Y[i, j]`` of the batch becomes ``Y'[s, i, j]`` for a subject ``s`` drawn
  uniformly, per edge, among the subjects with a finite value for that edge (an edge without any keeps Y).
- ``curriculum_swap``: the batch is first replaced by as many training edges drawn uniformly (with
  replacement) among the strong ones (``|Y| > threshold``), whose targets are then individualized as above.

Randomness uses two CPU ``torch.Generator`` objects (the coin, shared by all ranks; the edge draws, seeded per
rank), so a seed gives the same augmentation on CPU and GPU, and both generator states are checkpointed.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from torch import Tensor

from ge2conn.data.protocol import EdgeData, require_edge_data

SCHEDULES: tuple[str, ...] = ("none", "constant", "linear_decay", "linear_increase", "linear_peak")
STYLES: tuple[str, ...] = ("individual", "curriculum_swap")
CURRICULUM_PREFIX = "curriculum_swap_"
"""Paper grid names such as ``curriculum_swap_linear_decay`` mean style curriculum_swap + that schedule."""


def augmentation_probability(schedule: str, epoch: int, max_epochs: int, p_max: float) -> float:
    """The probability of augmenting a training batch at an epoch.

    Args:
        schedule: ``none`` (0), ``constant`` (p), ``linear_decay`` (p·(1 − e/E)), ``linear_increase`` (p·e/E)
            or ``linear_peak`` (p·(1 − |e − E/2| / (E/2)): 0 at e = 0, p at E/2, back towards 0 at E).
        epoch: Epoch e, 0-based.
        max_epochs: Number of epochs E (> 0; ignored by ``none`` and ``constant``).
        p_max: Maximum probability p in [0, 1].

    Returns:
        p(e), clipped to [0, 1].
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown augmentation schedule {schedule!r}; use one of {SCHEDULES}")
    if schedule == "none":
        return 0.0
    if schedule == "constant":
        return float(min(max(p_max, 0.0), 1.0))
    if max_epochs <= 0:
        raise ValueError(f"schedule {schedule!r} needs a positive max_epochs, got {max_epochs}")
    progress = epoch / max_epochs
    if schedule == "linear_decay":
        value = p_max * (1.0 - progress)
    elif schedule == "linear_increase":
        value = p_max * progress
    else:
        value = p_max * (1.0 - abs(progress - 0.5) / 0.5)
    return float(min(max(value, 0.0), 1.0))


def parse_schedule(schedule: str, style: str) -> tuple[str, str]:
    """Split a paper grid name into (schedule, style).

    Args:
        schedule: A name of :data:`SCHEDULES`, optionally prefixed with ``curriculum_swap_``.
        style: ``individual`` or ``curriculum_swap``; a ``curriculum_swap_`` prefix forces curriculum_swap.

    Returns:
        The plain schedule and the style.
    """
    if schedule.startswith(CURRICULUM_PREFIX):
        schedule, style = schedule[len(CURRICULUM_PREFIX):], "curriculum_swap"
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown augmentation schedule {schedule!r}; use one of {SCHEDULES}, optionally "
                         f"prefixed with {CURRICULUM_PREFIX!r}")
    if style not in STYLES:
        raise ValueError(f"unknown augmentation style {style!r}; use one of {STYLES}")
    return schedule, style


def individualize_targets(individual: Tensor, rows: Tensor, cols: Tensor, target: Tensor,
                          uniform: Tensor) -> tuple[Tensor, Tensor]:
    """Replace each target by the value of a subject drawn among those with a finite value for that edge.

    Args:
        individual: (n, R, R) individual connectomes (NaN = missing).
        rows: (B,) first regions.
        cols: (B,) second regions.
        target: (B,) population targets, kept where no subject has a value.
        uniform: (B,) numbers in [0, 1) that choose the subject (the k-th finite one, k = ⌊u·count⌋).

    Returns:
        The new targets (B,) and the chosen subject per edge (B,), -1 where the target was kept.
    """
    num_regions = individual.shape[-1]
    # index_select on the flattened (n, R·R) view is several times faster than individual[:, rows, cols].
    values = individual.reshape(individual.shape[0], -1).index_select(1, rows * num_regions + cols)  # (n, B)
    finite = torch.isfinite(values)
    count = finite.sum(dim=0)
    choice = torch.minimum((uniform * count).long(), (count - 1).clamp(min=0))
    # The chosen subject is the first whose running count of finite values exceeds the choice.
    subjects = (finite.cumsum(dim=0) > choice.unsqueeze(0)).int().argmax(dim=0)
    drawn = values.gather(0, subjects.unsqueeze(0)).squeeze(0)
    available = count > 0
    new_target = torch.where(available, drawn.to(target.dtype), target)
    return new_target, torch.where(available, subjects, torch.full_like(subjects, -1))


def _derived_seed(*values: int) -> int:
    return int(np.random.SeedSequence([int(value) for value in values]).generate_state(1, np.uint64)[0] >> 1)


class TargetAugmentation(Callback):
    """Lightning callback applying target-side augmentation to training batches.

    Args:
        schedule: A schedule of :data:`SCHEDULES`, or a paper grid name ``curriculum_swap_<schedule>``.
        style: ``individual`` or ``curriculum_swap`` (θ-strong edges first).
        p_max: Maximum per-batch augmentation probability.
        threshold: θ: an edge is strong when ``|Y| > threshold`` (curriculum_swap only).
        seed: Seed of the coin flips and subject/edge draws.
    """

    def __init__(
        self,
        schedule: str = "linear_decay",
        style: Literal["individual", "curriculum_swap"] = "individual",
        p_max: float = 0.3,
        threshold: float = 0.3,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.schedule, self.style = parse_schedule(schedule, style)
        if not 0.0 <= p_max <= 1.0:
            raise ValueError(f"p_max must be in [0, 1], got {p_max}")
        self.p_max = float(p_max)
        self.threshold = float(threshold)
        self.seed = int(seed)
        self.batches_seen = 0
        self.batches_augmented = 0
        self.current_probability = 0.0
        self.coin_generator = torch.Generator().manual_seed(_derived_seed(self.seed, 0))
        self.edge_generator = torch.Generator().manual_seed(_derived_seed(self.seed, 1, 0))
        self._restored = False
        self._strong_edges: Tensor | None = None
        self._strong_edges_on_device: dict[str, Tensor] = {}

    @property
    def is_active(self) -> bool:
        """Whether the schedule can ever augment a batch."""
        return self.schedule != "none" and self.p_max > 0.0

    @property
    def state_key(self) -> str:
        """Checkpoint key (distinguishes instances with different settings)."""
        return self._generate_state_key(schedule=self.schedule, style=self.style, p_max=self.p_max)

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Check the datamodule has individual connectomes and prepare the curriculum edge pool.

        Raises:
            TypeError: when the trainer has no EdgePairDataModule (or another EdgeData datamodule).
            ValueError: when the attached datamodule has no individual connectomes or no strong training edge.
        """
        if stage != "fit" or not self.is_active:
            return
        datamodule = require_edge_data(trainer, "TargetAugmentation")
        # num_subjects comes from the file header; loading the stack here would copy it for nothing.
        if datamodule.num_subjects == 0:
            source = datamodule.dataset_path
            raise ValueError(f"TargetAugmentation (schedule {self.schedule!r}, p_max {self.p_max}) needs "
                             f"individual connectomes, but {source} has none; build the dataset with "
                             f"individual matrices or remove the callback")
        needs_epochs = self.schedule not in ("none", "constant")
        if needs_epochs and (trainer.max_epochs is None or trainer.max_epochs <= 0):
            raise ValueError(f"schedule {self.schedule!r} depends on max_epochs; set trainer.max_epochs")
        if not self._restored:
            self.edge_generator.manual_seed(_derived_seed(self.seed, 1, trainer.global_rank))
        if self.style == "curriculum_swap":
            edges = datamodule.train_edges
            population = datamodule.region_tensors("cpu")["connectivity"]
            strong = population[edges[:, 0], edges[:, 1]].abs() > self.threshold
            if not bool(strong.any()):
                raise ValueError(f"curriculum_swap found no training edge with |Y| > {self.threshold}; lower "
                                 f"the threshold")
            self._strong_edges = edges[strong].contiguous()
            self._strong_edges_on_device = {}

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Move the individual stack to the model's device before the first batch; fix per-rank streams.

        A checkpoint holds rank 0's callback state only, so after a resume the other ranks re-derive their
        edge generator from (seed, rank, batches seen) instead of repeating rank 0's draws.
        """
        if not self.is_active:
            return
        if self._restored and trainer.global_rank != 0:
            seed = _derived_seed(self.seed, 1, trainer.global_rank, self.batches_seen)
            self.edge_generator.manual_seed(seed)
        require_edge_data(trainer, "TargetAugmentation").individual_connectivity(pl_module.device)

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Evaluate the schedule for this epoch and log it as ``augmentation/p``."""
        max_epochs = int(trainer.max_epochs or 0)
        self.current_probability = augmentation_probability(self.schedule, trainer.current_epoch, max_epochs,
                                                            self.p_max)
        pl_module.log("augmentation/p", self.current_probability, on_step=False, on_epoch=True)

    def on_train_batch_start(self, trainer: Trainer, pl_module: LightningModule, batch: Any,
                             batch_idx: int) -> None:
        """Flip the batch's coin; on heads replace its targets (and edges, for curriculum_swap) in place."""
        if not self.is_active:
            return
        self.batches_seen += 1
        if float(torch.rand((), generator=self.coin_generator)) >= self.current_probability:
            return
        self.batches_augmented += 1
        self.augment(require_edge_data(trainer, "TargetAugmentation"), batch)

    def augment(self, datamodule: EdgeData, batch: dict[str, Tensor]) -> None:
        """Augment one batch dict in place (no coin flip).

        Args:
            datamodule: The datamodule (individual connectomes, region tensors).
            batch: The batch dict, already on its device.
        """
        device = batch["rows"].device
        size = int(batch["rows"].shape[0])
        if self.style == "curriculum_swap":
            strong = self._strong_edges_for(device)
            picks = torch.randint(strong.shape[0], (size,), generator=self.edge_generator).to(device)
            edges = strong[picks]
            batch["rows"], batch["cols"] = edges[:, 0], edges[:, 1]
            batch["target"] = datamodule.region_tensors(device)["connectivity"][batch["rows"], batch["cols"]]
        individual = datamodule.individual_connectivity(device)
        if individual is None:
            raise RuntimeError("TargetAugmentation needs individual connectomes; this dataset has none "
                               "(build it with individual FC, or leave augmentation off)")
        uniform = torch.rand(size, generator=self.edge_generator).to(device)
        batch["target"], _ = individualize_targets(individual, batch["rows"], batch["cols"], batch["target"],
                                                   uniform)

    def _strong_edges_for(self, device: torch.device) -> Tensor:
        if self._strong_edges is None:
            raise RuntimeError("TargetAugmentation.setup has not prepared the strong training edges")
        key = str(device)
        if key not in self._strong_edges_on_device:
            self._strong_edges_on_device[key] = self._strong_edges.to(device)
        return self._strong_edges_on_device[key]

    def state_dict(self) -> dict[str, Any]:
        """Generator states and counters, saved in checkpoints so a resumed run draws the same numbers."""
        return {"coin_generator": self.coin_generator.get_state(),
                "edge_generator": self.edge_generator.get_state(),
                "batches_seen": self.batches_seen, "batches_augmented": self.batches_augmented}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore generator states and counters from :meth:`state_dict`."""
        self.coin_generator.set_state(state_dict["coin_generator"])
        self.edge_generator.set_state(state_dict["edge_generator"])
        self.batches_seen = int(state_dict["batches_seen"])
        self.batches_augmented = int(state_dict["batches_augmented"])
        self._restored = True
