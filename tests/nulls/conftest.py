"""Fixtures for the nulls tests."""

from __future__ import annotations

import pytest

from benchmarks.make_synthetic_s456 import make_synthetic_s456
from ge2conn.data.format import BrainDataset


@pytest.fixture(scope="session")
def s456() -> BrainDataset:
    """The synthetic S456-sized dataset (456 regions × 7,380 genes), built in memory once per session."""
    return make_synthetic_s456(seed=0)
