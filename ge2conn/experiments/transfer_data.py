"""Data side of the transfer analysis: shared genes and target connectomes.

Transfer trains on (almost) every region of a source dataset (``EdgePairDataModule(whole_brain=True)``) and
predicts every edge of a target dataset.
Both datasets are restricted to the genes they share, taken in the source's reference (TSS) order (both
files are reference-ordered, so the target's columns are a reordering by symbol of the same genes).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ge2conn.data.format import BrainDataset
from ge2conn.data.region_table import RegionTable


def read_gene_symbols(path: str | Path) -> np.ndarray:
    """Gene symbols of a dataset file, without loading its arrays."""
    return RegionTable.read(path).gene_symbols


def write_gene_list(path: Path, symbols: np.ndarray, comment: str) -> Path:
    """Write a gene list file (one symbol per line, ``#`` comment first) for the datamodule's ``gene_list``.

    Args:
        path: Destination.
        symbols: Gene symbols.
        comment: First-line comment (what the list is).

    Returns:
        The path.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# {comment}\n" + "\n".join(symbols.tolist()) + "\n", encoding="utf-8")
    return path


@dataclass
class TargetConnectome:
    """A target dataset restricted to the shared genes: what the source model is applied to.

    Attributes:
        expression: (R, g) float32 expression, columns in the shared-gene order.
        coordinates: (R, 3) float32 MNI centroids.
        connectivity: (R, R) float32 population FC.
        labels: (R,) region labels.
    """

    expression: np.ndarray
    coordinates: np.ndarray
    connectivity: np.ndarray
    labels: np.ndarray


def load_target(path: str | Path, genes: np.ndarray) -> TargetConnectome:
    """Read a target dataset (regions with expression) with its columns reordered to ``genes``.

    Args:
        path: Dataset file.
        genes: Symbols to keep, in the order the model expects; all must be in the dataset.

    Returns:
        The target.
    """
    dataset = BrainDataset.load(path, individual=False)
    column = {symbol: index for index, symbol in enumerate(dataset.gene_symbols.tolist())}
    missing = [symbol for symbol in genes.tolist() if symbol not in column]
    if missing:
        raise ValueError(f"{path}: lacks {len(missing)} of the shared genes (first: {missing[:3]})")
    columns = np.asarray([column[symbol] for symbol in genes.tolist()], dtype=np.int64)
    return TargetConnectome(
        expression=np.ascontiguousarray(dataset.expression[:, columns], dtype=np.float32),
        coordinates=dataset.centroids.astype(np.float32),
        connectivity=dataset.connectivity.astype(np.float32),
        labels=dataset.region_labels,
    )
