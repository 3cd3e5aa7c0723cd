"""The power table: Δr, its bootstrap CI, the Wilcoxon p and the coordinates control, against numpy/scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from ge2conn.experiments.report_power import (
    CONTROL_KEY,
    bootstrap_mean_interval,
    power_markdown,
    power_rows,
)

RNG = np.random.default_rng(5)
SPLITS = [(split_round, fold) for split_round in range(3) for fold in range(4)]
TRUE = RNG.uniform(0.5, 0.7, len(SPLITS))
NULL = TRUE - RNG.uniform(0.0, 0.2, len(SPLITS))
CONTROL = RNG.uniform(0.4, 0.6, len(SPLITS))


def _records() -> list[dict]:
    records = []
    runs = (("mlp", "true", TRUE), ("mlp", "null", NULL), (CONTROL_KEY, "true", CONTROL))
    for model, variant, values in runs:
        for (split_round, fold), value in zip(SPLITS, values, strict=True):
            records.append({"dataset": "ukbb-s100", "split": "spatial", "model": model, "variant": variant,
                            "round": split_round, "fold": fold,
                            "metrics": {"test/pearson": float(value), "test/r2": float(value) ** 2,
                                        "test/mse": 0.1, "test/geodesic": 3.0}})
    return records


def test_power_row_matches_numpy_and_scipy() -> None:
    rows = power_rows(_records(), [("mlp", "MLP"), (CONTROL_KEY, "Coords-only MLP")])
    mlp, control = rows
    difference = TRUE - NULL
    assert mlp["pairs"] == 12 and mlp["pearson_n"] == 12
    assert mlp["delta_r_mean"] == pytest.approx(difference.mean())
    assert mlp["wilcoxon_p"] == pytest.approx(stats.wilcoxon(TRUE, NULL).pvalue)
    assert mlp["wilcoxon_p"] == pytest.approx(2 / 2**12)  # every difference positive: the smallest p
    assert mlp["r2_mean"] == pytest.approx(np.mean(TRUE**2))
    assert mlp["r2_sd"] == pytest.approx(np.std(TRUE**2, ddof=1))
    scipy_interval = stats.bootstrap((difference,), np.mean, confidence_level=0.95, method="percentile",
                                     n_resamples=10_000, random_state=1).confidence_interval
    assert mlp["delta_r_ci_low"] == pytest.approx(scipy_interval.low, abs=0.01)
    assert mlp["delta_r_ci_high"] == pytest.approx(scipy_interval.high, abs=0.01)
    assert mlp["delta_r_ci_low"] < mlp["delta_r_mean"] < mlp["delta_r_ci_high"]
    assert mlp["control_r_mean"] == pytest.approx(CONTROL.mean())
    assert mlp["minus_control_mean"] == pytest.approx((TRUE - CONTROL).mean())
    # The control itself has no null and no difference to itself.
    assert control["pairs"] == 0 and np.isnan(control["delta_r_mean"])
    assert np.isnan(control["minus_control_mean"])
    text = power_markdown(rows)
    assert "## ukbb-s100 — spatial split" in text and f"{difference.mean():+.3f} [" in text


def test_bootstrap_interval_needs_two_pairs() -> None:
    assert all(np.isnan(bootstrap_mean_interval(np.array([0.1]))))
    low, high = bootstrap_mean_interval(np.array([0.1, 0.1, 0.1]))
    assert low == pytest.approx(0.1) and high == pytest.approx(0.1)
