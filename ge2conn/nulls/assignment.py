"""Random rotations and the Váša et al. (2018) greedy reassignment of rotated regions (method §5.1).

The greedy rule: repeatedly take the unassigned source whose nearest free target is farthest away and give it
that target. Váša's code (``rotate_parcellation.m``), netneurotools' and neuromaps' ``gen_spinsamples(...,
method="vasa")`` take the original (unrotated) regions as sources and the rotated regions as targets;
:func:`ge2conn.nulls.spins.spin_permutations` does the same, so a spin equals theirs on the same rotation
(``tests/ecosystem/test_spin_parity.py``). :func:`vasa_assign` runs the rule for a whole batch of
spins at once: all spins advance one assignment step at a time, so one step is a handful of tensor
operations over ``(spins, regions)`` instead of a Python loop per spin.
"""

from __future__ import annotations

import numpy as np
import torch

MIRROR = np.diag([-1.0, 1.0, 1.0])
"""Reflection through the mid-sagittal plane (x -> -x)."""


def random_rotations(rng: np.random.Generator, count: int) -> np.ndarray:
    """Draw rotations uniformly (Haar measure) from SO(3).

    QR of a Gaussian matrix with the signs of R's diagonal moved into Q is Haar on O(3); right-multiplying
    the reflections by diag(-1, 1, 1) maps them measure-preservingly onto SO(3).

    Args:
        rng: Random generator.
        count: Number of rotations.

    Returns:
        (count, 3, 3) rotation matrices (orthogonal, determinant +1).
    """
    gaussian = rng.standard_normal((count, 3, 3))
    q, r = np.linalg.qr(gaussian)
    q = q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]
    reflections = np.linalg.det(q) < 0
    q[reflections, :, 0] *= -1.0
    return q


def mirror_rotations(rotations: np.ndarray) -> np.ndarray:
    """The mirror image F R F of rotations (F = diag(-1, 1, 1)), used for the right hemisphere.

    Args:
        rotations: (..., 3, 3) rotations.

    Returns:
        Rotations of the same shape that act on mirrored coordinates as ``rotations`` act on the originals.
    """
    return MIRROR @ rotations @ MIRROR


def vasa_assign(sources: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Assign sources to targets one-to-one with the greedy Váša rule, batched over spins.

    Ties are broken towards the lowest index (first maximal source, first nearest target), as numpy's
    ``argmax``/``argmin`` in the reference implementations.

    Args:
        sources: (spins, n, 3) positions that choose (the original regions, in Váša's orientation).
        targets: (n, 3) positions chosen (the rotated regions), or (spins, n, 3) when they differ between
            batch entries.

    Returns:
        ``(assignment, cost)``: (spins, n) int64 target index given to each source, and (spins,) total
        reassignment distance (sum of the assigned Euclidean distances).
    """
    spins, size = sources.shape[0], sources.shape[1]
    if size == 0:
        return torch.zeros((spins, 0), dtype=torch.int64), torch.zeros(spins, dtype=sources.dtype)
    # The loop is thousands of small tensor operations: intra-op threads only add synchronisation, and on
    # a busy 2-core machine they made each step 20-50x slower (measured). Run it on one thread.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _vasa_assign(sources, targets)
    finally:
        torch.set_num_threads(threads)


def _vasa_assign(sources: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    spins, size = sources.shape[0], sources.shape[1]
    # distance[s, i, j]: source i to target j. Exact differences, not |a|² + |b|² - 2ab, whose float32
    # round-off would reorder near-equal distances.
    distance = torch.cdist(sources, targets.expand(spins, size, 3).contiguous(),
                           compute_mode="donot_use_mm_for_euclid_dist")
    nearest, nearest_target = distance.min(dim=2)
    score = nearest.clone()  # nearest free distance of unassigned sources, -inf once assigned
    assignment = torch.full((spins, size), -1, dtype=torch.int64)
    cost = torch.zeros(spins, dtype=distance.dtype)
    done = torch.zeros((spins, size), dtype=torch.bool)
    taken = torch.zeros((spins, size), dtype=torch.bool)
    every_spin = torch.arange(spins)
    for _ in range(size):
        region = score.argmax(dim=1)
        target = nearest_target[every_spin, region]
        cost += nearest[every_spin, region]
        assignment[every_spin, region] = target
        score[every_spin, region] = -torch.inf
        done[every_spin, region] = True
        taken[every_spin, target] = True
        # Only sources whose nearest target was just taken need a new nearest free target (usually one or
        # two per spin), so the distance matrix is read row by row and never rewritten.
        stale = (nearest_target == target[:, None]) & ~done
        spin_index, region_index = stale.nonzero(as_tuple=True)
        if spin_index.numel():
            rows = distance[spin_index, region_index].masked_fill(taken[spin_index], torch.inf)
            new_nearest, new_target = rows.min(dim=1)
            nearest[spin_index, region_index] = new_nearest
            score[spin_index, region_index] = new_nearest
            nearest_target[spin_index, region_index] = new_target
    return assignment, cost


def vasa_assign_reference(sources: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, float]:
    """One-spin, loop-by-loop Váša assignment (the plain reading of the rule; for tests and benchmarks).

    Args:
        sources: (n, 3) positions that choose (original regions).
        targets: (n, 3) positions chosen (rotated regions).

    Returns:
        ``(assignment, cost)``: target index per source and the total assigned distance.
    """
    size = sources.shape[0]
    distance = np.sqrt(((sources[:, None, :] - targets[None, :, :]) ** 2).sum(axis=-1))
    free_targets = list(range(size))
    unassigned = list(range(size))
    assignment = np.full(size, -1, dtype=np.int64)
    cost = 0.0
    while unassigned:
        best_region, best_target, best_distance = -1, -1, -np.inf
        for region in unassigned:
            row = distance[region, free_targets]
            nearest = int(np.argmin(row))
            if row[nearest] > best_distance:
                best_region, best_target, best_distance = region, free_targets[nearest], float(row[nearest])
        assignment[best_region] = best_target
        cost += best_distance
        unassigned.remove(best_region)
        free_targets.remove(best_target)
    return assignment, cost
