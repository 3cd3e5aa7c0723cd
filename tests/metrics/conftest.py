"""Fixtures of the metric tests."""

from __future__ import annotations

import pytest

from tests.metrics.metric_problems import RegionProblem, make_region_problem


@pytest.fixture
def region_problem() -> RegionProblem:
    return make_region_problem()
