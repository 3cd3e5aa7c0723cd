"""Region splits and edge lists: properties checked against independent scipy/itertools computations."""

from __future__ import annotations

import itertools
import json
from math import comb
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.optimize
from scipy.spatial.distance import cdist

from ge2conn.data.edges import pairs_within
from ge2conn.data.splits import (
    RegionSplit,
    all_region_splits,
    balanced_spatial_folds,
    farthest_point_sources,
    make_region_split,
)


@pytest.fixture(scope="module")
def centroids(synthetic_path: Path) -> np.ndarray:
    with h5py.File(synthetic_path, "r") as file:
        return np.asarray(file["regions/centroid"][()], dtype=np.float64)


def _check_partition(split: RegionSplit, num_regions: int) -> None:
    train, val, test = (set(split.train.tolist()), set(split.val.tolist()), set(split.test.tolist()))
    assert not train & val and not train & test and not val & test
    assert train | val | test == set(range(num_regions))
    for values in (split.train, split.val, split.test):
        assert values.dtype == np.int64 and np.all(np.diff(values) > 0)


@pytest.mark.parametrize("split_type", ["random", "spatial"])
def test_train_val_test_are_disjoint_and_cover_regions(centroids: np.ndarray, split_type: str) -> None:
    for split in all_region_splits(centroids, split_type, num_rounds=3):
        _check_partition(split, centroids.shape[0])
        # 24 regions, 4 folds: 6 test regions; of 18 outer training regions round(0.125 · 18) = 2 validate.
        assert split.test.size == 6 and split.val.size == 2 and split.train.size == 16


def test_random_folds_of_a_round_partition_the_regions(centroids: np.ndarray) -> None:
    for split_round in range(3):
        tests = [make_region_split(centroids, "random", split_round, fold).test for fold in range(4)]
        merged = np.concatenate(tests)
        assert np.array_equal(np.sort(merged), np.arange(centroids.shape[0]))


def test_random_rounds_differ_and_are_reproducible(centroids: np.ndarray) -> None:
    first = make_region_split(centroids, "random", 0, 1, seed=5)
    again = make_region_split(centroids, "random", 0, 1, seed=5)
    assert first.to_dict() == again.to_dict()
    other_round = make_region_split(centroids, "random", 1, 1, seed=5)
    other_seed = make_region_split(centroids, "random", 0, 1, seed=6)
    assert not np.array_equal(first.test, other_round.test) or not np.array_equal(first.val, other_round.val)
    assert not np.array_equal(first.test, other_seed.test) or not np.array_equal(first.val, other_seed.val)


@pytest.fixture(scope="module")
def cortex_like() -> np.ndarray:
    """351 points on an ellipsoidal shell, the size of the Schaefer-300 + Glasser-scale problem."""
    rng = np.random.default_rng(11)
    directions = rng.normal(size=(351, 3))
    return 60.0 * directions / np.linalg.norm(directions, axis=1, keepdims=True) * [1.1, 1.5, 1.0]


@pytest.mark.parametrize("cloud", ["centroids", "cortex_like"])
def test_spatial_folds_of_a_round_partition_the_regions(cloud: str, request: pytest.FixtureRequest) -> None:
    points = request.getfixturevalue(cloud)
    for split_round in range(3):
        splits = [make_region_split(points, "spatial", split_round, fold) for fold in range(4)]
        merged = np.concatenate([split.test for split in splits])
        # Every region is tested exactly once per round, and the fold sizes differ by at most one.
        assert np.array_equal(np.sort(merged), np.arange(points.shape[0]))
        assert max(s.test.size for s in splits) - min(s.test.size for s in splits) <= 1
        assert all(split.source in split.test for split in splits)
    assert not np.array_equal(make_region_split(points, "spatial", 0, 0).test,
                              make_region_split(points, "spatial", 1, 0).test)


def _mean_within_fold_distance(points: np.ndarray, folds: list[np.ndarray]) -> float:
    return float(np.mean([cdist(points[fold], points[fold]).mean() for fold in folds]))


