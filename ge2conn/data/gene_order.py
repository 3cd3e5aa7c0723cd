"""The reference-genome ordering rule for genes (method §1).

Genes are ordered by chromosome 1..22, X, Y (then mitochondrial and unplaced contigs), then by
transcription start site (TSS). Genes without a known position go last, in a stable order (the order
in which they were given).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

UNKNOWN_TSS = -1
"""Sentinel TSS for genes with no known genomic position."""

_CHROMOSOME_RANKS: dict[str, int] = {str(number): number for number in range(1, 23)} | {
    "X": 23,
    "Y": 24,
    "MT": 25,
}
_UNPLACED_RANK = 26
_UNKNOWN_RANK = 27


def chromosome_rank(chromosome: str) -> int:
    """Rank of a chromosome name in reference order.

    Args:
        chromosome: Name such as ``"1"``, ``"chr7"``, ``"X"``; an empty string means unknown.

    Returns:
        1..22 for autosomes, 23 for X, 24 for Y, 25 for MT, 26 for other contigs, 27 for unknown.
    """
    name = chromosome.strip()
    if not name:
        return _UNKNOWN_RANK
    if name.lower().startswith("chr"):
        name = name[3:]
    if name == "M":
        name = "MT"
    return _CHROMOSOME_RANKS.get(name, _UNPLACED_RANK)


def reference_order(chromosomes: Sequence[str], tss: Sequence[int] | np.ndarray) -> np.ndarray:
    """Permutation that sorts genes into reference order (stable for ties and unknown genes).

    Args:
        chromosomes: Chromosome name per gene ("" when unknown).
        tss: Transcription start site per gene (``UNKNOWN_TSS`` when unknown).

    Returns:
        Integer index array ``order`` such that ``genes[order]`` is in reference order.
    """
    ranks = np.array([chromosome_rank(name) for name in chromosomes], dtype=np.int64)
    positions = np.asarray(tss, dtype=np.int64)
    if ranks.shape != positions.shape:
        raise ValueError(f"chromosomes ({ranks.shape}) and tss ({positions.shape}) differ in length")
    unknown = (ranks == _UNKNOWN_RANK) | (positions < 0)
    ranks = np.where(unknown, _UNKNOWN_RANK, ranks)
    positions = np.where(unknown, 0, positions)
    # np.lexsort sorts by the last key first; it is stable, so ties and unknowns keep their input order.
    return np.lexsort((positions, ranks))


def is_reference_ordered(chromosomes: Sequence[str], tss: Sequence[int] | np.ndarray) -> bool:
    """Whether genes are already in reference order.

    Args:
        chromosomes: Chromosome name per gene.
        tss: Transcription start site per gene.

    Returns:
        True when ``reference_order`` is the identity.
    """
    order = reference_order(chromosomes, tss)
    return bool(np.array_equal(order, np.arange(len(order))))
