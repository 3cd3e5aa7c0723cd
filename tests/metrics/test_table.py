"""The printed metric table: groups, 4 significant digits, one NaN footnote, no loss repeating the MSE."""

from __future__ import annotations

import math

from rich.console import Console

from ge2conn.metrics.table import group_metrics, metric_table, print_metric_table

METRICS = {
    "test/pearson": 0.6220694184303284,
    "test/r2": 0.005629211198538542,
    "test/mse": 0.03294687718153,
    "test/loss": 0.03294687718153,
    "test/geodesic": 3.5061280727386475,
    "test/pearson_short": 0.6655600666999817,
    "test/pearson_long": math.nan,
    "test/pearson_weak": 0.40585756301879883,
    "test/pearson_intra_hemispheric": 0.6294174194335938,
    "test/pearson_intra_Default": math.nan,
    "test/pearson_inter_Default": 0.6701964735984802,
    "val/pearson": 0.1,
}


def test_groups_order_and_four_significant_digits() -> None:
    groups = group_metrics(METRICS, "test")
    assert list(groups) == ["global", "distance", "strength", "hemisphere", "network"]
    assert groups["global"] == [("pearson", "0.6221"), ("r2", "0.005629"), ("mse", "0.03295"),
                                ("geodesic", "3.506")]
    assert groups["distance"] == [("short", "0.6656"), ("long", "nan")]
    assert groups["strength"] == [("weak", "0.4059")]
    assert groups["hemisphere"] == [("intra", "0.6294")]
    assert groups["network"] == [("Default", "nan | 0.6702")]


def test_loss_is_shown_only_when_it_differs_from_the_mse() -> None:
    assert "loss" not in dict(group_metrics(METRICS, "test")["global"])
    huber = {**METRICS, "test/loss": 0.0151}
    assert dict(group_metrics(huber, "test")["global"])["loss"] == "0.0151"


def test_nan_is_explained_once_with_the_edge_rule() -> None:
    console = Console(record=True, width=200)
    print_metric_table(console, METRICS, "test", title="MLP on dk82", min_edges=50)
    text = console.export_text()
    assert text.count("nan: fewer than 50 test edges in the stratum") == 1
    assert text.startswith("MLP on dk82")
    assert "0.6220694" not in text and text.count("pearson") == 1  # val/pearson is not a test metric
    _, notes = metric_table({"test/pearson": 0.5}, "test")
    assert notes == []
