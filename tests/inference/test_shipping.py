"""Shipping a checkpoint: only weights, hyperparameters and provenance are kept, written atomically."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
import torch
from lightning.pytorch import Trainer

from ge2conn.inference.shipping import KEPT_KEYS, best_checkpoint_path, save_checkpoint, stripped_checkpoint


def test_stripped_checkpoint_drops_training_state(tmp_path: Path) -> None:
    weights = {"network.weight": torch.arange(6.0).reshape(2, 3)}
    full: dict[str, Any] = {
        "epoch": 3,
        "global_step": 12,
        "state_dict": weights,
        "hyper_parameters": {"num_genes": 3},
        "optimizer_states": [{"state": {}}],
        "lr_schedulers": [{"best": 0.5}],
        "loops": {"fit_loop": {}},
        "callbacks": {"ModelCheckpoint": {}},
    }
    source = tmp_path / "best.ckpt"
    torch.save(full, source)
    shipped = stripped_checkpoint(source)
    assert set(shipped) == {"epoch", "global_step", "state_dict", "hyper_parameters"}
    assert set(shipped) <= set(KEPT_KEYS)
    destination = save_checkpoint(shipped, tmp_path / "out" / "model.ckpt")
    assert destination == tmp_path / "out" / "model.ckpt"
    assert [path.name for path in destination.parent.iterdir()] == ["model.ckpt"]  # no temporary left
    reloaded = torch.load(destination, weights_only=True)
    torch.testing.assert_close(reloaded["state_dict"]["network.weight"], weights["network.weight"])
    assert reloaded["hyper_parameters"] == {"num_genes": 3} and reloaded["epoch"] == 3


def test_best_checkpoint_path_needs_a_best_checkpoint(tmp_path: Path) -> None:
    with_best = cast(Trainer, SimpleNamespace(checkpoint_callback=SimpleNamespace(best_model_path="a.ckpt")))
    assert best_checkpoint_path(with_best) == Path("a.ckpt")
    for callback in (None, SimpleNamespace(best_model_path="")):
        with pytest.raises(RuntimeError, match="no best checkpoint"):
            best_checkpoint_path(cast(Trainer, SimpleNamespace(checkpoint_callback=callback)))
