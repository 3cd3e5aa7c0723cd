"""Command-line overrides for quick CLI runs on the synthetic fixture, shared by task and CLI tests."""

from __future__ import annotations

from pathlib import Path

SMALL_SMT = [
    "--model.init_args.d_model=16",
    "--model.init_args.num_layers=1",
    "--model.init_args.token_size=20",
    "--model.init_args.decoder_hidden_sizes=[32,16]",
]
SMALL_MLP = ["--model.init_args.hidden_sizes=[32,16]"]
SMALL_MODEL_OVERRIDES: dict[str, list[str]] = {
    "smt.yaml": SMALL_SMT,
    "smt_cls.yaml": SMALL_SMT,
    "smt_cls_small.yaml": SMALL_SMT,
    "mlp.yaml": SMALL_MLP,
    "mlp_coords.yaml": SMALL_MLP,
    "coords_mlp.yaml": SMALL_MLP,
}


def quick_overrides(root: Path, synthetic: Path, epochs: int = 2, logger: bool = False) -> list[str]:
    """Data/trainer overrides for a fast CPU run on the synthetic dataset, writing under ``root``."""
    overrides = [
        f"--data.dataset={synthetic}",
        "--data.batch_size=64",
        f"--trainer.max_epochs={epochs}",
        f"--trainer.default_root_dir={root}",
        "--trainer.accelerator=cpu",
        "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false",
    ]
    return overrides if logger else [*overrides, "--trainer.logger=false"]
