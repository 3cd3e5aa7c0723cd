"""Global edge metrics against scipy/sklearn."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from scipy import stats
from sklearn.metrics import mean_absolute_error as sklearn_mae
from sklearn.metrics import mean_squared_error as sklearn_mse
from sklearn.metrics import r2_score

from ge2conn.metrics import (
    MeanAbsoluteError,
    MeanSquaredError,
    PearsonR,
    RSquared,
    SpearmanRho,
    mean_absolute_error,
    mean_squared_error,
    pearson_r,
    r_squared,
    spearman_rho,
)
from tests.metrics.metric_problems import RegionProblem

METRIC_CLASSES = [PearsonR, SpearmanRho, RSquared, MeanSquaredError, MeanAbsoluteError]


def reference(metric_class: type, preds: np.ndarray, target: np.ndarray) -> float:
    if metric_class is PearsonR:
        return float(stats.pearsonr(preds, target)[0])
    if metric_class is SpearmanRho:
        return float(stats.spearmanr(preds, target)[0])
    if metric_class is RSquared:
        return float(r2_score(target, preds))
    if metric_class is MeanSquaredError:
        return float(sklearn_mse(target, preds))
    return float(sklearn_mae(target, preds))


@pytest.mark.parametrize("metric_class", METRIC_CLASSES)
def test_matches_reference_over_several_updates(metric_class: type, region_problem: RegionProblem) -> None:
    preds, target = region_problem.preds, region_problem.target
    expected = reference(metric_class, preds.double().numpy(), target.double().numpy())
    metric = metric_class()
    # Uneven batches, and rows/cols passed as the shared signature requires.
    bounds = [0, 7, 400, 401, 1200, preds.numel()]
    for start, stop in zip(bounds, bounds[1:], strict=False):
        metric.update(
            preds=preds[start:stop],
            target=target[start:stop],
            rows=region_problem.rows[start:stop],
            cols=region_problem.cols[start:stop],
        )
    accumulated = metric.compute()
    assert accumulated.dtype == torch.float64
    assert accumulated.item() == pytest.approx(expected, rel=1e-9, abs=1e-12)

    single = metric_class()
    single.update(preds, target)
    assert single.compute().item() == pytest.approx(accumulated.item(), rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("metric_class", METRIC_CLASSES)
def test_bfloat16_inputs_accumulate_in_float64(metric_class: type, region_problem: RegionProblem) -> None:
    preds = region_problem.preds.to(torch.bfloat16)
    target = region_problem.target.to(torch.bfloat16)
    # The reference sees exactly the bf16-representable values, upcast without further rounding.
    expected = reference(metric_class, preds.double().numpy(), target.double().numpy())
    metric = metric_class()
    for chunk_preds, chunk_target in zip(preds.split(333), target.split(333), strict=True):
        metric.update(chunk_preds, chunk_target)
    assert metric.compute().item() == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    "function", [pearson_r, spearman_rho, r_squared, mean_squared_error, mean_absolute_error]
)
def test_functional_forms_match_classes(
    function: Callable[..., torch.Tensor], region_problem: RegionProblem
) -> None:
    classes = {
        pearson_r: PearsonR,
        spearman_rho: SpearmanRho,
        r_squared: RSquared,
        mean_squared_error: MeanSquaredError,
        mean_absolute_error: MeanAbsoluteError,
    }
    preds, target = region_problem.preds, region_problem.target
    expected = reference(classes[function], preds.double().numpy(), target.double().numpy())
    assert function(preds, target).item() == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("metric_class", [PearsonR, SpearmanRho])
def test_constant_predictions_give_nan_with_warning(metric_class: type) -> None:
    metric = metric_class()
    metric.update(torch.full((100,), 0.25), torch.linspace(-1, 1, 100))
    with pytest.warns(UserWarning, match="undefined"):
        value = metric.compute()
    assert math.isnan(value.item())


def test_constant_target_r2_is_nan_with_warning() -> None:
    metric = RSquared()
    metric.update(torch.linspace(-1, 1, 10), torch.full((10,), 0.5))
    with pytest.warns(UserWarning, match="undefined"):
        assert math.isnan(metric.compute().item())


def test_spearman_ties_use_average_ranks() -> None:
    generator = np.random.default_rng(3)
    preds = generator.integers(0, 5, size=300).astype(np.float64)  # heavy ties
    target = preds + generator.integers(0, 3, size=300)
    expected = stats.spearmanr(preds, target)[0]
    assert spearman_rho(torch.tensor(preds), torch.tensor(target)).item() == pytest.approx(
        expected, rel=1e-12
    )


def test_reset_clears_state(region_problem: RegionProblem) -> None:
    metric = MeanSquaredError()
    metric.update(region_problem.preds + 10.0, region_problem.target)
    metric.reset()
    metric.update(region_problem.preds, region_problem.target)
    expected = sklearn_mse(region_problem.target.double().numpy(), region_problem.preds.double().numpy())
    assert metric.compute().item() == pytest.approx(expected, rel=1e-9)


def test_large_offset_keeps_pearson_accurate() -> None:
    # Raw float64 sums lose ~log10(mean²/var) digits to cancellation; check a 1e3 offset is still accurate.
    generator = np.random.default_rng(5)
    target = generator.standard_normal(20_000)
    preds = 1e3 + 0.5 * target + 0.1 * generator.standard_normal(20_000)
    expected = stats.pearsonr(preds, target)[0]
    assert pearson_r(torch.tensor(preds), torch.tensor(target)).item() == pytest.approx(expected, abs=1e-8)


def test_mismatched_sizes_raise() -> None:
    with pytest.raises(ValueError, match="same number"):
        PearsonR().update(torch.zeros(3), torch.zeros(4))


def test_metric_class_flags() -> None:
    for metric_class in METRIC_CLASSES:
        assert metric_class.full_state_update is False
        assert isinstance(metric_class.higher_is_better, bool)
        assert isinstance(metric_class.is_differentiable, bool)
        assert "reset" not in metric_class.__dict__


def test_spearman_without_updates_is_nan() -> None:
    with pytest.warns(UserWarning):
        assert math.isnan(SpearmanRho().compute().item())
