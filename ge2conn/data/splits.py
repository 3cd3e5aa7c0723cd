"""Region splits (method §2): random and spatial 4-fold splits over regions, repeated over seeded rounds.

Every split is a pure function of ``(centroids, split type, round, fold, num_folds, val_fraction, seed)``.
Randomness comes from numpy's PCG64 ``default_rng`` seeded with an explicit ``SeedSequence`` entropy list,
never from global state, so the same arguments give the same regions on any machine.

Random split
    Each round draws one permutation of the regions and cuts it into ``num_folds`` near-equal folds
    (``np.array_split`` sizes); fold ``k`` is the test set, the other folds train. The test sets of one round
    partition the regions.

Spatial split
    Each round partitions the regions into ``num_folds`` spatially compact folds of balanced size
    (``np.array_split`` sizes, so they differ by at most one region); fold ``k`` is the test set. Every
    region is tested exactly once per round, as the method's "four folds cover the brain" requires (the
    reference implementation's nearest-quarter sets overlapped and left regions untested: 54 of 351 regions
    on a Schaefer-scale parcellation). The partition is a balanced k-means in MNI space:

    1. Seeds by farthest-point sampling started from a random region (the round's randomness): the first
       is drawn uniformly, each next one is the region farthest (Euclidean) from the seeds chosen so far.
    2. Assign every region to a fold by minimum total squared distance to the fold centres under the fold
       sizes (an exact transport problem, solved by ``scipy.optimize.linear_sum_assignment`` with each
       centre repeated once per slot), then move each centre to the mean of its fold; repeat until the
       assignment no longer changes (at most :data:`MAX_PARTITION_ITERATIONS` times).

    The split's ``source`` is the test region nearest to its fold's final centre.

Inner validation
    ``val_fraction`` of the outer training regions (rounded, at least 2 so that validation has an edge) are
    moved to a validation set used for early stopping, LR scheduling and model selection. For random splits
    they are a random subset; for spatial splits they are the training regions nearest to a randomly drawn
    training region, so validation measures spatial extrapolation like the test set does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import scipy.optimize

SplitType = Literal["random", "spatial"]
SPLIT_TYPES: tuple[str, ...] = get_args(SplitType)
DEFAULT_NUM_ROUNDS = 10
"""The paper repeats the 4-fold split for 10 seeds (40 splits)."""
MAX_PARTITION_ITERATIONS = 50
"""Balanced k-means rounds of a spatial partition (it converges in fewer than 20 on 360 regions)."""

# Stream identifiers mixed into the seed so that the outer split and the inner validation draw never share
# random numbers, and random and spatial rounds with the same seed are independent.
_WHOLE_BRAIN_STREAM = 11  # seed stream of the whole-brain validation draw (transfer)
_OUTER_STREAM = 0
_VALIDATION_STREAM = 1


@dataclass(frozen=True)
class RegionSplit:
    """One outer fold of one round, with its inner validation set, as sorted region index arrays.

    Attributes:
        split_type: ``"random"`` or ``"spatial"``.
        split_round: Round (repetition) index.
        fold: Outer fold index.
        num_folds: Number of outer folds.
        seed: Base seed.
        train: Training regions (outer training minus validation).
        val: Inner validation regions (a subset of the outer training regions).
        test: Outer test regions.
        source: The source region of a spatial fold (None for random splits).
    """

    split_type: str
    split_round: int
    fold: int
    num_folds: int
    seed: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    source: int | None = None

    @property
    def num_regions(self) -> int:
        """Number of distinct regions in train ∪ val ∪ test."""
        return int(np.union1d(np.union1d(self.train, self.val), self.test).size)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dictionary (index arrays as lists of ints)."""
        return {
            "split_type": self.split_type,
            "split_round": self.split_round,
            "fold": self.fold,
            "num_folds": self.num_folds,
            "seed": self.seed,
            "source": self.source,
            "train": self.train.tolist(),
            "val": self.val.tolist(),
            "test": self.test.tolist(),
        }

    def to_json(self) -> str:
        """The split as a JSON string."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RegionSplit:
        """Rebuild a split from :meth:`to_dict` output.

        Args:
            values: The dictionary.

        Returns:
            The split.
        """
        return cls(
            split_type=str(values["split_type"]),
            split_round=int(values["split_round"]),
            fold=int(values["fold"]),
            num_folds=int(values["num_folds"]),
            seed=int(values["seed"]),
            train=np.asarray(values["train"], dtype=np.int64),
            val=np.asarray(values["val"], dtype=np.int64),
            test=np.asarray(values["test"], dtype=np.int64),
            source=None if values.get("source") is None else int(values["source"]),
        )

    def __str__(self) -> str:
        return (f"RegionSplit({self.split_type}, round={self.split_round}, fold={self.fold}/"
                f"{self.num_folds}, train={self.train.size}, val={self.val.size}, test={self.test.size})")


def split_rng(seed: int, split_type: str, split_round: int, stream: int, *extra: int) -> np.random.Generator:
    """A PCG64 generator derived from explicit integers (machine- and process-independent).

    Args:
        seed: Base seed (non-negative).
        split_type: ``"random"`` or ``"spatial"``.
        split_round: Round index.
        stream: Which draw this generator serves (outer split, inner validation, ...).
        *extra: More integers to mix in (e.g. the fold).

    Returns:
        A fresh generator.
    """
    entropy = [int(seed), SPLIT_TYPES.index(split_type), int(split_round), int(stream), *map(int, extra)]
    return np.random.default_rng(np.random.SeedSequence(entropy))


def random_folds(num_regions: int, num_folds: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Cut one random permutation of the regions into near-equal folds.

    Args:
        num_regions: Number of regions r.
        num_folds: Number of folds.
        rng: Generator for the permutation.

    Returns:
        ``num_folds`` sorted index arrays that partition ``range(num_regions)``.
    """
    permutation = rng.permutation(num_regions)
    return [np.sort(fold).astype(np.int64) for fold in np.array_split(permutation, num_folds)]


