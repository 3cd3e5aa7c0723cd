from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from ge2conn.data.format import BrainDataset
from ge2conn.nulls.curves import DistanceBins, coexpression_matrix, euclidean_distances
from ge2conn.nulls.generate import curve_parameters, generate_nulls, score_nulls


@pytest.fixture(scope="module")
def synthetic(synthetic_path) -> BrainDataset:
    return BrainDataset.load(synthetic_path)


def test_score_is_the_summed_absolute_z_difference() -> None:
    rng = np.random.default_rng(0)
    parameters = rng.normal(size=(50, 4)) * [1.0, 10.0, 0.01, 5.0]
    parameters[:, 2] = 3.0  # no spread: cannot tell nulls apart, contributes nothing
    truth = np.array([0.5, -2.0, 7.0, 0.0])
    expected = np.zeros(50)
    for column in (0, 1, 3):
        z_nulls = stats.zscore(parameters[:, column])
        z_true = (truth[column] - parameters[:, column].mean()) / parameters[:, column].std()
        expected += np.abs(z_nulls - z_true)
    np.testing.assert_allclose(score_nulls(parameters, truth), expected)


def test_nulls_are_deterministic_and_independent_of_chunking(synthetic: BrainDataset) -> None:
    first = generate_nulls(synthetic, num_spins=40, top=5, seed=3, chunk_size=40)
    again = generate_nulls(synthetic, num_spins=40, top=5, seed=3, chunk_size=7)
    other = generate_nulls(synthetic, num_spins=40, top=5, seed=4)
    for name in ("permutations", "rotations", "rank", "random_permutation"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name), err_msg=name)
    # Batched least squares may round differently for another batch size.
    for name in ("curves", "parameters", "error"):
        np.testing.assert_allclose(getattr(first, name), getattr(again, name), rtol=1e-10, err_msg=name)
    assert not np.array_equal(first.permutations, other.permutations)


def test_generated_nulls_are_consistent(synthetic: BrainDataset) -> None:
    nulls = generate_nulls(synthetic, num_spins=60, top=4, seed=0)
    coexpression = np.corrcoef(synthetic.expression.astype(np.float64))
    bins = DistanceBins.from_distances(euclidean_distances(synthetic.centroids))
    np.testing.assert_allclose(nulls.true_curve, bins.curve(coexpression))
    spin = 17
    permuted = coexpression[nulls.permutations[spin]][:, nulls.permutations[spin]]
    np.testing.assert_allclose(nulls.curves[spin], bins.curve(permuted), atol=1e-12)
    np.testing.assert_allclose(nulls.parameters[:, :6], curve_parameters(nulls.curves, bins))
    assert nulls.true_parameters[6] == 0.0
    # Ranks order the errors, rank 0 first; the kept nulls are the K lowest.
    np.testing.assert_array_equal(np.sort(nulls.rank), np.arange(60))
    assert (np.diff(nulls.error[np.argsort(nulls.rank)]) >= 0).all()
    np.testing.assert_array_equal(nulls.top_spins, np.argsort(nulls.error, kind="stable")[:4])
    assert sorted(nulls.random_permutation.tolist()) == list(range(synthetic.num_regions))
    with pytest.raises(ValueError, match="top"):
        generate_nulls(synthetic, num_spins=5, top=6)


def curve_only_error(curves: np.ndarray, bins: DistanceBins, reference: np.ndarray,
                     truth: np.ndarray) -> np.ndarray:
    """Curve part of the error, z-scored with the spins' spread (plain permutations have no cost)."""
    parameters = curve_parameters(curves, bins)
    spread = reference[:, :6].std(axis=0)
    return (np.abs(parameters - truth[:6]) / spread).sum(axis=1)


def test_top_nulls_keep_the_curve_that_random_permutations_destroy(s456: BrainDataset) -> None:
    nulls = generate_nulls(s456, num_spins=200, top=10, seed=0)
    permutations = nulls.permutations
    assert permutations.shape == (200, 456)
    assert (s456.hemisphere[permutations] == s456.hemisphere).all()
    assert (s456.structure[permutations] == s456.structure).all()
    bins = DistanceBins.from_distances(euclidean_distances(s456.centroids))
    rng = np.random.default_rng(0)
    random_permutations = np.stack([rng.permutation(456) for _ in range(50)])
    random_curves = bins.permuted_curves(coexpression_matrix(s456.expression), random_permutations)
    top_error = curve_only_error(nulls.curves[nulls.top_spins], bins, nulls.parameters, nulls.true_parameters)
    random_error = curve_only_error(random_curves, bins, nulls.parameters, nulls.true_parameters)
    assert top_error.max() < random_error.min()

    def deviation(curves: np.ndarray) -> np.ndarray:
        return np.sqrt((bins.counts * (curves - nulls.true_curve) ** 2).sum(axis=1) / bins.counts.sum())

    assert deviation(nulls.curves[nulls.top_spins]).max() < deviation(random_curves).min()
    # Top nulls are better than the typical spin, too.
    assert nulls.error[nulls.top_spins].max() <= np.median(nulls.error)
