"""Checkpoints: one copy of the weights, a fresh last.ckpt, best weights restored from the best file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ge2conn.api import build, fit
from ge2conn.callbacks.checkpoint import resolve_last_checkpoint
from tests.support.quick import SMALL_MODEL_SETTINGS, quick_settings

CONFIGS = Path(__file__).parents[2] / "configs"


def _tensor_elements(value: Any) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel()
    if isinstance(value, dict):
        return sum(_tensor_elements(item) for item in value.values())
    if isinstance(value, list | tuple):
        return sum(_tensor_elements(item) for item in value)
    return 0


def test_a_checkpoint_holds_one_copy_of_the_weights_and_last_is_fresh(tmp_path: Path,
                                                                       synthetic_path: Path) -> None:
    run = build([CONFIGS / "mlp.yaml"], {**quick_settings(tmp_path, synthetic_path, epochs=3),
                                         **SMALL_MODEL_SETTINGS["mlp.yaml"],
                                         "model.init_args.learning_rate": 0.05})
    fit(run)
    weights = sum(value.numel() for value in run.task.state_dict().values())
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert _tensor_elements(last["state_dict"]) == weights
    # Besides the weights and the optimizer's moments, only small bookkeeping tensors (scores, counters).
    elsewhere = {key: _tensor_elements(value) for key, value in last.items()
                 if key not in ("state_dict", "optimizer_states")}
    assert sum(elsewhere.values()) < 100, elsewhere
    assert last["epoch"] == 2  # rewritten after the last epoch, whether or not it improved
    # The restored weights are those of the best checkpoint file.
    best_path = run.trainer.checkpoint_callback.best_model_path
    best = torch.load(best_path, map_location="cpu", weights_only=False)["state_dict"]
    for name, value in run.task.state_dict().items():
        torch.testing.assert_close(value, best[name])


def test_ckpt_path_last_resolves_to_last_then_the_newest_complete_checkpoint_then_nothing(
        tmp_path: Path) -> None:
    folder = tmp_path / "checkpoints"
    assert resolve_last_checkpoint(folder) is None  # no folder: start from scratch
    folder.mkdir()
    assert resolve_last_checkpoint(folder) is None  # empty folder
    best = folder / "best-epoch=000.ckpt"
    torch.save({"epoch": 0}, best)
    assert resolve_last_checkpoint(folder) == str(best)  # crash before the first last.ckpt
    last = folder / "last.ckpt"
    last.write_bytes(b"truncated by a crash")  # not a complete zip archive: skipped
    assert resolve_last_checkpoint(folder) == str(best)
    torch.save({"epoch": 1}, last)
    assert resolve_last_checkpoint(folder) == str(last)