def pairwise_distances(centroids: np.ndarray) -> np.ndarray:
    """Euclidean distance matrix between centroids, in float64.

    Args:
        centroids: (r, 3) coordinates.

    Returns:
        (r, r) distances.
    """
    points = np.asarray(centroids, dtype=np.float64)
    return np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=-1))


def farthest_point_sources(distances: np.ndarray, num_sources: int, rng: np.random.Generator) -> np.ndarray:
    """Farthest-point sampling: a random first region, then repeatedly the region farthest from the chosen.

    Args:
        distances: (r, r) distance matrix.
        num_sources: How many sources to choose.
        rng: Generator for the first source.

    Returns:
        (num_sources,) region indices, in the order chosen.
    """
    sources = [int(rng.integers(distances.shape[0]))]
    nearest = distances[sources[0]].copy()
    for _ in range(num_sources - 1):
        # argmax returns the lowest index among ties, which keeps the choice deterministic.
        following = int(np.argmax(nearest))
        sources.append(following)
        nearest = np.minimum(nearest, distances[following])
    return np.asarray(sources, dtype=np.int64)


def balanced_spatial_folds(
    centroids: np.ndarray, num_folds: int, rng: np.random.Generator
) -> tuple[list[np.ndarray], np.ndarray]:
    """Partition the regions into compact, balanced folds by balanced k-means (see the module docstring).

    Args:
        centroids: (r, 3) coordinates.
        num_folds: Number of folds.
        rng: Generator for the first farthest-point seed.

    Returns:
        ``num_folds`` sorted index arrays that partition ``range(r)`` (sizes as ``np.array_split``), and the
        (num_folds,) source of each fold: its region nearest to the fold's centre.
    """
    points = np.asarray(centroids, dtype=np.float64)
    sizes = [len(part) for part in np.array_split(np.arange(points.shape[0]), num_folds)]
    slot_fold = np.repeat(np.arange(num_folds), sizes)
    centres = points[farthest_point_sources(pairwise_distances(points), num_folds, rng)]
    assignment = np.full(points.shape[0], -1)
    for _ in range(MAX_PARTITION_ITERATIONS):
        squared = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=-1)
        rows, slots = scipy.optimize.linear_sum_assignment(squared[:, slot_fold])
        updated = np.empty_like(assignment)
        updated[rows] = slot_fold[slots]
        if np.array_equal(updated, assignment):
            break
        assignment = updated
        centres = np.stack([points[assignment == fold].mean(axis=0) for fold in range(num_folds)])
    folds = [np.flatnonzero(assignment == fold).astype(np.int64) for fold in range(num_folds)]
    sources = np.array(
        [fold[np.argmin(((points[fold] - centres[k]) ** 2).sum(axis=1))] for k, fold in enumerate(folds)],
        dtype=np.int64,
    )
    return folds, sources


