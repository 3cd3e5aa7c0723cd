"""Helpers for the experiment tests: tiny configurations on a private copy of the synthetic dataset."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ge2conn.experiments.config import ExperimentConfig, parse_config

REPOSITORY = Path(__file__).resolve().parents[2]
CONFIGS = REPOSITORY / "configs"


@pytest.fixture
def dataset_copy(tmp_path: Path, synthetic_path: Path) -> Path:
    """The synthetic dataset copied to a temporary folder, so its nulls file is written there too."""
    destination = tmp_path / "data" / "synthetic.h5"
    destination.parent.mkdir()
    shutil.copy(synthetic_path, destination)
    return destination


@pytest.fixture
def make_config(tmp_path: Path, dataset_copy: Path) -> Callable[..., ExperimentConfig]:
    """Build a small experiment on the synthetic copy; keyword arguments override top-level keys."""

    def build(**changes: Any) -> ExperimentConfig:
        raw: dict[str, Any] = {
            "name": "tiny",
            "output": str(tmp_path / "runs"),
            "seed": 3,
            "datasets": [str(dataset_copy)],
            "splits": ["random"],
            "rounds": 1,
            "folds": 4,
            "fold_indices": [0, 1],
            "nulls": {"enabled": True, "n": 12, "top": 3, "seed": 0},
            "trainer": {"configs": [str(CONFIGS / "trainer" / "cpu.yaml")]},
            "workers": 1,
            "models": [
                {"name": "CGE", "config": str(CONFIGS / "cge.yaml")},
                {"name": "Exp. decay", "config": str(CONFIGS / "exp_decay.yaml"), "nulls": False},
            ],
        }
        raw.update(changes)
        return parse_config(raw)

    return build
