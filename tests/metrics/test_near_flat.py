"""Near-flat predictions (SD below 1% of the target SD) are reported with a warning at test time."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from ge2conn.api import fit_and_test
from ge2conn.metrics.regression import NEAR_FLAT_SD_RATIO, PearsonR, prediction_sd_ratio
from tests.support.quick import SMALL_MLP_SETTINGS, quick_settings

CONFIGS = Path(__file__).parents[2] / "configs"


def _edges(prediction_sd: float) -> tuple[torch.Tensor, torch.Tensor]:
    generator = np.random.default_rng(0)
    target = generator.normal(0.27, 0.19, 500)
    noise = generator.normal(0, 1e-5, 500)
    prediction = 0.258 + prediction_sd * (target - target.mean()) / target.std() + noise
    return torch.from_numpy(prediction), torch.from_numpy(target)


def test_prediction_sd_ratio_matches_numpy() -> None:
    prediction, target = _edges(0.05)
    metric = PearsonR()
    metric.update(prediction[:200], target[:200])
    metric.update(prediction[200:], target[200:])
    expected = prediction.numpy().std() / target.numpy().std()
    assert prediction_sd_ratio(metric.pearson_sums) == pytest.approx(expected, rel=1e-9)


def test_near_flat_test_predictions_warn_and_r_is_still_reported() -> None:
    prediction, target = _edges(0.00044)  # the 2-epoch MLP: SD 0.00044 against 0.19
    metric = PearsonR(warn_near_flat=True)
    metric.update(prediction, target)
    with pytest.warns(UserWarning, match="near-flat predictions"):
        value = float(metric.compute())
    assert value == pytest.approx(np.corrcoef(prediction.numpy(), target.numpy())[0, 1], abs=1e-9)
    assert value > 0.9  # a high r that a flat model does not deserve, hence the warning


@pytest.mark.parametrize(("prediction_sd", "warn"), [(0.05, True), (0.00044, False)])
def test_no_warning_for_spread_predictions_or_when_not_asked(prediction_sd: float, warn: bool) -> None:
    prediction, target = _edges(prediction_sd)
    metric = PearsonR(warn_near_flat=warn)
    metric.update(prediction, target)
    assert prediction_sd_ratio(metric.pearson_sums) != pytest.approx(NEAR_FLAT_SD_RATIO)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metric.compute()


def test_a_barely_trained_model_warns_at_test_time(tmp_path: Path, synthetic_path: Path) -> None:
    # Decoders start at the mean training target with zero output weights: at a learning rate of 1e-7 the
    # predictions stay within a hair of that constant.
    with pytest.warns(UserWarning, match="near-flat predictions"):
        fit_and_test([CONFIGS / "mlp.yaml"], {**quick_settings(tmp_path, synthetic_path, epochs=1),
                                              **SMALL_MLP_SETTINGS, "model.init_args.learning_rate": 1e-7})
