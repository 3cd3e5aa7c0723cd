"""Settings for quick runs on the synthetic fixture, shared by task, API and CLI tests.

The settings are written once, as ``{dotted key: value}`` for :func:`ge2conn.api.build`;
:func:`as_arguments` turns them into the ``--key=value`` arguments that console-script tests type.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SMALL_SMT_SETTINGS: dict[str, Any] = {
    "model.init_args.d_model": 16,
    "model.init_args.num_layers": 1,
    "model.init_args.token_size": 20,
    "model.init_args.decoder_hidden_sizes": [32, 16],
}
SMALL_MLP_SETTINGS: dict[str, Any] = {"model.init_args.hidden_sizes": [32, 16]}
SMALL_MODEL_SETTINGS: dict[str, dict[str, Any]] = {
    "smt.yaml": SMALL_SMT_SETTINGS,
    "smt_cls.yaml": SMALL_SMT_SETTINGS,
    "smt_cls_small.yaml": SMALL_SMT_SETTINGS,
    "mlp.yaml": SMALL_MLP_SETTINGS,
    "mlp_coords.yaml": SMALL_MLP_SETTINGS,
    "coords_mlp.yaml": SMALL_MLP_SETTINGS,
}


def as_arguments(settings: dict[str, Any]) -> list[str]:
    """``--key=value`` command-line arguments (lists, mappings, booleans and None as JSON)."""
    return [f"--{key}={_text(value)}" for key, value in settings.items()]


def _text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, list | dict | bool) or value is None else str(value)


SMALL_SMT = as_arguments(SMALL_SMT_SETTINGS)
SMALL_MODEL_OVERRIDES: dict[str, list[str]] = {
    config: as_arguments(settings) for config, settings in SMALL_MODEL_SETTINGS.items()
}


def quick_settings(root: Path, synthetic: Path, epochs: int = 2, logger: bool = False) -> dict[str, Any]:
    """Data/trainer settings for a fast CPU run on the synthetic dataset, writing under ``root``."""
    settings: dict[str, Any] = {
        "data.dataset": str(synthetic),
        "data.batch_size": 64,
        "trainer.max_epochs": epochs,
        "trainer.default_root_dir": str(root),
        "trainer.accelerator": "cpu",
        "trainer.enable_progress_bar": False,
        "trainer.enable_model_summary": False,
    }
    if not logger:
        settings["trainer.logger"] = False
    return settings


def quick_overrides(root: Path, synthetic: Path, epochs: int = 2, logger: bool = False) -> list[str]:
    """:func:`quick_settings` as command-line arguments."""
    return as_arguments(quick_settings(root, synthetic, epochs, logger))
