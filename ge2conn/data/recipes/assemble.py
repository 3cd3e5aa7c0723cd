"""Assembling a :class:`BrainDataset` from a recipe's parts: gene placement, gene lists, provenance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ge2conn.data.format import BrainDataset
from ge2conn.data.genes import place_genes, read_gene_list
from ge2conn.data.recipes.common import BuildContext
from ge2conn.data.sources import sha256_of


@dataclass
class RegionTable:
    """Region metadata gathered by a recipe, in the dataset's region order."""

    labels: list[str]
    hemisphere: list[str]
    structure: list[str]
    network: list[str]
    centroids: np.ndarray
    sphere: np.ndarray


def matching_summary(counts: dict[str, Any]) -> str:
    """One line of gene-matching counts (see :meth:`ge2conn.data.genes.GeneMatch.counts`)."""
    return (
        f"{counts.get('matched')} matched, {counts.get('renamed')} renamed via aliases, "
        f"{counts.get('unplaced')} unplaced (unmatched {counts.get('unmatched')}, ambiguous "
        f"{counts.get('ambiguous')}, duplicate {counts.get('duplicate')}, "
        f"no position {counts.get('no_position')})"
    )


def assemble_dataset(
    name: str,
    regions: RegionTable,
    expression: np.ndarray,
    gene_symbols: Sequence[str],
    connectivity: np.ndarray,
    context: BuildContext,
    provenance: dict[str, Any],
    gene_list: Path | None = None,
    keep_unplaced: bool = False,
    individual: np.ndarray | None = None,
    subjects: Sequence[str] | None = None,
) -> BrainDataset:
    """Place genes in reference order (optionally restricted to a list) and build the dataset.

    Args:
        name: Dataset name.
        regions: Region metadata.
        expression: (r, g) expression, columns matching ``gene_symbols``.
        gene_symbols: Symbols as given by the source.
        connectivity: (r, r) population FC.
        context: The build context (its sources and notes go into provenance).
        provenance: Recipe-specific provenance (fc_transform, recipe, ...).
        gene_list: Optional gene list file; only genes named there (by input or official symbol) are kept.
        keep_unplaced: Keep genes without a genomic position (last, in input order).
        individual: Optional (n, r, r) individual FC.
        subjects: Subject ids for ``individual``.

    Returns:
        The dataset (not yet saved).
    """
    placed = place_genes(gene_symbols, keep_unplaced=keep_unplaced)
    context.log(
        f"genes: {placed.counts['matched']} matched, {placed.counts['renamed']} renamed via aliases, "
        f"{placed.counts['unplaced']} unplaced"
    )
    keep = np.arange(len(placed.columns))
    gene_matching: dict[str, Any] = {**placed.counts, "renamed_symbols": placed.renamed}
    if gene_list is not None:
        wanted = read_gene_list(gene_list)
        wanted_set = set(wanted)
        inputs = np.asarray(gene_symbols, dtype=str)[placed.columns]
        keep = np.flatnonzero(
            [
                official in wanted_set or given in wanted_set
                for official, given in zip(placed.symbols, inputs, strict=True)
            ]
        )
        gene_matching["gene_list"] = {
            "file": str(gene_list),
            "sha256": sha256_of(Path(gene_list)),
            "listed": len(wanted),
            "kept": int(len(keep)),
        }
        context.log(f"gene list {gene_list}: {len(keep)} of {len(wanted)} listed genes kept")
    columns = placed.columns[keep]
    return BrainDataset(
        name=name,
        expression=np.asarray(expression[:, columns], dtype=np.float32),
        gene_symbols=placed.symbols[keep],
        gene_chromosomes=placed.chromosomes[keep],
        gene_tss=placed.tss[keep],
        gene_strands=placed.strands[keep],
        region_labels=np.array(regions.labels),
        hemisphere=np.array(regions.hemisphere),
        structure=np.array(regions.structure),
        network=np.array(regions.network),
        centroids=np.asarray(regions.centroids, dtype=np.float64),
        sphere=np.asarray(regions.sphere, dtype=np.float64),
        connectivity=np.asarray(connectivity, dtype=np.float32),
        individual=None if individual is None else np.asarray(individual, dtype=np.float32),
        subjects=None if subjects is None else np.array(list(subjects)),
        provenance={
            **provenance,
            "gene_matching": gene_matching,
            "sources": context.sources,
            "notes": context.notes,
        },
    )
