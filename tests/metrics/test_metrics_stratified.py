"""StratifiedPearson against direct numpy masking + scipy.stats.pearsonr."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from ge2conn.metrics import StratifiedPearson, sanitize_name, stratified_pearson
from tests.metrics.metric_problems import RegionProblem, make_region_problem


def numpy_strata(problem: RegionProblem, bins: tuple[float, float] = (60.0, 120.0)) -> dict[str, np.ndarray]:
    """Boolean edge masks built directly from the metadata (no code shared with the metric)."""
    coordinates = problem.coordinates.numpy()
    rows, cols = problem.rows.numpy(), problem.cols.numpy()
    target = problem.target.double().numpy()
    distance = np.sqrt(((coordinates[rows] - coordinates[cols]) ** 2).sum(axis=1))
    hemisphere = problem.hemisphere.numpy()
    network = problem.network.numpy()
    known = (hemisphere[rows] >= 0) & (hemisphere[cols] >= 0)
    masks = {
        "short": distance < bins[0],
        "mid": (distance >= bins[0]) & (distance < bins[1]),
        "long": distance >= bins[1],
        "strong_positive": target > 0.3,
        "strong_negative": target < -0.3,
        "weak": np.abs(target) <= 0.3,
        "intra_hemispheric": known & (hemisphere[rows] == hemisphere[cols]),
        "inter_hemispheric": known & (hemisphere[rows] != hemisphere[cols]),
    }
    for code, name in enumerate(problem.network_names):
        in_row, in_col = network[rows] == code, network[cols] == code
        masks[f"intra_{sanitize_name(name)}"] = in_row & in_col
        masks[f"inter_{sanitize_name(name)}"] = in_row ^ in_col
    return masks


def expected_values(
    problem: RegionProblem, min_edges: int, preds: np.ndarray | None = None
) -> dict[str, float]:
    predictions = problem.preds.double().numpy() if preds is None else preds
    target = problem.target.double().numpy()
    expected = {}
    for name, mask in numpy_strata(problem).items():
        enough = mask.sum() >= min_edges
        expected[f"pearson_{name}"] = (
            stats.pearsonr(predictions[mask], target[mask])[0] if enough else math.nan
        )
    return expected


def build_metric(problem: RegionProblem, min_edges: int = 50) -> StratifiedPearson:
    return StratifiedPearson(
        coordinates=problem.coordinates,
        hemisphere=problem.hemisphere,
        network=problem.network,
        network_names=problem.network_names,
        min_edges=min_edges,
    )


def assert_matches(values: dict[str, torch.Tensor], expected: dict[str, float]) -> None:
    assert sorted(values) == sorted(expected)
    for name, value in values.items():
        assert value.dtype == torch.float64
        if math.isnan(expected[name]):
            assert math.isnan(value.item()), name
        else:
            assert value.item() == pytest.approx(expected[name], rel=1e-9, abs=1e-12), name


def test_matches_numpy_masks_over_several_updates(region_problem: RegionProblem) -> None:
    metric = build_metric(region_problem)
    bounds = [0, 100, 101, 900, region_problem.rows.numel()]
    for start, stop in zip(bounds, bounds[1:], strict=False):
        metric.update(
            preds=region_problem.preds[start:stop],
            target=region_problem.target[start:stop],
            rows=region_problem.rows[start:stop],
            cols=region_problem.cols[start:stop],
        )
    expected = expected_values(region_problem, min_edges=50)
    # Every stratum should be populated in this problem, so the comparison is not vacuous.
    assert not any(math.isnan(value) for value in expected.values())
    assert_matches(metric.compute(), expected)


def test_edge_orientation_does_not_matter(region_problem: RegionProblem) -> None:
    metric = build_metric(region_problem)
    metric.update(
        preds=region_problem.preds,
        target=region_problem.target,
        rows=region_problem.cols,
        cols=region_problem.rows,
    )
    assert_matches(metric.compute(), expected_values(region_problem, min_edges=50))


def test_small_strata_report_nan() -> None:
    problem = make_region_problem(num_regions=30, seed=1)
    min_edges = 60
    expected = expected_values(problem, min_edges=min_edges)
    assert any(math.isnan(value) for value in expected.values())
    assert any(not math.isnan(value) for value in expected.values())
    metric = build_metric(problem, min_edges=min_edges)
    metric.update(preds=problem.preds, target=problem.target, rows=problem.rows, cols=problem.cols)
    assert_matches(metric.compute(), expected)


def test_empty_strata_are_nan_without_error(region_problem: RegionProblem) -> None:
    metric = build_metric(region_problem)
    keep = region_problem.target < 0.0  # no strong-positive edge at all
    metric.update(
        preds=region_problem.preds[keep],
        target=region_problem.target[keep],
        rows=region_problem.rows[keep],
        cols=region_problem.cols[keep],
    )
    assert math.isnan(metric.compute()["pearson_strong_positive"].item())
    assert not math.isnan(metric.compute()["pearson_strong_negative"].item())


def test_bfloat16_inputs(region_problem: RegionProblem) -> None:
    preds = region_problem.preds.to(torch.bfloat16)
    metric = build_metric(region_problem)
    metric.update(
        preds=preds, target=region_problem.target, rows=region_problem.rows, cols=region_problem.cols
    )
    assert_matches(metric.compute(), expected_values(region_problem, 50, preds=preds.double().numpy()))


def test_functional_form_and_custom_bins(region_problem: RegionProblem) -> None:
    values = stratified_pearson(
        region_problem.preds,
        region_problem.target,
        region_problem.rows,
        region_problem.cols,
        region_problem.coordinates,
        region_problem.hemisphere,
        region_problem.network,
        region_problem.network_names,
        distance_bins=(50.0, 90.0, 130.0),
        min_edges=10,
    )
    names = [name for name in values if name.startswith("pearson_distance")]
    assert names == [
        "pearson_distance_0_50",
        "pearson_distance_50_90",
        "pearson_distance_90_130",
        "pearson_distance_130_inf",
    ]
    coordinates = region_problem.coordinates.numpy()
    rows, cols = region_problem.rows.numpy(), region_problem.cols.numpy()
    distance = np.linalg.norm(coordinates[rows] - coordinates[cols], axis=1)
    mask = (distance >= 90.0) & (distance < 130.0)
    expected = stats.pearsonr(
        region_problem.preds.double().numpy()[mask], region_problem.target.double().numpy()[mask]
    )
    assert values["pearson_distance_90_130"].item() == pytest.approx(expected[0], rel=1e-9)


def test_names_are_sanitized(region_problem: RegionProblem) -> None:
    names = build_metric(region_problem).names
    assert "pearson_intra_Somato_Motor" in names
    assert "pearson_inter_Default_Mode" in names
    assert all(name.replace("_", "").isalnum() for name in names)


def test_invalid_network_code_raises(region_problem: RegionProblem) -> None:
    with pytest.raises(ValueError, match="no name"):
        StratifiedPearson(
            coordinates=region_problem.coordinates,
            hemisphere=region_problem.hemisphere,
            network=region_problem.network,
            network_names=region_problem.network_names[:2],
        )


def test_module_dtype_cast_does_not_touch_metadata(region_problem: RegionProblem) -> None:
    # Lightning's bf16-true precision casts whole modules; the integer tables and float64 state must survive.
    metric = build_metric(region_problem).to(torch.bfloat16)
    metric.update(
        preds=region_problem.preds,
        target=region_problem.target,
        rows=region_problem.rows,
        cols=region_problem.cols,
    )
    assert_matches(metric.compute(), expected_values(region_problem, min_edges=50))
