"""build_edge_metrics / results_dict: names, kwargs routing through MetricCollection, plain floats."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats
from torchmetrics import MetricCollection

from ge2conn.metrics import (
    GeodesicDistance,
    StratifiedPearson,
    build_edge_metrics,
    edge_metric_names,
    results_dict,
)
from tests.metrics.metric_problems import RegionProblem

EXPECTED_STRATIFIED = [
    "pearson_short",
    "pearson_mid",
    "pearson_long",
    "pearson_strong_positive",
    "pearson_strong_negative",
    "pearson_weak",
    "pearson_intra_hemispheric",
    "pearson_inter_hemispheric",
    "pearson_intra_Visual",
    "pearson_intra_Somato_Motor",
    "pearson_intra_Default_Mode",
    "pearson_inter_Visual",
    "pearson_inter_Somato_Motor",
    "pearson_inter_Default_Mode",
]


def build(problem: RegionProblem, prefix: str, **options: object) -> MetricCollection:
    return build_edge_metrics(
        prefix,
        problem.coordinates,
        problem.hemisphere,
        problem.network,
        problem.network_names,
        **options,  # type: ignore[arg-type]
    )


def feed(collection: MetricCollection, problem: RegionProblem, batch_size: int = 500) -> None:
    for start in range(0, problem.rows.numel(), batch_size):
        stop = start + batch_size
        collection.update(
            preds=problem.preds[start:stop],
            target=problem.target[start:stop],
            rows=problem.rows[start:stop],
            cols=problem.cols[start:stop],
        )


@pytest.mark.parametrize("prefix", ["val", "test"])
def test_logged_names_are_exactly_the_documented_ones(region_problem: RegionProblem, prefix: str) -> None:
    collection = build(region_problem, prefix)
    feed(collection, region_problem)
    values = collection.compute()
    global_names = ["pearson", "spearman", "r2", "mse", "mae", "geodesic"]
    expected = {f"{prefix}/{name}" for name in global_names + EXPECTED_STRATIFIED}
    assert set(values) == expected
    assert set(edge_metric_names(prefix, region_problem.network_names)) == expected


def test_optional_members(region_problem: RegionProblem) -> None:
    collection = build(
        region_problem, "val", include_stratified=False, include_geodesic=False, include_legacy_geodesic=True
    )
    feed(collection, region_problem)
    names = set(results_dict(collection))
    assert names == {"val/pearson", "val/spearman", "val/r2", "val/mse", "val/mae", "val/geodesic_legacy"}
    assert names == set(
        edge_metric_names(
            "val", [], include_stratified=False, include_geodesic=False, include_legacy_geodesic=True
        )
    )


def test_collection_routes_keyword_arguments_and_matches_references(region_problem: RegionProblem) -> None:
    collection = build(region_problem, "test", min_edges=10)
    feed(collection, region_problem, batch_size=333)
    results = results_dict(collection)
    assert all(type(value) is float for value in results.values())
    preds = region_problem.preds.double().numpy()
    target = region_problem.target.double().numpy()
    assert results["test/pearson"] == pytest.approx(stats.pearsonr(preds, target)[0], rel=1e-9)
    assert results["test/spearman"] == pytest.approx(stats.spearmanr(preds, target)[0], rel=1e-9)
    assert results["test/mse"] == pytest.approx(np.mean((preds - target) ** 2), rel=1e-9)
    # Members that need rows/cols received them through MetricCollection's keyword filtering.
    standalone_geodesic = GeodesicDistance()
    standalone_geodesic.update(
        region_problem.preds, region_problem.target, region_problem.rows, region_problem.cols
    )
    assert results["test/geodesic"] == pytest.approx(standalone_geodesic.compute().item(), rel=1e-12)
    standalone_strata = StratifiedPearson(
        region_problem.coordinates,
        region_problem.hemisphere,
        region_problem.network,
        region_problem.network_names,
        min_edges=10,
    )
    standalone_strata.update(
        region_problem.preds, region_problem.target, region_problem.rows, region_problem.cols
    )
    for name, value in standalone_strata.compute().items():
        assert results[f"test/{name}"] == pytest.approx(value.item(), rel=1e-12, nan_ok=True)


def test_reset_and_reuse_across_epochs(region_problem: RegionProblem) -> None:
    collection = build(region_problem, "val")
    feed(collection, region_problem)
    first = results_dict(collection)
    collection.reset()
    feed(collection, region_problem, batch_size=128)
    second = results_dict(collection)
    assert first.keys() == second.keys()
    for name, value in first.items():
        assert second[name] == pytest.approx(value, rel=1e-9, nan_ok=True)


def test_nan_is_preserved_in_results(region_problem: RegionProblem) -> None:
    collection = build(region_problem, "val", include_stratified=False, include_geodesic=False)
    constant = torch.zeros_like(region_problem.preds)
    collection.update(
        preds=constant, target=region_problem.target, rows=region_problem.rows, cols=region_problem.cols
    )
    with pytest.warns(UserWarning, match="undefined"):
        results = results_dict(collection)
    assert math.isnan(results["val/pearson"])
    assert math.isnan(results["val/spearman"])
    assert results["val/mse"] > 0


def test_prefix_validation(region_problem: RegionProblem) -> None:
    with pytest.raises(ValueError, match="prefix"):
        build(region_problem, "/")
    assert "val/pearson" in edge_metric_names("val/", region_problem.network_names)
