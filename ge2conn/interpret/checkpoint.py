"""Read the regions and genes a model should be explained on.

Checkpoints are read by :func:`ge2conn.utils.checkpoints.read_checkpoint` and rebuilt by
:func:`ge2conn.inference.checkpoint.load_checkpoint`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ge2conn.data.catalog import resolve_dataset
from ge2conn.data.errors import DatasetError
from ge2conn.data.format import BrainDataset
from ge2conn.data.region_table import read_gene_list


@dataclass
class RegionData:
    """Expression, coordinates and metadata of the regions a model is explained on.

    Attributes:
        path: The dataset file.
        expression: (R, G) float32 expression, genes in reference (TSS) order.
        coordinates: (R, 3) float32 MNI centroids.
        labels: (R,) region labels.
        hemisphere: (R,) "L", "R" or "M".
        structure: (R,) structure names.
        network: (R,) network names.
        gene_symbols: (G,) gene symbols.
        gene_chromosomes: (G,) chromosome names ("" when unknown).
        connectivity: (R, R) population FC (the target), when loaded.
    """

    path: Path
    expression: np.ndarray
    coordinates: np.ndarray
    labels: np.ndarray
    hemisphere: np.ndarray
    structure: np.ndarray
    network: np.ndarray
    gene_symbols: np.ndarray
    gene_chromosomes: np.ndarray
    connectivity: np.ndarray | None = None


def load_regions(
    dataset: str | Path, gene_list: str | None = None, structures: list[str] | None = None
) -> RegionData:
    """Read the regions (with expression) and genes that the datamodule would serve for these arguments.

    Args:
        dataset: Dataset name or ``.h5`` path.
        gene_list: Optional gene list file (keeps only those genes, as the datamodule's ``gene_list``).
        structures: Keep only regions of these structures (as the datamodule's ``structures``).

    Returns:
        The regions, in the datamodule's order.
    """
    path = resolve_dataset(dataset)
    brain = BrainDataset.load(path, individual=False)
    if structures:
        brain = brain.select_regions(np.flatnonzero(np.isin(brain.structure, structures)))
        if brain.num_regions == 0:
            raise DatasetError(
                path,
                "regions/structure",
                f"no region among structures {structures}",
                "choose structures present in the dataset",
            )
    if gene_list is not None:
        brain = brain.select_genes(read_gene_list(gene_list, brain.gene_symbols, path))
    return RegionData(
        path=path,
        expression=np.ascontiguousarray(brain.expression, dtype=np.float32),
        coordinates=brain.centroids.astype(np.float32),
        labels=brain.region_labels,
        hemisphere=brain.hemisphere,
        structure=brain.structure,
        network=brain.network,
        gene_symbols=brain.gene_symbols,
        gene_chromosomes=brain.gene_chromosomes,
        connectivity=np.asarray(brain.connectivity, dtype=np.float64),
    )
