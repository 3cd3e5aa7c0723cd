"""Helpers for task tests: build a CLI on the synthetic fixture with small, fast models."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

CONFIGS = Path(__file__).parents[2] / "configs"
MODEL_CONFIGS = sorted(path.name for path in CONFIGS.glob("*.yaml"))
SMALL_MODEL_OVERRIDES: dict[str, list[str]] = {
    "smt.yaml": [
        "--model.init_args.d_model=16",
        "--model.init_args.num_layers=1",
        "--model.init_args.token_size=20",
        "--model.init_args.decoder_hidden_sizes=[32,16]",
    ],
    "smt_cls.yaml": [
        "--model.init_args.d_model=16",
        "--model.init_args.num_layers=1",
        "--model.init_args.token_size=20",
        "--model.init_args.decoder_hidden_sizes=[32,16]",
    ],
    "mlp.yaml": ["--model.init_args.hidden_sizes=[32,16]"],
    "mlp_coords.yaml": ["--model.init_args.hidden_sizes=[32,16]"],
    "coords_mlp.yaml": ["--model.init_args.hidden_sizes=[32,16]"],
}


def fixture_overrides(root: Path, synthetic: Path, epochs: int = 2) -> list[str]:
    """Trainer/data overrides for a quick run on the synthetic dataset."""
    return [
        f"--data.dataset={synthetic}",
        "--data.batch_size=64",
        f"--trainer.max_epochs={epochs}",
        f"--trainer.default_root_dir={root}",
        "--trainer.accelerator=cpu",
        "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false",
        "--trainer.logger=false",
    ]


@pytest.fixture(autouse=True)
def _single_thread():
    """Tiny models run fastest on one thread on the shared 2-core CI machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
