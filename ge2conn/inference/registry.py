"""Shipped pretrained models: where they are, and what their cards say.

Shipped checkpoints live in the repository's ``checkpoints/`` folder (``<name>.ckpt`` with its card
``<name>.md``), rebuilt by ``scripts/make_pretrained.py``. Folders searched, in order: those in
``$GE2CONN_CHECKPOINTS`` (separated by ``os.pathsep``), the ``checkpoints/`` folder beside the package (a
source checkout or editable install) and ``$GE2CONN_HOME/checkpoints``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ge2conn.data.paths import ge2conn_home
from ge2conn.inference.checkpoint import CARD_ENTRY, INFERENCE_ENTRY, CheckpointError, read_checkpoint

CHECKPOINTS_ENV = "GE2CONN_CHECKPOINTS"


def checkpoint_folders() -> list[Path]:
    """The folders searched for shipped models, in order (existing ones only)."""
    listed = [
        Path(part).expanduser() for part in os.environ.get(CHECKPOINTS_ENV, "").split(os.pathsep) if part
    ]
    defaults = [Path(__file__).resolve().parents[2] / "checkpoints", ge2conn_home() / "checkpoints"]
    folders: list[Path] = []
    for folder in [*listed, *defaults]:
        if folder.is_dir() and folder.resolve() not in {known.resolve() for known in folders}:
            folders.append(folder)
    return folders


@dataclass(frozen=True)
class ShippedModel:
    """A checkpoint found in a checkpoints folder.

    Attributes:
        name: File stem (what ``load_model`` and ``--ckpt_path`` accept).
        path: The checkpoint.
        size_bytes: File size.
        card: Its structured card (empty when it has none).
        num_genes: Number of genes the model reads (0 when unknown).
        records_genes: Whether the checkpoint carries its genes (predicts without its training dataset).
    """

    name: str
    path: Path
    size_bytes: int
    card: dict[str, Any]
    num_genes: int
    records_genes: bool

    @property
    def card_file(self) -> Path | None:
        """The Markdown model card beside the checkpoint, when there is one."""
        candidate = self.path.with_suffix(".md")
        return candidate if candidate.is_file() else None


def list_models() -> list[ShippedModel]:
    """Every readable checkpoint in the checkpoint folders, by name (first folder wins).

    Returns:
        The models, sorted by name.
    """
    found: dict[str, ShippedModel] = {}
    for folder in checkpoint_folders():
        for path in sorted(folder.glob("*.ckpt")):
            if path.stem in found:
                continue
            try:
                checkpoint = read_checkpoint(path)
            except CheckpointError:
                continue
            hparams = dict(checkpoint.get("hyper_parameters") or {})
            found[path.stem] = ShippedModel(
                name=path.stem,
                path=path,
                size_bytes=path.stat().st_size,
                card=dict(checkpoint.get(CARD_ENTRY) or {}),
                num_genes=int(hparams.get("num_genes", 0)),
                records_genes=INFERENCE_ENTRY in checkpoint,
            )
    return [found[name] for name in sorted(found)]


def resolve_model(path_or_name: str | Path) -> Path:
    """Turn a checkpoint path or a shipped model name into a checkpoint path.

    Args:
        path_or_name: An existing file, or a name from ``ge2conn models list``.

    Returns:
        The checkpoint path.

    Raises:
        CheckpointError: when it is neither.
    """
    candidate = Path(path_or_name).expanduser()
    if candidate.is_file():
        return candidate
    name = str(path_or_name)
    for folder in checkpoint_folders():
        path = folder / f"{name}.ckpt"
        if path.is_file():
            return path
    raise CheckpointError(
        path_or_name,
        "--ckpt_path",
        f"no such checkpoint file or shipped model (searched {[str(path) for path in checkpoint_folders()]})",
        "give a .ckpt file or a name from `ge2conn models list`",
    )
