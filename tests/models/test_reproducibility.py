"""Same seed, same result: two fits on two CPU threads give bitwise-identical weights and test metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ge2conn.api import fit_and_test
from tests.support.quick import quick_settings

from .conftest import CONFIGS


def _fit(root: Path, synthetic: Path) -> tuple[dict[str, float], dict[str, torch.Tensor]]:
    # A 512-wide first layer and 256-edge batches: the gathered (B, H) gradients are large enough for the CPU
    # kernels to use both threads, which made advanced indexing's backward non-deterministic.
    settings = {**quick_settings(root, synthetic, epochs=3), "data.batch_size": 256,
                "model.init_args.hidden_sizes": [512, 8], "seed_everything": 3}
    run = fit_and_test([CONFIGS / "mlp.yaml"], settings)
    metrics = {name: value for name, value in run.metrics.items() if name.startswith("test/")}
    return metrics, run.task.state_dict()


def test_two_fits_with_the_same_seed_on_two_threads_are_identical(tmp_path: Path,
                                                                  synthetic_path: Path) -> None:
    torch.set_num_threads(2)  # the autouse fixture restores the thread count afterwards
    first_metrics, first_state = _fit(tmp_path / "first", synthetic_path)
    second_metrics, second_state = _fit(tmp_path / "second", synthetic_path)
    assert first_metrics.keys() == second_metrics.keys()
    np.testing.assert_equal(first_metrics, second_metrics)  # exact; NaN (strata too small) equals NaN
    for name, tensor in first_state.items():
        assert torch.equal(tensor, second_state[name]), name
