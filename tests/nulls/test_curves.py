from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.optimize import curve_fit
from scipy.spatial.distance import pdist, squareform

from ge2conn.data.format import BrainDataset
from ge2conn.nulls.curves import (
    DistanceBins,
    coexpression_matrix,
    euclidean_distances,
    exponential_curve,
    fit_cubic,
    fit_exponential,
)


@pytest.fixture(scope="module")
def synthetic(synthetic_path) -> BrainDataset:
    return BrainDataset.load(synthetic_path)


def test_coexpression_and_distances_match_scipy(synthetic: BrainDataset) -> None:
    coexpression = coexpression_matrix(synthetic.expression)
    assert coexpression[2, 7] == pytest.approx(stats.pearsonr(synthetic.expression[2],
                                                              synthetic.expression[7]).statistic, abs=1e-6)
    expected = squareform(pdist(synthetic.centroids))
    np.testing.assert_allclose(euclidean_distances(synthetic.centroids), expected, atol=1e-9)


def test_binned_curves_match_scipy_binned_statistic(synthetic: BrainDataset) -> None:
    coexpression = coexpression_matrix(synthetic.expression)
    distance = squareform(pdist(synthetic.centroids))
    bins = DistanceBins.from_distances(distance)
    first, second = np.triu_indices(synthetic.num_regions, k=1)
    edges = np.arange(0.0, distance.max() + 10.0, 5.0)
    permutation = np.random.default_rng(0).permutation(synthetic.num_regions)
    for matrix in (coexpression, coexpression[permutation][:, permutation]):
        means, _, _ = stats.binned_statistic(distance[first, second], matrix[first, second], "mean", edges)
        counts, _ = np.histogram(distance[first, second], edges)
        np.testing.assert_allclose(bins.curve(matrix), means[counts > 0], atol=1e-12)
        np.testing.assert_array_equal(bins.counts, counts[counts > 0])
        np.testing.assert_allclose(bins.lower_edges, edges[:-1][counts > 0])
    permuted = bins.permuted_curves(coexpression, np.stack([np.arange(synthetic.num_regions), permutation]))
    np.testing.assert_allclose(permuted[0], bins.curve(coexpression), atol=1e-12)
    np.testing.assert_allclose(permuted[1], bins.curve(coexpression[permutation][:, permutation]), atol=1e-12)
    pair_distance = distance[first, second]
    mean_distance, _, _ = stats.binned_statistic(pair_distance, pair_distance, "mean", edges)
    np.testing.assert_allclose(bins.mean_distance, mean_distance[counts > 0])


def test_exponential_fit_recovers_known_parameters() -> None:
    distance = np.arange(2.5, 150.0, 5.0)
    weights = np.random.default_rng(0).integers(5, 500, size=distance.size)
    truth = np.array([[12.0, 0.05], [30.0, -0.1], [60.0, 0.2], [4.0, 0.0]])
    curves = np.stack([exponential_curve(distance, length, plateau) for length, plateau in truth])
    np.testing.assert_allclose(fit_exponential(curves, distance, weights), truth, rtol=1e-5, atol=1e-6)
    single = fit_exponential(curves[1], distance, weights)
    np.testing.assert_allclose(single, truth[1], rtol=1e-5)


def test_exponential_fit_agrees_with_scipy_curve_fit_on_noisy_curves() -> None:
    rng = np.random.default_rng(1)
    distance = np.arange(2.5, 160.0, 5.0)
    weights = rng.integers(10, 3000, size=distance.size).astype(float)
    lengths, plateaus = rng.uniform(8, 50, size=25), rng.uniform(-0.2, 0.3, size=25)
    curves = np.stack([exponential_curve(distance, length, plateau)
                       for length, plateau in zip(lengths, plateaus, strict=True)])
    curves += rng.normal(scale=0.03, size=curves.shape) / np.sqrt(weights / weights.mean())
    fitted = fit_exponential(curves, distance, weights)
    for index, curve in enumerate(curves):
        expected, _ = curve_fit(lambda d, length, plateau: (1 - plateau) * np.exp(-d / length) + plateau,
                                distance, curve, p0=(20.0, 0.0), sigma=1.0 / np.sqrt(weights))
        np.testing.assert_allclose(fitted[index], expected, rtol=1e-4, atol=1e-6)
        assert fitted[index, 0] == pytest.approx(lengths[index], rel=0.3)


def test_exponential_fit_of_a_flat_curve_stays_within_bounds() -> None:
    distance = np.arange(2.5, 150.0, 5.0)
    length, plateau = fit_exponential(np.full(distance.size, 0.12), distance, np.ones(distance.size))
    assert 1.0 <= length <= 500.0 and np.isfinite(plateau)


def test_cubic_fit_equals_weighted_polyfit() -> None:
    rng = np.random.default_rng(2)
    distance = np.arange(2.5, 170.0, 5.0)
    weights = rng.integers(1, 4000, size=distance.size).astype(float)
    curves = rng.normal(size=(6, distance.size))
    fitted = fit_cubic(curves, distance, weights)
    for index, curve in enumerate(curves):
        np.testing.assert_allclose(fitted[index], np.polyfit(distance, curve, 3, w=np.sqrt(weights)),
                                   rtol=1e-6, atol=1e-12)
    known = np.array([-2e-6, 4e-4, -3e-2, 0.9])
    np.testing.assert_allclose(fit_cubic(np.polyval(known, distance), distance, weights), known, rtol=1e-8)
