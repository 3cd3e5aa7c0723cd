"""Structural connectivity for recipes: ENIGMA's HCP structural matrices, aligned to a dataset's regions.

ENIGMA ships group structural connectomes of the HCP for the cortex only (``strucMatrix_ctx{suffix}.csv``
with labels in ``strucLabels_ctx{suffix}.csv``: DK 68, Schaefer-100/300, Glasser-360). Values are
log-transformed streamline weights with a zero diagonal (0: no streamline between the two parcels), up to
~12. They are stored divided by the file's largest value (recorded as ``structural_scale`` in the
provenance), so the target lives on the scale of correlations that the models' initialisation, the rules
baselines (``a + (1 − a) exp(−d/λ)``) and the geodesic metric's unit diagonal assume; Pearson r is unchanged
by the division. Regions without a structural row (the subcortex) get NaN and are left out of a
``--data.target structural`` run.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ge2conn.data.errors import DatasetError
from ge2conn.data.format import BrainDataset
from ge2conn.data.recipes.common import BuildContext, read_label_file
from ge2conn.data.sources import enigma_file

HCP_CONNECTIVITY = "matrices/hcp_connectivity"
STRUCTURAL_DESCRIPTION = (
    "HCP group structural connectivity (ENIGMA toolbox), log-transformed streamline weights divided by the "
    "file's largest value (structural_scale), 0 = no streamline; cortex only (NaN elsewhere)"
)


def enigma_structural(context: BuildContext, matrix_file: str,
                      region_labels: np.ndarray) -> tuple[np.ndarray, float]:
    """ENIGMA's HCP structural matrix for the cortex, aligned by label to a dataset's regions.

    Args:
        context: Build context (records the two files as sources ``structural``/``structural_labels``).
        matrix_file: ``strucMatrix_ctx{suffix}.csv`` (DK: no suffix; ``_schaefer_100``, ``_glasser_360``,
            ...); its labels are read from the matching ``strucLabels_ctx{suffix}.csv``.
        region_labels: The dataset's region labels.

    Returns:
        ``(matrix, scale)``: (r, r) float32 in the dataset's region order divided by ``scale`` (the file's
        largest absolute value), NaN for pairs involving a region the file lacks.

    Raises:
        DatasetError: when the labels file and the matrix disagree, or no dataset region is in the file.
    """
    labels_file = matrix_file.replace("strucMatrix", "strucLabels", 1)
    labels_path = context.github("structural_labels", enigma_file(f"{HCP_CONNECTIVITY}/{labels_file}"))
    matrix_path = context.github("structural", enigma_file(f"{HCP_CONNECTIVITY}/{matrix_file}"))
    labels = read_label_file(labels_path)
    matrix = np.loadtxt(matrix_path, delimiter=",", dtype=np.float64, ndmin=2)
    if matrix.shape != (len(labels), len(labels)):
        raise DatasetError(matrix_path, "<matrix>", f"shape {matrix.shape} for {len(labels)} labels in "
                           f"{labels_path.name}", "use the matrix and labels files of the same atlas")
    position = {label: index for index, label in enumerate(labels)}
    rows = np.array([position.get(str(label), -1) for label in region_labels])
    if (rows < 0).all():
        raise DatasetError(labels_path, "<labels>", f"no structural row for any of the dataset's regions "
                           f"(e.g. {region_labels[0]})", "use the structural files of the dataset's atlas")
    present = rows >= 0
    aligned = np.full((len(region_labels), len(region_labels)), np.nan)
    scale = float(np.abs(matrix).max())
    if not np.isfinite(scale) or scale <= 0:
        raise DatasetError(matrix_path, "<matrix>", "no finite non-zero value", "use the ENIGMA file")
    aligned[np.ix_(present, present)] = matrix[np.ix_(rows[present], rows[present])] / scale
    context.log(f"structural connectivity: {int(present.sum())} of {len(region_labels)} regions")
    return aligned.astype(np.float32), scale


def with_enigma_structural(dataset: BrainDataset, context: BuildContext, matrix_file: str) -> BrainDataset:
    """The dataset with ENIGMA's structural matrix attached (see :func:`enigma_structural`).

    Args:
        dataset: The assembled dataset.
        context: Build context; the two files are added to the dataset's recorded sources.
        matrix_file: ENIGMA's structural matrix file of the atlas (``strucMatrix_ctx_schaefer_100.csv``).

    Returns:
        A copy with ``structural`` set and ``provenance["structural"]`` describing it.
    """
    structural, scale = enigma_structural(context, matrix_file, dataset.region_labels)
    provenance: dict[str, Any] = {**dataset.provenance, "structural": STRUCTURAL_DESCRIPTION,
                                  "structural_scale": scale, "sources": context.sources}
    return replace(dataset, structural=structural, provenance=provenance)
