"""Shared pytest fixtures: the synthetic dataset and the real-data mirror."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).parent
SYNTHETIC_DATASET = TESTS_DIR / "data" / "synthetic.h5"
DEFAULT_MIRROR = TESTS_DIR.parent.parent / "shared" / "data" / "mirror"


@pytest.fixture(scope="session")
def synthetic_path() -> Path:
    """Path to the committed synthetic dataset (regenerate with tests/data/make_fixtures.py)."""
    return SYNTHETIC_DATASET


@pytest.fixture(scope="session")
def mirror_path() -> Path:
    """The offline mirror of upstream data; skips locally when absent, fails under CI=true."""
    value = os.environ.get("GE2CONN_MIRROR")
    path = Path(value) if value else DEFAULT_MIRROR
    if not path.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the real-data mirror is missing at {path}; CI must have ../shared/data/mirror")
        pytest.skip(f"real-data mirror not found at {path} (set GE2CONN_MIRROR)")
    return path.resolve()
