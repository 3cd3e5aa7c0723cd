"""Generate and score spatiomolecular nulls: the paper's Algorithm 1 (method §5).

Spins are processed in chunks (rotation, Váša assignment, binned permuted CGE, curve fits), which bounds
memory whatever the number of spins. After all spins are drawn, each curve parameter and the reassignment
cost are z-scored across the nulls and every null gets the summed absolute z-difference to the true brain
(whose reassignment cost is 0). A parameter with zero spread across the nulls cannot tell them apart and
contributes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ge2conn.data.format import BrainDataset
from ge2conn.nulls.curves import (
    BIN_WIDTH_MM,
    DistanceBins,
    coexpression_matrix,
    euclidean_distances,
    fit_cubic,
    fit_exponential,
)
from ge2conn.nulls.spins import draw_spins, spin_groups

ALGORITHM_VERSION = 2
"""Bump when the nulls of a given (dataset, n, seed) change, so that stale files are regenerated.
2: the Váša assignment runs in Váša's orientation (original regions choose rotated ones), as neuromaps."""
PARAMETER_NAMES = ("SA_lambda", "SA_inf", "a1", "a2", "a3", "a4", "reassignment_cost")
"""Columns of the scored parameter table: exponential, cubic (``np.polyfit`` order), reassignment cost."""
DEFAULT_CHUNK_SIZE = 500


@dataclass
class NullSet:
    """Spin nulls of one dataset with their CGE-vs-distance scores.

    Attributes:
        region_labels: (r,) labels of the regions the permutations index.
        dataset_fingerprint: sha256 of the inputs the nulls depend on (see :func:`dataset_fingerprint`).
        seed: Random seed.
        top: Number K of lowest-error nulls kept for training.
        bin_width: Distance bin width in mm.
        bin_lower_edges: (b,) lower edge of each non-empty bin.
        bin_counts: (b,) region pairs per bin.
        bin_distance: (b,) mean pair distance per bin.
        true_curve: (b,) binned CGE of the true brain.
        true_parameters: (7,) the true brain's parameters (:data:`PARAMETER_NAMES`, cost 0).
        permutations: (n, r) spin permutations, ``X_null = X[permutations[k]]``.
        rotations: (n, 3, 3) left-hemisphere rotation of each spin.
        curves: (n, b) binned CGE of each null.
        parameters: (n, 7) parameters of each null.
        error: (n,) summed absolute z-difference to the true brain.
        rank: (n,) rank of each null by error (0 = lowest).
        random_permutation: (r,) a plain uniform permutation of all regions (the figure's contrast).
        random_curve: (b,) its binned CGE.
    """

    region_labels: np.ndarray
    dataset_fingerprint: str
    seed: int
    top: int
    bin_width: float
    bin_lower_edges: np.ndarray
    bin_counts: np.ndarray
    bin_distance: np.ndarray
    true_curve: np.ndarray
    true_parameters: np.ndarray
    permutations: np.ndarray
    rotations: np.ndarray
    curves: np.ndarray
    parameters: np.ndarray
    error: np.ndarray
    rank: np.ndarray
    random_permutation: np.ndarray
    random_curve: np.ndarray

    @property
    def num_spins(self) -> int:
        """Number of spins n."""
        return int(self.permutations.shape[0])

    @property
    def top_spins(self) -> np.ndarray:
        """Spin indices of the K lowest-error nulls, rank 0 first."""
        return np.argsort(self.rank)[: self.top]


def dataset_fingerprint(dataset: BrainDataset) -> str:
    """sha256 over everything the nulls depend on: labels, hemispheres, structures, coordinates, expression.

    Args:
        dataset: The brain.

    Returns:
        Hex digest.
    """
    digest = hashlib.sha256()
    for values in (dataset.region_labels, dataset.hemisphere, dataset.structure):
        digest.update("\x1f".join(map(str, values)).encode())
        digest.update(b"\x1e")
    for array, dtype in ((dataset.centroids, np.float64), (dataset.sphere, np.float64),
                         (dataset.expression, np.float32)):
        digest.update(np.ascontiguousarray(array, dtype=dtype).tobytes())
    return digest.hexdigest()


