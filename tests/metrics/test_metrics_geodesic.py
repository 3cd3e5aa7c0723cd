"""GeodesicDistance against scipy.linalg.eigh on independently built numpy matrices."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch

from ge2conn.metrics import GeodesicDistance, affine_invariant_distance, geodesic_distance, shrink_to_spd

ALPHA = 0.1


def random_correlation(size: int, samples: int, generator: np.random.Generator) -> np.ndarray:
    data = generator.standard_normal((samples, size)) + 0.5 * generator.standard_normal((samples, 1))
    return np.corrcoef(data, rowvar=False)


def edges_of(
    matrix: np.ndarray, regions: np.ndarray, generator: np.random.Generator
) -> tuple[np.ndarray, ...]:
    """Every unordered pair once, in shuffled order and random orientation, with global region ids."""
    local_rows, local_cols = np.triu_indices(len(regions), k=1)
    values = matrix[local_rows, local_cols]
    order = generator.permutation(values.size)
    flip = generator.random(values.size) < 0.5
    rows = np.where(flip, local_cols, local_rows)[order]
    cols = np.where(flip, local_rows, local_cols)[order]
    return regions[rows], regions[cols], values[order]


def numpy_geodesic(first: np.ndarray, second: np.ndarray) -> float:
    eigenvalues = scipy.linalg.eigh(first, second, eigvals_only=True)
    return float(np.sqrt(np.sum(np.log(eigenvalues) ** 2)))


def numpy_shrink(matrix: np.ndarray, alpha: float) -> np.ndarray:
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    return (eigenvectors * ((1 - alpha) * np.clip(eigenvalues, 0, None) + alpha)) @ eigenvectors.T


@pytest.fixture
def connectomes() -> dict[str, np.ndarray]:
    generator = np.random.default_rng(11)
    regions = np.sort(generator.choice(80, size=25, replace=False))  # non-contiguous global region ids
    true_matrix = random_correlation(25, 200, generator)
    predicted_matrix = random_correlation(25, 120, generator)
    true_rows, true_cols, true_values = edges_of(true_matrix, regions, np.random.default_rng(1))
    # The predicted matrix is indexed by the same (row, col) pairs.
    local = {region: index for index, region in enumerate(regions)}
    predicted_values = np.array(
        [predicted_matrix[local[r], local[c]] for r, c in zip(true_rows, true_cols, strict=True)]
    )
    return {
        "true": true_matrix,
        "predicted": predicted_matrix,
        "rows": true_rows,
        "cols": true_cols,
        "target": true_values,
        "preds": predicted_values,
    }


def run_metric(metric: GeodesicDistance, data: dict[str, np.ndarray], batches: int = 1) -> float:
    chunks = np.array_split(np.arange(data["rows"].size), batches)
    for chunk in chunks:
        metric.update(
            preds=torch.tensor(data["preds"][chunk]),
            target=torch.tensor(data["target"][chunk]),
            rows=torch.tensor(data["rows"][chunk]),
            cols=torch.tensor(data["cols"][chunk]),
        )
    return metric.compute().item()


def test_matches_scipy_generalized_eigh(connectomes: dict[str, np.ndarray]) -> None:
    # Both matrices are correlation matrices (PSD), so the shrinkage is plain (1 - α) C + α I.
    first = (1 - ALPHA) * connectomes["true"] + ALPHA * np.eye(25)
    second = (1 - ALPHA) * connectomes["predicted"] + ALPHA * np.eye(25)
    expected = numpy_geodesic(first, second)
    value = run_metric(GeodesicDistance(shrinkage=ALPHA), connectomes, batches=4)
    assert value == pytest.approx(expected, rel=1e-9)
    assert expected > 0.5


def test_indefinite_prediction_is_clipped_then_shrunk(connectomes: dict[str, np.ndarray]) -> None:
    generator = np.random.default_rng(2)
    noise = generator.standard_normal((25, 25))
    indefinite = connectomes["predicted"] + 0.6 * (noise + noise.T)
    np.fill_diagonal(indefinite, 1.0)
    assert np.linalg.eigvalsh(indefinite).min() < -0.5
    regions = np.arange(25)
    rows, cols = np.triu_indices(25, k=1)
    value = geodesic_distance(
        preds=torch.tensor(indefinite[rows, cols]),
        target=torch.tensor(connectomes["true"][rows, cols]),
        rows=torch.tensor(regions[rows]),
        cols=torch.tensor(regions[cols]),
        shrinkage=ALPHA,
    ).item()
    expected = numpy_geodesic(numpy_shrink(connectomes["true"], ALPHA), numpy_shrink(indefinite, ALPHA))
    assert value == pytest.approx(expected, rel=1e-9)
    assert math.isfinite(value)


def test_symmetric_and_zero_for_identical(connectomes: dict[str, np.ndarray]) -> None:
    swapped = dict(connectomes, preds=connectomes["target"], target=connectomes["preds"])
    forward = run_metric(GeodesicDistance(), connectomes)
    backward = run_metric(GeodesicDistance(), swapped)
    assert forward == pytest.approx(backward, rel=1e-10)
    identical = dict(connectomes, preds=connectomes["target"])
    assert run_metric(GeodesicDistance(), identical) == pytest.approx(0.0, abs=1e-6)
    first = shrink_to_spd(torch.tensor(connectomes["true"]))
    second = shrink_to_spd(torch.tensor(connectomes["predicted"]))
    assert affine_invariant_distance(first, second).item() == pytest.approx(
        affine_invariant_distance(second, first).item(), rel=1e-10
    )


def test_duplicate_edges_and_both_orientations_do_not_change_result(
    connectomes: dict[str, np.ndarray],
) -> None:
    expected = run_metric(GeodesicDistance(), connectomes)
    repeat = np.concatenate([np.arange(connectomes["rows"].size), np.arange(17), np.arange(5)])
    duplicated = {
        key: value[repeat] for key, value in connectomes.items() if key not in ("true", "predicted")
    }
    assert run_metric(GeodesicDistance(), duplicated, batches=3) == pytest.approx(expected, rel=1e-12)
    # Adding the reverse orientation of every edge with the same values is also harmless.
    both = {
        "rows": np.concatenate([connectomes["rows"], connectomes["cols"]]),
        "cols": np.concatenate([connectomes["cols"], connectomes["rows"]]),
        "preds": np.concatenate([connectomes["preds"], connectomes["preds"]]),
        "target": np.concatenate([connectomes["target"], connectomes["target"]]),
    }
    assert run_metric(GeodesicDistance(), both) == pytest.approx(expected, rel=1e-12)


def test_asymmetric_orientations_are_averaged(connectomes: dict[str, np.ndarray]) -> None:
    generator = np.random.default_rng(4)
    forward_preds = connectomes["preds"] + 0.05 * generator.standard_normal(connectomes["preds"].size)
    backward_preds = 2 * connectomes["preds"] - forward_preds  # mean of the two orientations = preds
    both = {
        "rows": np.concatenate([connectomes["rows"], connectomes["cols"]]),
        "cols": np.concatenate([connectomes["cols"], connectomes["rows"]]),
        "preds": np.concatenate([forward_preds, backward_preds]),
        "target": np.concatenate([connectomes["target"], connectomes["target"]]),
    }
    expected = run_metric(GeodesicDistance(), connectomes)
    assert run_metric(GeodesicDistance(), both) == pytest.approx(expected, rel=1e-9)


def test_bfloat16_predictions(connectomes: dict[str, np.ndarray]) -> None:
    rounded = torch.tensor(connectomes["preds"], dtype=torch.bfloat16)
    data = dict(connectomes, preds=rounded.double().numpy())
    expected = run_metric(GeodesicDistance(), data)
    metric = GeodesicDistance()
    metric.update(
        preds=rounded,
        target=torch.tensor(connectomes["target"]),
        rows=torch.tensor(connectomes["rows"]),
        cols=torch.tensor(connectomes["cols"]),
    )
    assert metric.compute().item() == pytest.approx(expected, rel=1e-12)


def test_incomplete_matrix_gives_nan_with_warning(connectomes: dict[str, np.ndarray]) -> None:
    partial = {key: value[:-1] for key, value in connectomes.items() if key not in ("true", "predicted")}
    with pytest.warns(UserWarning, match="complete test block"):
        assert math.isnan(run_metric(GeodesicDistance(), partial))


def test_legacy_reproduces_reference_formula(connectomes: dict[str, np.ndarray]) -> None:
    # Independent numpy statement of the published computation: zero diagonals, SVD-based T^{-1/2} with
    # singular values lifted to 1e-3, then the singular values of T^{-1/2} P T^{-1/2}.
    true_matrix = connectomes["true"].copy()
    predicted_matrix = connectomes["predicted"].copy()
    np.fill_diagonal(true_matrix, 0.0)
    np.fill_diagonal(predicted_matrix, 0.0)
    left, singular, _ = np.linalg.svd(true_matrix)
    singular = np.maximum(singular, 1e-3)
    inverse_root = left @ np.diag(singular**-0.5) @ left.T
    whitened_singular = np.linalg.svd(inverse_root @ predicted_matrix @ inverse_root, compute_uv=False)
    expected = float(np.sqrt(np.sum(np.log(whitened_singular) ** 2)))
    value = run_metric(GeodesicDistance(legacy=True), connectomes, batches=2)
    assert value == pytest.approx(expected, rel=1e-8)
    default = run_metric(GeodesicDistance(), connectomes)
    assert not math.isclose(value, default, rel_tol=1e-3)


def test_invalid_shrinkage_raises() -> None:
    with pytest.raises(ValueError, match="shrinkage"):
        GeodesicDistance(shrinkage=0.0)
