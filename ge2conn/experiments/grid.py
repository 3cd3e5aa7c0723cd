"""The run grid of an experiment: outer splits, runs, seeds, shards and hyperparameter samples.

A *run* is (dataset, model, split, round, fold, true|null). Runs are grouped into *outer splits* (everything
but the variant) because a null run reuses the hyperparameters tuned for its true counterpart; shards and
workers therefore receive whole outer splits, and a shard's runs are the runs of its outer splits.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ge2conn.experiments.config import ExperimentConfig, ModelSpec

_TUNING_STREAM = 7  # seed stream of the hyperparameter draws, distinct from run seeds


@dataclass(frozen=True)
class OuterSplit:
    """One (dataset, model, split type, round, fold) cell with the variants it runs.

    Attributes:
        dataset: Dataset label.
        model: Model key.
        split: Split type.
        split_round: Round index.
        fold: Fold index.
        variants: ``("true",)`` or ``("true", "null")``.
    """

    dataset: str
    model: str
    split: str
    split_round: int
    fold: int
    variants: tuple[str, ...]

    @property
    def name(self) -> str:
        """``r<round>f<fold>``, the stem of the run folders."""
        return f"r{self.split_round}f{self.fold}"


def derive_seed(*parts: object) -> int:
    """A seed in ``[0, 2**31)`` from the given values (stable across machines and Python versions)."""
    digest = hashlib.sha256("|".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def run_seed(config: ExperimentConfig, cell: OuterSplit) -> int:
    """The ``seed_everything`` of every run of a cell: from (experiment seed, model, split, round, fold).

    True and null runs of a cell share it, so their only difference is the expression they see.
    """
    return derive_seed(config.seed, cell.model, cell.split, cell.split_round, cell.fold)


def split_index(config: ExperimentConfig, cell: OuterSplit) -> int:
    """The outer split number ``s = round * num_folds + fold`` (method §5.6)."""
    return cell.split_round * config.num_folds + cell.fold


def null_rank(config: ExperimentConfig, cell: OuterSplit) -> int:
    """The null brain used by the cell's null run: rank ``s mod K``."""
    return split_index(config, cell) % config.null_top


def outer_splits(config: ExperimentConfig) -> list[OuterSplit]:
    """Every cell of the experiment, in a fixed order (dataset, model, split, round, fold).

    Args:
        config: The experiment.

    Returns:
        The cells.
    """
    cells: list[OuterSplit] = []
    for dataset in config.datasets:
        for model in config.models:
            variants = ("true", "null") if config.nulls_enabled and model.null else ("true",)
            for split in config.splits:
                for split_round in config.rounds:
                    for fold in config.folds:
                        cells.append(OuterSplit(dataset.label, model.key, split, split_round, fold, variants))
    return cells


def parse_shard(text: str) -> tuple[int, int]:
    """Parse ``I/N`` (0 <= I < N), e.g. ``$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT``.

    Args:
        text: The shard specification.

    Returns:
        ``(index, count)``.

    Raises:
        ValueError: when malformed or out of range.
    """
    try:
        index_text, count_text = text.split("/")
        index, count = int(index_text), int(count_text)
    except ValueError as error:
        raise ValueError(f"--shard must look like I/N (e.g. 0/8), got {text!r}") from error
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"--shard I/N needs N >= 1 and 0 <= I < N, got {text!r}")
    return index, count


def shard(cells: list[OuterSplit], index: int, count: int) -> list[OuterSplit]:
    """The cells of shard ``index`` of ``count``: every ``count``-th cell starting at ``index``.

    Striding (rather than cutting the list into blocks) spreads each model's cells over the shards, so that
    expensive models do not all land on one node. The shards are disjoint and their union is the grid.

    Args:
        cells: All cells, in :func:`outer_splits` order.
        index: Shard index, ``0 <= index < count``.
        count: Number of shards.

    Returns:
        The shard's cells, in grid order.
    """
    return cells[index::count]


def run_folder(config: ExperimentConfig, cell: OuterSplit, variant: str) -> Path:
    """``<output>/[<dataset>/]<model>/<split>/r<round>f<fold>-<variant>`` (dataset level only if several)."""
    root = config.output / cell.dataset if len(config.datasets) > 1 else config.output
    return root / cell.model / cell.split / f"{cell.name}-{variant}"


def tuning_folder(config: ExperimentConfig, cell: OuterSplit) -> Path:
    """Where a cell's tuning candidates and selection live: beside its runs, ``r<round>f<fold>-tuning``."""
    return run_folder(config, cell, "tuning")


def format_override(key: str, value: Any) -> str:
    """A ``--key=value`` CLI override; lists and mappings as JSON, which jsonargparse reads."""
    text = json.dumps(value) if isinstance(value, list | dict | bool) or value is None else str(value)
    return f"--{key}={text}"


def sample_hyperparameters(config: ExperimentConfig, model: ModelSpec,
                           cell: OuterSplit) -> list[dict[str, Any]]:
    """The candidate configurations of a cell: the default (empty) plus ``tuning_samples`` grid draws.

    Each draw picks one value per grid key, uniformly; draws repeat neither each other nor the default
    (the all-first-values draw is not assumed to be the default: defaults live in the model config).
    Fewer are returned when the grid is smaller than asked.

    Args:
        config: The experiment.
        model: The cell's model.
        cell: The cell (its coordinates seed the draws, so each outer split samples afresh).

    Returns:
        Candidates as ``{key: value}``; the first is ``{}`` (the model config's defaults).
    """
    candidates: list[dict[str, Any]] = [{}]
    if not config.tuning_enabled or not model.grid:
        return candidates
    keys = sorted(model.grid)
    size = int(np.prod([len(model.grid[key]) for key in keys]))
    rng = np.random.default_rng(derive_seed(config.seed, _TUNING_STREAM, cell.dataset, cell.model, cell.split,
                                            cell.split_round, cell.fold))
    seen: set[str] = set()
    attempts = 0
    while len(candidates) - 1 < min(config.tuning_samples, size) and attempts < 100 * config.tuning_samples:
        attempts += 1
        draw = {key: model.grid[key][int(rng.integers(len(model.grid[key])))] for key in keys}
        signature = json.dumps(draw, sort_keys=True)
        if signature not in seen:
            seen.add(signature)
            candidates.append(draw)
    return candidates
