"""The UK Biobank dataset ``ukbb-s100``: the paper's cohort, population-average FC on Schaefer-100 cortex.

Inputs:

* FC: GeneEx2Conn's ``data/UKBB/UKBB_S156_FC_mu.csv`` (156 × 156, a header row of column numbers 0..155,
  no labels): the mean Pearson r over UK Biobank subjects on the 4S156 atlas (Schaefer-100 7-network cortex,
  then 56 subcortical/cerebellar parcels). The values are Pearson r, not Fisher z: the diagonal is exactly 1
  and every off-diagonal |value| is below 1 (the recipe checks both). They are transformed like the ENIGMA
  matrices of the other recipes, Fisher z with a zero diagonal; negatives are kept (55 % of the cortical
  edges are negative, as in ENIGMA's unclipped Schaefer matrices), so provenance says
  "fisher_z, negatives kept".
* Atlas table: ``data/atlases/atlas-4S156Parcels_dseg_reformatted.csv`` (labels, Yeo-7 network, hemisphere,
  structure, MNI centroids). Its rows follow the FC's order; only the 100 cortical rows are kept, because
  the 56 subcortical/cerebellar parcels have no public expression.
* Expression: enigma-extra's Schaefer-100 table (AHBA r ≥ 0.6, 810 genes), matched by name. The atlas
  table's ``label_7network`` must equal ENIGMA's Schaefer-100 labels one for one (same order), and every
  one of them must have an expression row; any mismatch fails the build.
* Sphere coordinates: conte69 sphere means over ENIGMA's ``schaefer_100_conte69`` parcels (the same
  parcels, as the label check shows), for spin nulls.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from ge2conn.data.errors import DatasetError
from ge2conn.data.format import BrainDataset
from ge2conn.data.recipes.assemble import RegionTable, assemble_dataset
from ge2conn.data.recipes.common import BuildContext, read_label_file, sphere_coordinates
from ge2conn.data.recipes.dk import conte69_sphere
from ge2conn.data.recipes.schaefer import schaefer_atlas
from ge2conn.data.recipes.surface import HCP_CONNECTIVITY, conte69_parcellation, expression_in_label_order
from ge2conn.data.sources import enigma_file, geneex2conn_file

UKBB_RECIPE_VERSION = 1
UKBB_REGIONS = 156
UKBB_CORTICAL = 100
FC_TRANSFORM = "fisher_z, negatives kept (arctanh of UK Biobank mean Pearson r; zero diagonal)"
_ATLAS_COLUMNS = (
    "label", "label_7network", "network_label", "hemisphere", "structure", "mni_x", "mni_y", "mni_z"
)


def read_ukbb_fc(path: Path) -> np.ndarray:
    """Read the 156 × 156 UKBB matrix (header row ``0,1,...,155``) and check it holds Pearson r.

    Args:
        path: ``UKBB_S156_FC_mu.csv``.

    Returns:
        The float64 Pearson r matrix, diagonal 1.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    header = [field.strip() for field in lines[0].split(",")] if lines else []
    if header != [str(index) for index in range(UKBB_REGIONS)]:
        raise DatasetError(
            path, "<header>", f"expected column numbers 0..{UKBB_REGIONS - 1}", "use GeneEx2Conn's UKBB file"
        )
    matrix = np.loadtxt(io.StringIO("\n".join(lines[1:])), delimiter=",", dtype=np.float64, ndmin=2)
    if matrix.shape != (UKBB_REGIONS, UKBB_REGIONS):
        raise DatasetError(path, "<matrix>", f"expected 156 × 156, got {matrix.shape}", "use the S156 file")
    off_diagonal = matrix[~np.eye(UKBB_REGIONS, dtype=bool)]
    if not np.allclose(np.diag(matrix), 1.0) or np.abs(off_diagonal).max() >= 1.0:
        raise DatasetError(
            path,
            "<matrix>",
            "not a Pearson r matrix (diagonal 1, |off-diagonal| < 1); a Fisher-z input would need no arctanh",
            "check the file version; the recipe treats these values as Pearson r",
        )
    return matrix


