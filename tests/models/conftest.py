"""Task-test settings: the model configs, and one torch thread per test."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

CONFIGS = Path(__file__).parents[2] / "configs"
MODEL_CONFIGS = sorted(path.name for path in CONFIGS.glob("*.yaml"))

@pytest.fixture(autouse=True)
def _single_thread():
    """Tiny models run fastest on one thread on the shared 2-core CI machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