def test_spatial_folds_are_compact(cortex_like: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    for split_round in range(3):
        folds = [make_region_split(cortex_like, "spatial", split_round, fold).test for fold in range(4)]
        random = np.array_split(rng.permutation(cortex_like.shape[0]), 4)
        assert _mean_within_fold_distance(cortex_like, folds) < 0.7 * _mean_within_fold_distance(
            cortex_like, random)
        # Balance moves few regions away from their nearest fold centre.
        centres = np.stack([cortex_like[fold].mean(axis=0) for fold in folds])
        nearest = cdist(cortex_like, centres).argmin(axis=1)
        assert np.mean([(nearest[fold] == index).mean() for index, fold in enumerate(folds)]) > 0.9


def test_spatial_assignment_is_the_optimal_balanced_transport(cortex_like: np.ndarray) -> None:
    # Independent check with scipy's LP solver: for the final centres, no assignment with the same fold
    # sizes has a smaller total squared distance than the partition.
    folds, _ = balanced_spatial_folds(cortex_like, 4, np.random.default_rng(3))
    centres = np.stack([cortex_like[fold].mean(axis=0) for fold in folds])
    cost = cdist(cortex_like, centres, "sqeuclidean")
    count, num_folds = cost.shape
    sizes = [fold.size for fold in folds]
    equality = np.zeros((count + num_folds, count * num_folds))
    for region in range(count):
        equality[region, region * num_folds:(region + 1) * num_folds] = 1.0
    for fold in range(num_folds):
        equality[count + fold, fold::num_folds] = 1.0
    optimum = scipy.optimize.linprog(cost.ravel(), A_eq=equality, b_eq=np.r_[np.ones(count), sizes],
                                     bounds=(0, 1), method="highs")
    ours = sum(cost[fold, index].sum() for index, fold in enumerate(folds))
    assert optimum.status == 0 and ours == pytest.approx(optimum.fun, rel=1e-9)


def test_farthest_point_sources(centroids: np.ndarray) -> None:
    distances = cdist(centroids, centroids)
    sources = list(farthest_point_sources(distances, 4, np.random.default_rng(1)))
    assert len(set(sources)) == 4
    for position in range(1, 4):
        nearest_chosen = distances[:, sources[:position]].min(axis=1)
        assert nearest_chosen[sources[position]] == pytest.approx(nearest_chosen.max())


def test_spatial_validation_is_a_contiguous_patch_of_training_regions(centroids: np.ndarray) -> None:
    distances = cdist(centroids, centroids)
    split = make_region_split(centroids, "spatial", 2, 3, val_fraction=0.3)
    assert split.val.size == round(0.3 * 18)
    # Some validation region is the patch centre: all validation regions are nearer to it than any train one.
    assert any(distances[centre, split.val].max() <= distances[centre, split.train].min()
               for centre in split.val)


def test_random_validation_is_carved_from_training(centroids: np.ndarray) -> None:
    split = make_region_split(centroids, "random", 0, 2)
    outer_train = np.setdiff1d(np.arange(centroids.shape[0]), split.test)
    assert np.array_equal(np.union1d(split.train, split.val), outer_train)


def test_json_round_trip(centroids: np.ndarray) -> None:
    split = make_region_split(centroids, "spatial", 1, 2)
    restored = RegionSplit.from_dict(json.loads(split.to_json()))
    assert restored.to_dict() == split.to_dict()
    assert "spatial" in str(split)


def test_forty_splits_by_default(centroids: np.ndarray) -> None:
    assert len(all_region_splits(centroids)) == 40


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"fold": 4}, "fold must satisfy"),
        ({"fold": -1}, "fold must satisfy"),
        ({"num_folds": 1}, "at least 2"),
        ({"split_type": "checkerboard"}, "unknown split type"),
        ({"val_fraction": 0.0}, "val_fraction"),
        ({"val_fraction": 0.95}, "too few"),
        ({"num_folds": 13}, "too few for 13 folds"),
    ],
)
def test_impossible_requests_fail_clearly(centroids: np.ndarray, arguments: dict[str, object],
                                          message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_region_split(centroids, **arguments)  # type: ignore[arg-type]


def test_pairs_within_matches_itertools() -> None:
    regions = np.array([9, 2, 5, 11, 3])
    expected = sorted(itertools.combinations(sorted(regions.tolist()), 2))
    once = pairs_within(regions)
    assert once.shape == (comb(5, 2), 2) and once.dtype == np.int64
    assert sorted(map(tuple, once.tolist())) == expected
    both = pairs_within(regions, both_orientations=True)
    assert both.shape == (2 * comb(5, 2), 2)
    assert sorted(map(tuple, both.tolist())) == sorted(expected + [(j, i) for i, j in expected])
    assert not np.any(both[:, 0] == both[:, 1])