def nearest_regions(distances_from_source: np.ndarray, candidates: np.ndarray, count: int) -> np.ndarray:
    """The ``count`` candidates nearest to a source (ties broken by region index).

    Args:
        distances_from_source: (r,) distance of every region to the source.
        candidates: Region indices to choose from.
        count: How many to keep.

    Returns:
        Sorted region indices.
    """
    candidates = np.asarray(candidates, dtype=np.int64)
    order = np.lexsort((candidates, distances_from_source[candidates]))
    return np.sort(candidates[order[:count]])


def validation_size(num_outer_train: int, val_fraction: float) -> int:
    """How many outer training regions become validation regions (at least 2, so validation has an edge)."""
    return max(2, int(round(val_fraction * num_outer_train)))


def make_region_split(
    centroids: np.ndarray,
    split_type: str = "random",
    split_round: int = 0,
    fold: int = 0,
    num_folds: int = 4,
    val_fraction: float = 0.125,
    seed: int = 0,
) -> RegionSplit:
    """Build one outer fold of one round, with its inner validation set.

    Args:
        centroids: (r, 3) MNI centroids of the regions (only their number matters for random splits).
        split_type: ``"random"`` or ``"spatial"``.
        split_round: Round (repetition) index, ``>= 0``.
        fold: Outer fold, ``0 <= fold < num_folds``.
        num_folds: Number of outer folds (``>= 2``).
        val_fraction: Share of the outer training regions moved to validation, in ``(0, 1)``.
        seed: Base seed, ``>= 0``.

    Returns:
        The split.

    Raises:
        ValueError: for an unknown split type, a fold out of range, too few regions for the folds or for
            a validation set.
    """
    centroids = np.asarray(centroids, dtype=np.float64)
    _check_request(centroids, split_type, split_round, fold, num_folds, val_fraction, seed)
    num_regions = centroids.shape[0]
    rng = split_rng(seed, split_type, split_round, _OUTER_STREAM)
    source: int | None = None
    distances: np.ndarray | None = None
    if split_type == "random":
        test = random_folds(num_regions, num_folds, rng)[fold]
    else:
        distances = pairwise_distances(centroids)
        folds, sources = balanced_spatial_folds(centroids, num_folds, rng)
        source = int(sources[fold])
        test = folds[fold]
    outer_train = np.setdiff1d(np.arange(num_regions), test)
    num_val = validation_size(outer_train.size, val_fraction)
    if outer_train.size - num_val < 2:
        raise ValueError(f"{num_regions} regions leave {outer_train.size} outer training regions: too few to "
                         f"carve {num_val} validation regions and keep at least 2 for training; use fewer "
                         f"folds, a smaller val_fraction or a larger dataset")
    val_rng = split_rng(seed, split_type, split_round, _VALIDATION_STREAM, fold)
    if distances is None:
        val = np.sort(val_rng.choice(outer_train, size=num_val, replace=False)).astype(np.int64)
    else:
        val_source = int(val_rng.choice(outer_train))
        val = nearest_regions(distances[val_source], outer_train, num_val)
    train = np.setdiff1d(outer_train, val).astype(np.int64)
    return RegionSplit(split_type, split_round, fold, num_folds, seed, train, val, test.astype(np.int64),
                       source)


