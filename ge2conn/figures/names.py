"""Names a reader of a paper recognises: models as in Table 1 (``SMT+[CLS]``, not ``SMTTask``), titles."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py

from ge2conn.figures.canvas import quantity_label

_RULE_NAMES = {"exp_decay": "Exp. decay", "gaussian": "Gaussian", "cge": "CGE"}
_MLP_INPUTS = {"expression": "MLP", "expression+coordinates": "MLP+coords", "coordinates": "Coords MLP"}
_CM_FEATURES = {"genes": "CM", "pca": "CM (PCA)", "pls": "CM (PLS)"}


def model_display_name(class_name: str, hparams: Mapping[str, Any] | None = None) -> str:
    """The model's name as the paper and the reports write it.

    Args:
        class_name: Task class name (``"SMTTask"``) or a family short name.
        hparams: The task's hyperparameters (``use_cls``, ``inputs``, ``features``, ``rule``).

    Returns:
        E.g. ``"SMT+[CLS]"``, ``"MLP+coords"``, ``"CM (PCA)"``, ``"Gaussian"``; the class name minus
        ``Task`` for anything else.
    """
    options = dict(hparams or {})
    family = class_name.removesuffix("Task")
    if family == "SMT":
        return "SMT+[CLS]" if options.get("use_cls") else "SMT"
    if family == "MLP":
        return _MLP_INPUTS.get(str(options.get("inputs", "expression")), "MLP")
    if family == "ConnectomeModel":
        return _CM_FEATURES.get(str(options.get("features", "genes")), "CM")
    if family == "BilinearLowRank":
        return "Low-rank"
    if family == "RulesBased":
        return _RULE_NAMES.get(str(options.get("rule", "")), "Rules")
    return family


def dataset_provenance(path: str | Path) -> dict[str, Any]:
    """The provenance of a dataset file (empty when it cannot be read)."""
    try:
        with h5py.File(path, "r") as file:
            payload = json.loads(str(file.attrs.get("provenance", "{}")))
    except (OSError, ValueError):
        return {}
    return payload if isinstance(payload, dict) else {}


def dataset_quantity(path: str | Path) -> str:
    """``"FC, Fisher z (negatives zeroed)"``-style label of a dataset's connectivity values."""
    return quantity_label(dataset_provenance(path))


def run_title(model: str, dataset: str, split: str, split_round: int, fold: int, stage: str) -> str:
    """``"SMT+[CLS] on dk82: random split, round 0, fold 1, test regions"``."""
    return f"{model} on {dataset}: {split} split, round {split_round}, fold {fold}, {stage}"
