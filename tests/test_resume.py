"""Exact resume: a fit killed by SIGKILL mid-epoch and resumed with ``--ckpt_path last`` equals the
uninterrupted fit (weights, optimizer, scheduler, callbacks, test metrics), also when the crash came between
writing ``best-*.ckpt`` and ``last.ckpt``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from ge2conn import api
from tests.support.quick import as_arguments, quick_settings

REPO = Path(__file__).parents[1]
MODEL = {"model.init_args.hidden_sizes": [16, 8], "early_stopping.patience": 100, "seed_everything": 5}
KILL = ["--trainer.callbacks+=tests.support.interrupt.KillMidEpoch", "--trainer.callbacks.sigkill=true",
        "--trainer.callbacks.batch=1"]


def _common(root: Path, synthetic: Path) -> list[str]:
    # Dropout 0.2 (the MLP default) draws from the global generator, so a resume without the right random
    # streams drifts; 4 epochs, early stopping kept out of the way.
    settings = {**quick_settings(root, synthetic, epochs=4), **MODEL}
    return ["--config", "configs/mlp.yaml", *as_arguments(settings)]


def _fit(args: list[str]) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "ge2conn", "fit", *args], cwd=REPO, env=environment,
                          text=True, capture_output=True, timeout=300)


def _checkpoints(root: Path) -> dict[str, dict[str, Any]]:
    folder = root / "checkpoints"
    return {path.name: torch.load(path, weights_only=False) for path in sorted(folder.glob("*.ckpt"))}


def _test_metrics(root: Path, synthetic: Path, checkpoint: Path) -> dict[str, float]:
    run = api.build(REPO / "configs" / "mlp.yaml", {**quick_settings(root, synthetic, epochs=4), **MODEL})
    run.task.load_state_dict(torch.load(checkpoint, weights_only=False)["state_dict"])
    return api.test(run)


def _assert_same_run(expected_root: Path, actual_root: Path, synthetic: Path) -> None:
    expected, actual = _checkpoints(expected_root), _checkpoints(actual_root)
    assert expected.keys() == actual.keys()  # the same best-epoch=NNN.ckpt and last.ckpt, nothing stale
    for name, checkpoint in expected.items():
        other = actual[name]
        assert (checkpoint["epoch"], checkpoint["global_step"]) == (other["epoch"], other["global_step"])
        for key, tensor in checkpoint["state_dict"].items():
            assert torch.equal(tensor, other["state_dict"][key]), f"{name}: {key}"
        for group, other_group in zip(checkpoint["optimizer_states"], other["optimizer_states"], strict=True):
            states = zip(group["state"].values(), other_group["state"].values(), strict=True)
            for state, other_state in states:
                for key, value in state.items():
                    assert torch.equal(value, other_state[key]), f"{name}: optimizer {key}"
        assert checkpoint["lr_schedulers"] == other["lr_schedulers"]
        early = next(key for key in checkpoint["callbacks"] if key.startswith("EarlyStopping"))
        np.testing.assert_equal(checkpoint["callbacks"][early], other["callbacks"][early])
    best = next(name for name in expected if name.startswith("best-"))
    np.testing.assert_equal(_test_metrics(expected_root, synthetic, expected_root / "checkpoints" / best),
                            _test_metrics(actual_root, synthetic, actual_root / "checkpoints" / best))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory, synthetic_path: Path) -> Path:
    """The folder of the uninterrupted fit, shared by the tests of this module."""
    root = tmp_path_factory.mktemp("uninterrupted")
    fitted = _fit(_common(root, synthetic_path))
    assert fitted.returncode == 0, fitted.stderr[-2000:]
    return root


def test_sigkill_mid_epoch_then_resume_equals_the_uninterrupted_fit(uninterrupted: Path, tmp_path: Path,
                                                                     synthetic_path: Path) -> None:
    interrupted = tmp_path / "interrupted"
    killed = _fit([*_common(interrupted, synthetic_path), *KILL, "--trainer.callbacks.epoch=2"])
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert torch.load(interrupted / "checkpoints" / "last.ckpt", weights_only=False)["epoch"] == 1
    resumed = _fit([*_common(interrupted, synthetic_path), "--ckpt_path", "last"])
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    _assert_same_run(uninterrupted, interrupted, synthetic_path)


def test_crash_before_the_first_last_checkpoint_resumes_from_the_best_one(uninterrupted: Path, tmp_path: Path,
                                                                          synthetic_path: Path) -> None:
    interrupted = tmp_path / "interrupted"
    killed = _fit([*_common(interrupted, synthetic_path), *KILL, "--trainer.callbacks.epoch=1"])
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    # The state a crash between the two writes of epoch 0 leaves: best-epoch=000.ckpt but no last.ckpt.
    (interrupted / "checkpoints" / "last.ckpt").unlink()
    assert [path.name for path in (interrupted / "checkpoints").iterdir()] == ["best-epoch=000.ckpt"]
    resumed = _fit([*_common(interrupted, synthetic_path), "--ckpt_path", "last"])
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "no last checkpoint available" not in resumed.stderr
    _assert_same_run(uninterrupted, interrupted, synthetic_path)