def all_region_splits(
    centroids: np.ndarray,
    split_type: str = "random",
    num_rounds: int = DEFAULT_NUM_ROUNDS,
    num_folds: int = 4,
    val_fraction: float = 0.125,
    seed: int = 0,
) -> list[RegionSplit]:
    """Every (round, fold) split, round-major: ``num_rounds × num_folds`` splits.

    Args:
        centroids: (r, 3) MNI centroids.
        split_type: ``"random"`` or ``"spatial"``.
        num_rounds: Number of rounds (the paper uses 10).
        num_folds: Number of outer folds.
        val_fraction: Share of the outer training regions moved to validation.
        seed: Base seed.

    Returns:
        The splits.
    """
    return [make_region_split(centroids, split_type, split_round, fold, num_folds, val_fraction, seed)
            for split_round in range(num_rounds) for fold in range(num_folds)]


def _check_request(centroids: np.ndarray, split_type: str, split_round: int, fold: int, num_folds: int,
                   val_fraction: float, seed: int) -> None:
    if split_type not in SPLIT_TYPES:
        raise ValueError(f"unknown split type {split_type!r}; use one of {SPLIT_TYPES}")
    if centroids.ndim != 2 or centroids.shape[1] != 3:
        raise ValueError(f"centroids must have shape (regions, 3), got {centroids.shape}")
    if split_type == "spatial" and not np.isfinite(centroids).all():
        raise ValueError("spatial splits need finite centroids for every region")
    if num_folds < 2:
        raise ValueError(f"num_folds must be at least 2, got {num_folds}")
    if not 0 <= fold < num_folds:
        raise ValueError(f"fold must satisfy 0 <= fold < num_folds = {num_folds}, got {fold}")
    if split_round < 0:
        raise ValueError(f"split_round must be >= 0, got {split_round}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    # Every test fold needs at least two regions, otherwise it holds no edge.
    if centroids.shape[0] < 2 * num_folds:
        raise ValueError(f"{centroids.shape[0]} regions are too few for {num_folds} folds: every test fold "
                         f"needs at least 2 regions (so at least {2 * num_folds} regions)")


def whole_brain_split(num_regions: int, val_fraction: float = 0.125, seed: int = 0) -> RegionSplit:
    """Train on every region but a random validation subset, with no test regions (the transfer analysis).

    The model is then evaluated on another dataset; the validation regions (``val_fraction`` of all
    regions, at least 2) serve early stopping, the LR schedule and best-weight selection, as in every run.

    Args:
        num_regions: Number of regions.
        val_fraction: Share of all regions held out for validation, in (0, 1).
        seed: Seed of the validation draw.

    Returns:
        The split (recorded as round 0, fold 0 of one ``random`` fold, with an empty test set).

    Raises:
        ValueError: For a fraction outside (0, 1) or too few regions to train on.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    regions = np.arange(num_regions)
    num_val = validation_size(num_regions, val_fraction)
    if num_regions - num_val < 2:
        raise ValueError(f"{num_regions} regions are too few to hold out {num_val} for validation")
    rng = split_rng(seed, "random", 0, _WHOLE_BRAIN_STREAM)
    val = np.sort(rng.choice(regions, size=num_val, replace=False)).astype(np.int64)
    train = np.setdiff1d(regions, val).astype(np.int64)
    return RegionSplit("random", 0, 0, 1, seed, train, val, np.zeros(0, dtype=np.int64))
