from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ge2conn.data.format import BrainDataset
from ge2conn.nulls import spins as spins_module
from ge2conn.nulls.assignment import MIRROR, random_rotations, vasa_assign_reference
from ge2conn.nulls.spins import draw_spins, spin_groups, spin_permutations


@pytest.fixture(scope="module")
def synthetic(synthetic_path) -> BrainDataset:
    return BrainDataset.load(synthetic_path)


def mirrored_brain() -> BrainDataset:
    """A brain whose right hemisphere is the exact mirror image of its left (cortex and subcortex)."""
    rng = np.random.default_rng(5)
    left_sphere = rng.normal(size=(12, 3))
    left_sphere /= np.linalg.norm(left_sphere, axis=1, keepdims=True)
    left_cortex = np.array([-35.0, -15, 10]) + 40 * left_sphere
    left_subcortex = np.array([-15.0, -10, 0]) + rng.normal(scale=8, size=(5, 3))
    centroids = np.concatenate([left_cortex, left_cortex @ MIRROR, left_subcortex, left_subcortex @ MIRROR])
    sphere = np.full((34, 3), np.nan)
    sphere[:24] = np.concatenate([left_sphere, left_sphere @ MIRROR])
    hemisphere = np.array(["L"] * 12 + ["R"] * 12 + ["L"] * 5 + ["R"] * 5)
    structure = np.array(["cortex"] * 24 + ["subcortex"] * 10)
    labels = np.array([f"region{index}" for index in range(34)])
    return BrainDataset("mirrored", rng.random((34, 4)).astype(np.float32), np.array(["A", "B", "C", "D"]),
                        np.array(["1"] * 4), np.arange(4), np.array(["+"] * 4), labels, hemisphere, structure,
                        structure.copy(), centroids, sphere, np.zeros((34, 34), np.float32))


def reference_permutation(groups: list[spins_module.SpinGroup], rotation: np.ndarray,
                          size: int) -> np.ndarray:
    """One spin, group by group, with the plain loop implementation of the Váša rule."""
    permutation = np.arange(size)
    for group in groups:
        turn = MIRROR @ rotation @ MIRROR if group.mirrored else rotation
        assignment, _ = vasa_assign_reference(group.positions, group.positions @ turn.T)
        permutation[group.regions] = group.regions[assignment]
    return permutation


def test_groups_split_by_structure_and_hemisphere(synthetic: BrainDataset) -> None:
    groups = {group.name: group for group in spin_groups(synthetic)}
    assert list(groups) == ["cortex/L", "cortex/R", "subcortex/L", "subcortex/R"]
    np.testing.assert_array_equal(groups["cortex/L"].positions, synthetic.sphere[:8])
    assert groups["cortex/R"].mirrored and not groups["cortex/L"].mirrored
    # Subcortex is centred on the group's own mean centroid (MNI mm).
    centred = synthetic.centroids[16:20] - synthetic.centroids[16:20].mean(axis=0)
    np.testing.assert_allclose(groups["subcortex/L"].positions, centred)


def test_cortex_without_sphere_falls_back_to_centred_projection(synthetic: BrainDataset) -> None:
    without = replace(synthetic, sphere=np.full_like(synthetic.sphere, np.nan))
    group = spin_groups(without)[1]
    centred = synthetic.centroids[8:16] - synthetic.centroids[8:16].mean(axis=0)
    np.testing.assert_allclose(group.positions, centred / np.linalg.norm(centred, axis=1, keepdims=True))
    assert group.scale_mm == pytest.approx(np.linalg.norm(centred, axis=1).mean())


def test_spins_are_permutations_within_groups_and_never_the_identity(synthetic: BrainDataset) -> None:
    groups = spin_groups(synthetic)
    _, permutations, cost = draw_spins(groups, synthetic.num_regions, 300, np.random.default_rng(0), 0)
    identity = np.arange(synthetic.num_regions)
    for permutation in permutations:
        np.testing.assert_array_equal(np.sort(permutation), identity)
    assert not (permutations == identity).all(axis=1).any()
    np.testing.assert_array_equal(synthetic.hemisphere[permutations], np.broadcast_to(synthetic.hemisphere,
                                                                                       permutations.shape))
    np.testing.assert_array_equal(synthetic.structure[permutations], np.broadcast_to(synthetic.structure,
                                                                                      permutations.shape))
    assert (cost > 0).all()


def test_batched_spins_equal_the_reference_loop_on_the_same_rotations(synthetic: BrainDataset) -> None:
    groups = spin_groups(synthetic)
    rotations = random_rotations(np.random.default_rng(1), 25)
    permutations, cost = spin_permutations(groups, rotations, synthetic.num_regions)
    for spin, rotation in enumerate(rotations):
        np.testing.assert_array_equal(permutations[spin],
                                      reference_permutation(groups, rotation, synthetic.num_regions))
    # Cost in mm: cortical unit-sphere distances times the cortical radius, subcortical distances as they are.
    expected = sum(vasa_assign_reference(group.positions, group.positions @ (
                       MIRROR @ rotations[0] @ MIRROR if group.mirrored else rotations[0]).T)[1]
                   * group.scale_mm for group in groups)
    assert cost[0] == pytest.approx(expected, rel=1e-5)


def test_right_hemisphere_spins_mirror_the_left() -> None:
    brain = mirrored_brain()
    _, permutations, _ = draw_spins(spin_groups(brain), 34, 50, np.random.default_rng(2), 0)
    np.testing.assert_array_equal(permutations[:, 12:24] - 12, permutations[:, :12])
    np.testing.assert_array_equal(permutations[:, 29:34] - 5, permutations[:, 24:29])


def test_identity_spins_are_redrawn(synthetic: BrainDataset, monkeypatch: pytest.MonkeyPatch) -> None:
    draws: list[int] = []

    def identity_first(rng: np.random.Generator, count: int) -> np.ndarray:
        draws.append(count)
        rotations = random_rotations(rng, count)
        if len(draws) == 1:
            rotations[[0, 3]] = np.eye(3)  # the first batch has two spins that do not move anything
        return rotations

    monkeypatch.setattr(spins_module, "random_rotations", identity_first)
    rotations, permutations, _ = draw_spins(spin_groups(synthetic), synthetic.num_regions, 6,
                                            np.random.default_rng(3), 0)
    assert draws[:3] == [6, 1, 1]
    assert not (permutations == np.arange(synthetic.num_regions)).all(axis=1).any()
    assert not np.allclose(rotations[0], np.eye(3)) and not np.allclose(rotations[3], np.eye(3))


def test_a_brain_of_single_region_groups_cannot_be_spun(synthetic: BrainDataset) -> None:
    single = synthetic.select_regions(np.array([0, 8, 16, 20]))
    with pytest.raises(ValueError, match="identity"):
        draw_spins(spin_groups(single), 4, 3, np.random.default_rng(0), 0)