def read_atlas_table(path: Path) -> list[dict[str, str]]:
    """The 4S156 atlas table rows (one per parcel, FC order), checked for the columns the recipe uses."""
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    missing = [column for column in _ATLAS_COLUMNS if rows and column not in rows[0]]
    if len(rows) != UKBB_REGIONS or missing:
        raise DatasetError(
            path,
            ", ".join(missing) or "<rows>",
            f"expected {UKBB_REGIONS} rows with columns {_ATLAS_COLUMNS}, got {len(rows)} rows",
            "use GeneEx2Conn's atlas-4S156Parcels_dseg_reformatted.csv",
        )
    return rows


def build_ukbb(context: BuildContext, gene_list: Path | None) -> BrainDataset:
    """Build ``ukbb-s100`` (see the module docstring).

    Args:
        context: Build context.
        gene_list: Optional gene list restricting the genes.

    Returns:
        The dataset.
    """
    correlation = read_ukbb_fc(context.github("fc", geneex2conn_file("data/UKBB/UKBB_S156_FC_mu.csv")))
    atlas_file = geneex2conn_file("data/atlases/atlas-4S156Parcels_dseg_reformatted.csv")
    atlas_path = context.github("atlas_table", atlas_file)
    table = read_atlas_table(atlas_path)
    cortex = [row for row in table if row["structure"] == "cortex"]
    if len(cortex) != UKBB_CORTICAL or table[:UKBB_CORTICAL] != cortex:
        raise DatasetError(
            atlas_path, "structure", "expected the 100 cortical parcels first", "use the 4S156 atlas table"
        )
    labels = [row["label_7network"] for row in cortex]
    enigma_path = context.github(
        "schaefer100_labels", enigma_file(f"{HCP_CONNECTIVITY}/funcLabels_ctx_schaefer_100.csv")
    )
    enigma_labels = read_label_file(enigma_path)
    if labels != enigma_labels:
        differing = [(i, a, b) for i, (a, b) in enumerate(zip(labels, enigma_labels, strict=False)) if a != b]
        raise DatasetError(
            atlas_path,
            "label_7network",
            f"the UKBB cortical labels differ from ENIGMA's Schaefer-100 labels ({enigma_path}); first "
            f"differences (row, UKBB, ENIGMA): {differing[:3]}; {len(labels)} vs {len(enigma_labels)} labels",
            "the region orders differ; map the UKBB rows to the Schaefer-100 labels by name",
        )
    schaefer100 = schaefer_atlas(UKBB_CORTICAL)
    expression, genes = expression_in_label_order(context, schaefer100, labels)
    sphere = sphere_coordinates(
        conte69_sphere(context), conte69_parcellation(context, schaefer100), list(range(1, UKBB_CORTICAL + 1))
    )
    centroids = np.array([[float(row[axis]) for axis in ("mni_x", "mni_y", "mni_z")] for row in cortex])
    cortical = correlation[:UKBB_CORTICAL, :UKBB_CORTICAL].copy()
    np.fill_diagonal(cortical, 0.0)  # arctanh(1) is infinite; the datasets carry a zero diagonal
    connectivity = np.arctanh(cortical)
    context.notes.append("cortical block of the 4S156 matrix (its 56 other parcels lack expression)")
    regions = RegionTable(
        labels,
        [row["hemisphere"] for row in cortex],
        ["cortex"] * UKBB_CORTICAL,
        [row["network_label"] for row in cortex],
        centroids,
        sphere,
    )
    provenance = {
        "fc": "UK Biobank population-average FC (GeneEx2Conn, 4S156 atlas), cortical block",
        "fc_source_values": "pearson r (diagonal 1, |off-diagonal| < 1)",
        "fc_transform": FC_TRANSFORM,
        "expression": "AHBA differential stability r>=0.6 (enigma-extra Schaefer-100, abagen-processed)",
        "centroids": "MNI centroids of the 4S156 atlas table",
        "networks": "Yeo-7 network of the 4S156 atlas table",
        "label_check": "4S156 label_7network == ENIGMA funcLabels_ctx_schaefer_100 (same order)",
    }
    return assemble_dataset(
        "ukbb-s100", regions, expression, genes, connectivity, context, provenance, gene_list=gene_list
    )
