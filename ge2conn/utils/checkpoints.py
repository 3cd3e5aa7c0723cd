"""Reading Lightning checkpoints safely, with one clear error line for every way a checkpoint can be wrong.

:func:`read_checkpoint` is the one place that opens a ``.ckpt`` file: it only ever reads plain data
(``torch.load(weights_only=True)``), and a missing, empty, truncated or foreign file becomes a
:class:`CheckpointError` naming the file and what to do — never a raw ``PytorchStreamReader``/unpickling
traceback, and never the advice to load with ``weights_only=False`` (which runs arbitrary code from the file).
:func:`check_checkpoint_class` refuses a checkpoint of another task class than the one configured.
"""

from __future__ import annotations

import pickle
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from ge2conn.utils.errors import UserInputError

SPECIAL_CKPT_PATHS = ("last", "best", "hpc", "registry")
"""``--ckpt_path`` values that Lightning resolves itself (not files)."""
_WRITE_AGAIN = (
    "pass another --ckpt_path, or write it again with `ge2conn fit` (checkpoints are saved in "
    "<default_root_dir>/checkpoints/)"
)


class CheckpointError(UserInputError):
    """A checkpoint file is missing, unreadable, not a Lightning checkpoint, or of another task class."""


def _reason(source: Path, error: BaseException) -> str:
    with source.open("rb") as handle:
        zip_magic = handle.read(4) == b"PK\x03\x04"
    if zip_magic and not zipfile.is_zipfile(source):
        return "the file is truncated (incomplete zip archive)"
    if isinstance(error, pickle.UnpicklingError):
        return "it holds objects other than plain data (tensors, numbers, strings), so it is not loaded"
    if isinstance(error, EOFError) or "failed finding central directory" in str(error):
        return "the file is truncated (incomplete zip archive)"
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return f"not a PyTorch checkpoint ({first_line[:120]})"


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a Lightning checkpoint as plain data, or fail with one line naming the file and the fix.

    Args:
        path: The ``.ckpt`` file.

    Returns:
        The checkpoint dictionary (with ``state_dict`` and, when saved by Lightning, ``hyper_parameters``).

    Raises:
        CheckpointError: when the file is missing, empty, truncated, not a checkpoint, or holds code objects.
    """
    source = Path(path)
    if not source.is_file():
        problem = "is a folder" if source.is_dir() else "no such checkpoint file"
        raise CheckpointError(source, "<file>", problem, f"check the path; {_WRITE_AGAIN}")
    if source.stat().st_size == 0:
        raise CheckpointError(source, "<file>", "the file is empty", _WRITE_AGAIN)
    try:
        with warnings.catch_warnings():
            # A foreign pickle makes torch warn about its protocol before refusing it; the refusal is enough.
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            checkpoint = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - a damaged file fails anywhere in the unpickler (IndexError, ...)
        raise CheckpointError(
            source, "<file>", f"cannot be read as a checkpoint: {_reason(source, error)}", _WRITE_AGAIN
        ) from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(
            source, "state_dict", "not a Lightning checkpoint (no 'state_dict')", _WRITE_AGAIN
        )
    return checkpoint


def checkpoint_class_path(checkpoint: dict[str, Any]) -> str | None:
    """The task class recorded by LightningCLI (``hyper_parameters["_class_path"]``), or None."""
    value = dict(checkpoint.get("hyper_parameters") or {}).get("_class_path")
    return str(value) if value else None


def check_checkpoint_class(path: str | Path, checkpoint: dict[str, Any], configured: str | None) -> None:
    """Refuse a checkpoint whose task class differs from the configured one.

    Args:
        path: The checkpoint file (for the message).
        checkpoint: What :func:`read_checkpoint` returned.
        configured: The configured model's class path (``--model`` / ``--config``), or None when unset.

    Raises:
        CheckpointError: naming both classes.
    """
    stored = checkpoint_class_path(checkpoint)
    if stored is None or configured is None:
        return
    stored_name, configured_name = stored.rsplit(".", 1)[-1], configured.rsplit(".", 1)[-1]
    if stored_name != configured_name:
        raise CheckpointError(
            path,
            "hyper_parameters._class_path",
            f"the checkpoint holds model class {stored_name} but the configuration (--config/--model) asks "
            f"for {configured_name}",
            f"configure {stored_name} (the config it was trained with, or --model {stored_name}), "
            f"or pass a checkpoint of {configured_name}",
        )


def check_ckpt_argument(ckpt_path: str | Path | None, configured_class_path: str | None) -> None:
    """Check a ``--ckpt_path`` before Lightning reads it: readable, and of the configured task class.

    Args:
        ckpt_path: The option's value (None, a file, or one of :data:`SPECIAL_CKPT_PATHS`).
        configured_class_path: The configured model's ``class_path`` (None when no model is configured).

    Raises:
        CheckpointError: naming the file and the fix.
    """
    if ckpt_path is None or str(ckpt_path) in SPECIAL_CKPT_PATHS:
        return
    check_checkpoint_class(ckpt_path, read_checkpoint(ckpt_path), configured_class_path)
