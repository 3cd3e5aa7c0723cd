"""Files of a run folder, written atomically so that an interrupted run never looks finished.

A run folder holds ``metrics.json`` (written last: its presence means the run finished), ``predictions.npz``
(the test edges' rows, cols, prediction and target), ``config.yaml`` (LightningCLI's resolved config) and,
when the run failed, ``error.json``. Temporary files start with ``.`` and end in ``.tmp``.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ge2conn.utils.atomic import atomic_output

METRICS_FILE = "metrics.json"
ERROR_FILE = "error.json"
PREDICTIONS_FILE = "predictions.npz"
EXPERIMENT_FILE = "experiment.json"


def _json_safe(value: Any) -> Any:
    """Convert numpy scalars, paths and tuples; NaN/inf become None (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _atomic_write(path: Path, write: Any, binary: bool) -> None:
    with atomic_output(path) as temporary, temporary.open("wb" if binary else "w") as file:
        write(file)
        file.flush()
        os.fsync(file.fileno())  # on disk before the rename makes it visible as finished


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write a JSON file atomically (temporary file in the same folder, then rename).

    Args:
        path: Destination.
        payload: JSON-like mapping; NaN values are written as null.
    """
    text = json.dumps(_json_safe(payload), indent=2, sort_keys=False, allow_nan=False)
    _atomic_write(path, lambda file: file.write(text + "\n"), binary=False)


def read_json(path: Path) -> dict[str, Any] | None:
    """Read a JSON mapping, or None when it is missing or unreadable (e.g. truncated by a crash)."""
    try:
        with path.open() as file:
            payload = json.load(file)
    except (OSError, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


def write_predictions(path: Path, columns: dict[str, np.ndarray]) -> None:
    """Save the test edges (``rows``, ``cols``, ``prediction``, ``target``) as a compressed ``.npz``.

    Args:
        path: Destination.
        columns: Equal-length arrays.
    """
    def save(file: Any) -> None:
        np.savez_compressed(file, **columns)  # type: ignore[arg-type]  # numpy's stub types **kwds as bool

    _atomic_write(path, save, binary=True)


def is_finished(run_folder: Path) -> bool:
    """Whether a run folder holds a complete ``metrics.json`` (the last file a run writes)."""
    payload = read_json(run_folder / METRICS_FILE)
    return payload is not None and "metrics" in payload


def clean_partial(run_folder: Path) -> None:
    """Remove temporary files left by an interrupted write, and a stale error record."""
    if run_folder.is_dir():
        for leftover in run_folder.glob(".*.tmp"):
            leftover.unlink(missing_ok=True)
    (run_folder / ERROR_FILE).unlink(missing_ok=True)


def remove_checkpoints(folder: Path) -> None:
    """Delete the ``.ckpt`` files under a folder (the runner keeps metrics and predictions instead)."""
    for checkpoint in folder.rglob("*.ckpt"):
        checkpoint.unlink(missing_ok=True)
    for subfolder in sorted(folder.rglob("checkpoints"), reverse=True):
        if subfolder.is_dir() and not any(subfolder.iterdir()):
            subfolder.rmdir()


@lru_cache(maxsize=1)
def git_commit() -> str:
    """The commit of the ge2conn checkout (``+dirty`` when it has local changes), or ``unknown``."""
    folder = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=folder,
                                capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}+dirty" if status else commit