def curve_parameters(curves: np.ndarray, bins: DistanceBins) -> np.ndarray:
    """Exponential and cubic fits of binned curves.

    Args:
        curves: (n, b) binned curves.
        bins: The distance bins.

    Returns:
        (n, 6) ``SA_lambda, SA_inf, a1, a2, a3, a4``.
    """
    return np.concatenate([fit_exponential(curves, bins.mean_distance, bins.counts),
                           fit_cubic(curves, bins.mean_distance, bins.counts)], axis=1)


def score_nulls(parameters: np.ndarray, true_parameters: np.ndarray) -> np.ndarray:
    """Summed absolute z-difference of each null's parameters to the true brain's.

    Args:
        parameters: (n, k) null parameters.
        true_parameters: (k,) true-brain parameters.

    Returns:
        (n,) errors. Each column is z-scored with the nulls' mean and SD; the mean cancels in the
        difference, and columns with zero SD are skipped.
    """
    spread = parameters.std(axis=0)
    usable = spread > 0
    difference = (parameters[:, usable] - true_parameters[usable]) / spread[usable]
    return np.abs(difference).sum(axis=1)


def generate_nulls(dataset: BrainDataset, num_spins: int = 10_000, top: int = 10, seed: int = 0,
                   chunk_size: int = DEFAULT_CHUNK_SIZE,
                   progress: Callable[[int], None] | None = None) -> NullSet:
    """Draw, fit and rank spin nulls (method §5.1–5.5).

    Args:
        dataset: The brain (regions without expression already dropped).
        num_spins: Number of spins N.
        top: Number K of lowest-error nulls to keep (must be ≤ N).
        seed: Random seed. Spins depend only on (dataset, N, seed), not on ``chunk_size`` (fitted
            parameters may differ in the last bits, as batched least squares round differently).
        chunk_size: Spins processed together (memory grows linearly with it).
        progress: Called with the number of spins finished after each chunk.

    Returns:
        The scored nulls.

    Raises:
        ValueError: for ``top`` outside 1..N.
    """
    if not 1 <= top <= num_spins:
        raise ValueError(f"top must be between 1 and the number of spins ({num_spins}), got {top}")
    coexpression = coexpression_matrix(dataset.expression)
    bins = DistanceBins.from_distances(euclidean_distances(dataset.centroids))
    true_curve = bins.curve(coexpression)
    true_parameters = np.append(curve_parameters(true_curve[None], bins)[0], 0.0)
    groups = spin_groups(dataset)
    rotation_seed, random_seed = np.random.SeedSequence(seed).spawn(2)
    rotation_rng, random_rng = np.random.default_rng(rotation_seed), np.random.default_rng(random_seed)
    # All rotations come from one stream drawn chunk by chunk, so the chunk size cannot change them.
    chunks = []
    for start in range(0, num_spins, chunk_size):
        count = min(chunk_size, num_spins - start)
        rotations, permutations, cost = draw_spins(groups, dataset.num_regions, count, rotation_rng,
                                                 redraw_seed=seed, first_spin=start)
        curves = bins.permuted_curves(coexpression, permutations)
        parameters = np.concatenate([curve_parameters(curves, bins), cost[:, None]], axis=1)
        chunks.append((rotations, permutations, curves, parameters))
        if progress is not None:
            progress(count)
    rotations, permutations, curves, parameters = (np.concatenate(parts)
                                                   for parts in zip(*chunks, strict=True))
    error = score_nulls(parameters, true_parameters)
    rank = np.empty(num_spins, dtype=np.int64)
    rank[np.argsort(error, kind="stable")] = np.arange(num_spins)
    random_permutation = random_rng.permutation(dataset.num_regions)
    return NullSet(
        region_labels=np.asarray(dataset.region_labels, dtype=str),
        dataset_fingerprint=dataset_fingerprint(dataset),
        seed=seed,
        top=top,
        bin_width=BIN_WIDTH_MM,
        bin_lower_edges=bins.lower_edges,
        bin_counts=bins.counts,
        bin_distance=bins.mean_distance,
        true_curve=true_curve,
        true_parameters=true_parameters,
        permutations=permutations,
        rotations=rotations,
        curves=curves,
        parameters=parameters,
        error=error,
        rank=rank,
        random_permutation=random_permutation,
        random_curve=bins.permuted_curves(coexpression, random_permutation[None])[0],
    )
