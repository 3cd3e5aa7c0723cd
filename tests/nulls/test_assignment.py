from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from ge2conn.nulls.assignment import (
    MIRROR,
    mirror_rotations,
    random_rotations,
    vasa_assign,
    vasa_assign_reference,
)


def test_random_rotations_are_proper_and_uniform() -> None:
    rotations = random_rotations(np.random.default_rng(0), 4000)
    identity = np.broadcast_to(np.eye(3), rotations.shape)
    np.testing.assert_allclose(rotations @ rotations.transpose(0, 2, 1), identity, atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(rotations), 1.0, atol=1e-12)
    # Haar measure: a fixed unit vector lands uniformly on the sphere, so each coordinate of its image is
    # uniform on [-1, 1] (Archimedes), and the angle of rotation has density (1 - cos θ) / π.
    image = rotations @ np.array([0.0, 0.0, 1.0])
    for axis in range(3):
        assert stats.kstest(image[:, axis], stats.uniform(loc=-1, scale=2).cdf).pvalue > 1e-3
    angle = np.arccos(np.clip((np.trace(rotations, axis1=1, axis2=2) - 1) / 2, -1, 1))
    angle_cdf = lambda theta: (theta - np.sin(theta)) / np.pi  # noqa: E731
    assert stats.kstest(angle, angle_cdf).pvalue > 1e-3


def test_mirror_rotation_acts_on_mirrored_points_as_the_rotation_on_originals() -> None:
    rotation = random_rotations(np.random.default_rng(1), 1)[0]
    points = np.random.default_rng(2).normal(size=(10, 3))
    mirrored = mirror_rotations(rotation)
    np.testing.assert_allclose((points @ MIRROR.T) @ mirrored.T, (points @ rotation.T) @ MIRROR.T, atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(mirrored), 1.0)


def test_greedy_rule_on_a_hand_worked_case() -> None:
    # Targets at x=0 and x=1; rotated regions at x=0.2 and x=0.4. Both regions' nearest target is 0; region 1
    # is farther from it (0.4 > 0.2) so it is served first and takes target 0; region 0 gets target 1.
    # (The optimal assignment would be the identity with cost 0.8; the greedy rule pays 0.4 + 0.8.)
    targets = np.array([[0.0, 0, 0], [1.0, 0, 0]])
    rotated = np.array([[0.2, 0, 0], [0.4, 0, 0]])
    assignment, cost = vasa_assign(torch.tensor(rotated[None], dtype=torch.float32),
                                   torch.tensor(targets, dtype=torch.float32))
    assert assignment[0].tolist() == [1, 0]
    assert cost[0].item() == pytest.approx(1.2, abs=1e-6)
    reference, reference_cost = vasa_assign_reference(rotated, targets)
    assert reference.tolist() == [1, 0] and reference_cost == pytest.approx(1.2)
    rows, columns = linear_sum_assignment(cdist(rotated, targets))
    assert cdist(rotated, targets)[rows, columns].sum() == pytest.approx(0.8)  # greedy is not optimal


def test_batched_assignment_equals_the_reference_loop() -> None:
    rng = np.random.default_rng(3)
    points = rng.normal(size=(60, 3))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    rotations = random_rotations(rng, 40)
    rotated = np.einsum("sij,nj->sni", rotations, points)
    assignment, cost = vasa_assign(torch.tensor(rotated, dtype=torch.float32),
                                   torch.tensor(points, dtype=torch.float32))
    for spin in range(rotations.shape[0]):
        reference, reference_cost = vasa_assign_reference(rotated[spin], points)
        np.testing.assert_array_equal(assignment[spin].numpy(), reference)
        assert cost[spin].item() == pytest.approx(reference_cost, rel=1e-5)
        assert sorted(reference.tolist()) == list(range(60))
        # The recorded cost is the sum of the assigned distances (scipy's cdist, float64).
        assert reference_cost == pytest.approx(cdist(rotated[spin], points)[np.arange(60), reference].sum())


def test_assignment_of_an_unrotated_group_is_the_identity_at_zero_cost() -> None:
    points = np.random.default_rng(4).normal(size=(15, 3))
    assignment, cost = vasa_assign(torch.tensor(points[None]), torch.tensor(points))
    assert assignment[0].tolist() == list(range(15))
    assert cost[0].item() == 0.0
