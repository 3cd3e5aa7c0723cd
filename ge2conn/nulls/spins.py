"""Spin permutations of a parcellated brain (method §5.1–5.2).

Regions are split into spin groups that never exchange regions:

* cortex, one group per hemisphere, on the unit sphere. The dataset's sphere coordinates are used when it
  has them; otherwise each hemisphere's MNI centroids are centred on that hemisphere's mean cortical
  centroid and projected onto the unit sphere.
* every other structure (subcortex, cerebellum, brainstem), one group per (structure, hemisphere), in MNI
  mm centred on the group's own mean centroid, so a rotation turns the group about its own centre.

Every spin draws one uniform rotation R. Left-hemisphere and midline groups turn by R, right-hemisphere
groups by the mirrored rotation F R F (F = diag(-1, 1, 1)), so a spin keeps bilateral symmetry. Each group
is then reassigned with the Váša rule (:func:`ge2conn.nulls.assignment.vasa_assign`) in Váša's orientation:
the original region whose nearest free rotated region is farthest away is served first.

Parity with neuromaps / netneurotools ``gen_spinsamples(coords, hemiid, method="vasa")`` (tested in
``tests/ecosystem/test_spin_parity.py``): their rotation matrices act on row vectors (``coords @ rotate_l``),
ours on column vectors, so their spin with ``rotate_l`` is ours with ``R = rotate_l.T``; cortical spins are
then identical. Their resampling array is ``permutations.T`` (regions × spins). What they do not do and we do
on purpose: non-cortical groups (subcortex, cerebellum, brainstem) are spun too, in MNI space about their own
centre, and never mix with cortex; midline regions turn with the left hemisphere.

A spin's reassignment cost is the sum of the assigned distances in mm. Cortical distances on the unit
sphere are scaled to mm by the cortical radius (the mean distance of the hemisphere's cortical centroids
from their centre), so that cortical and subcortical distances add up in one unit.

Permutation semantics: ``X_null = X[permutation]``: original position j receives the expression of the
rotated region assigned to j.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ge2conn.data.format import BrainDataset
from ge2conn.nulls.assignment import mirror_rotations, random_rotations, vasa_assign

MAX_IDENTITY_REDRAWS = 1000
"""Give up when a spin keeps producing the identity (a brain whose groups are all single regions)."""


@dataclass(frozen=True)
class SpinGroup:
    """Regions that are spun and reassigned together.

    Attributes:
        name: ``"<structure>/<hemisphere>"``, e.g. ``"cortex/L"``.
        regions: Global region indices of the group.
        positions: (n, 3) positions the rotation acts on (unit sphere or centred MNI mm).
        mirrored: Whether the group turns by the mirrored rotation (right hemisphere).
        scale_mm: Factor turning the group's distances into mm (the radius for unit-sphere groups).
    """

    name: str
    regions: np.ndarray
    positions: np.ndarray
    mirrored: bool
    scale_mm: float


def spin_groups(dataset: BrainDataset) -> list[SpinGroup]:
    """Split a dataset's regions into spin groups (see the module docstring).

    Args:
        dataset: The brain.

    Returns:
        The groups, cortex first, in a fixed order.
    """
    groups: list[SpinGroup] = []
    for structure in ["cortex"] + sorted(set(dataset.structure.tolist()) - {"cortex"}):
        for hemisphere in ("L", "R", "M"):
            regions = np.flatnonzero((dataset.structure == structure) & (dataset.hemisphere == hemisphere))
            if regions.size == 0:
                continue
            centred = dataset.centroids[regions] - dataset.centroids[regions].mean(axis=0)
            radius = float(np.linalg.norm(centred, axis=1).mean())
            if structure == "cortex":
                positions = dataset.sphere[regions]
                if np.isnan(positions).any():
                    positions = centred / np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-12)
                scale = radius if radius > 0 else 1.0
            else:
                positions, scale = centred, 1.0
            groups.append(SpinGroup(f"{structure}/{hemisphere}", regions, np.asarray(positions, np.float64),
                                    hemisphere == "R", scale))
    return groups


def spin_permutations(groups: list[SpinGroup], rotations: np.ndarray,
                      num_regions: int) -> tuple[np.ndarray, np.ndarray]:
    """Permutations and reassignment costs of a batch of spins given their (left) rotations.

    Args:
        groups: Spin groups covering every region.
        rotations: (s, 3, 3) rotations.
        num_regions: Total number of regions r.

    Returns:
        ``(permutations, cost)``: (s, r) int64 with ``X_null = X[permutations[k]]``, and (s,) cost in mm.
    """
    spins = rotations.shape[0]
    permutations = np.tile(np.arange(num_regions, dtype=np.int64), (spins, 1))
    cost = np.zeros(spins, dtype=np.float64)
    mirrored = mirror_rotations(rotations)
    # Groups of equal size run as one batch: the assignment loop costs one step per region, whatever the
    # batch size, so stacking the two cortical hemispheres halves the number of steps.
    by_size: dict[int, list[SpinGroup]] = {}
    for group in groups:
        if group.regions.size > 1:
            by_size.setdefault(group.regions.size, []).append(group)
    for batch in by_size.values():
        rotated = np.concatenate([np.einsum("sij,nj->sni", mirrored if group.mirrored else rotations,
                                            group.positions) for group in batch])
        originals = np.concatenate([np.broadcast_to(group.positions, (spins, *group.positions.shape))
                                    for group in batch])
        assignment, group_cost = vasa_assign(torch.from_numpy(originals.astype(np.float32)),
                                             torch.from_numpy(rotated.astype(np.float32)))
        for index, group in enumerate(batch):
            block = slice(index * spins, (index + 1) * spins)
            # Original position i was given rotated region assignment[i]: it receives that region's data.
            permutations[:, group.regions] = group.regions[assignment[block].numpy()]
            cost += group_cost[block].numpy().astype(np.float64) * group.scale_mm
    return permutations, cost


def draw_spins(groups: list[SpinGroup], num_regions: int, count: int, rng: np.random.Generator,
               redraw_seed: int, first_spin: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw ``count`` spins, redrawing the rotation of any spin whose permutation is the identity.

    Args:
        groups: Spin groups.
        num_regions: Total number of regions.
        count: Number of spins.
        rng: Generator for the rotations (advanced by exactly ``count`` rotations).
        redraw_seed: Seed of the replacement rotations. Spin k's a-th replacement comes from its own
            generator ``(redraw_seed, k, a)``, so redraws never depend on how spins are chunked.
        first_spin: Global index of the first spin of this batch.

    Returns:
        ``(rotations, permutations, cost)`` of shapes (count, 3, 3), (count, r), (count,).

    Raises:
        ValueError: when no rotation moves any region (every group holds a single region).
    """
    if all(group.regions.size <= 1 for group in groups):
        raise ValueError("no spin group holds more than one region: every spin would be the identity")
    rotations = random_rotations(rng, count)
    permutations, cost = spin_permutations(groups, rotations, num_regions)
    identity = np.arange(num_regions)
    for attempt in range(MAX_IDENTITY_REDRAWS):
        redo = np.flatnonzero((permutations == identity).all(axis=1))
        if redo.size == 0:
            return rotations, permutations, cost
        for spin in redo:
            replacement_rng = np.random.default_rng([redraw_seed, first_spin + int(spin), attempt])
            rotations[spin] = random_rotations(replacement_rng, 1)[0]
        permutations[redo], cost[redo] = spin_permutations(groups, rotations[redo], num_regions)
    raise ValueError(f"spins kept producing the identity after {MAX_IDENTITY_REDRAWS} redraws")
