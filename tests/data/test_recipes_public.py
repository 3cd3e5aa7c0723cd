"""The paper-scale public recipes (Schaefer-300, Glasser-360, UK Biobank S100) built from the mirror."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ge2conn.data.errors import DatasetError
from ge2conn.data.format import BrainDataset
from ge2conn.data.gene_order import is_reference_ordered
from ge2conn.data.recipes import build_dataset
from ge2conn.data.recipes import ukbb as ukbb_recipe
from ge2conn.data.sources import PINNED_SHA256

HCP = "MICA-MNI/ENIGMA/enigmatoolbox/datasets/matrices/hcp_connectivity"
UKBB = "neuroinfolab/GeneEx2Conn/data"
YEO7 = {"Vis", "SomMot", "DorsAttn", "SalVentAttn", "Limbic", "Cont", "Default"}
NEW_RECIPES = ("schaefer300", "schaefer300-ctx", "glasser360", "glasser360-ctx", "ukbb-s100")

pytestmark = pytest.mark.mirror


def labels_of(path: Path) -> list[str]:
    return [label for line in path.read_text().splitlines() for label in line.split(",") if label]


@pytest.fixture(scope="module")
def public(session_home: Path, mirror_path: Path) -> Iterator[dict[str, BrainDataset]]:
    """The new recipes built once for this module (name → dataset as stored, before any region drop)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GE2CONN_HOME", str(session_home))
        patch.setenv("GE2CONN_MIRROR", str(mirror_path))
        paths = {name: build_dataset(name) for name in NEW_RECIPES + ("schaefer100-ctx",)}
        yield {name: BrainDataset.load(path, drop_empty_regions=False) for name, path in paths.items()}


def test_every_input_is_pinned_and_matches_the_mirror_checksums(mirror_path: Path) -> None:
    listed = (mirror_path.parent / "SHA256SUMS").read_text().splitlines()
    listed += (mirror_path.parent / "PINS_NOT_IN_MIRROR.txt").read_text().splitlines()
    for line in listed:
        if not line.strip() or line.startswith("#") or line.endswith("LICENSE"):
            continue
        digest, name = line.split(maxsplit=1)
        owner, repo, path = name.split("/", 2)
        assert PINNED_SHA256[(f"{owner}/{repo}", path)] == digest, name


@pytest.mark.parametrize(("name", "suffix", "size", "genes"), [
    ("schaefer300", "schaefer_300", 300, 327),
    ("glasser360", "glasser_360", 360, 268),
])
def test_surface_atlas_matches_raw_files(
    public: dict[str, BrainDataset], mirror_path: Path, name: str, suffix: str, size: int, genes: int
) -> None:
    whole, cortex = public[name], public[f"{name}-ctx"]
    labels = labels_of(mirror_path / HCP / f"funcLabels_with_sctx_{suffix}.csv")
    assert list(whole.region_labels) == labels and whole.num_regions == size + 14
    csv_fc = np.loadtxt(mirror_path / HCP / f"funcMatrix_with_ctx_{suffix}.csv", delimiter=",")
    np.testing.assert_allclose(whole.connectivity, csv_fc, atol=1e-6)
    assert "negatives kept" in whole.provenance["fc_transform"] and (csv_fc < 0).any()
    # The cortex-only variant is the cortical block, and its labels are the ctx label file.
    assert list(cortex.region_labels) == labels_of(mirror_path / HCP / f"funcLabels_ctx_{suffix}.csv")
    np.testing.assert_array_equal(cortex.connectivity, whole.connectivity[:size, :size])
    np.testing.assert_array_equal(cortex.expression, whole.expression[:size])
    # Expression rows, looked up by label in the raw table (independent of the recipe's matching).
    raw = mirror_path / f"saratheriver/enigma-extra/ahba/allgenes_stable_r0.6_{suffix}.csv"
    with raw.open() as handle:
        table = {row["label"]: row for row in csv.DictReader(handle)}
    column = next(gene for gene in whole.gene_symbols if gene in table[labels[0]])
    index = list(whole.gene_symbols).index(column)
    for row in (0, size - 1, size + 3):
        value = table[labels[row]][column]
        expected = float(value) if value else np.nan
        np.testing.assert_allclose(whole.expression[row, index], expected, atol=1e-6, equal_nan=True)
    counts = whole.provenance["gene_matching"]
    assert counts["input"] == genes and counts["matched"] + counts["renamed"] == whole.num_genes
    assert is_reference_ordered(list(whole.gene_chromosomes), whole.gene_tss)
    empty = np.isnan(whole.expression).all(axis=1)
    assert empty[:size].sum() == {"schaefer_300": 28, "glasser_360": 63}[suffix] and not empty[size:].any()
    # Geometry: hemispheres on their side, unit sphere for cortex, Yeo-7 networks for every cortical region.
    assert (whole.centroids[whole.hemisphere == "L", 0] < 0).all()
    assert (whole.centroids[whole.hemisphere == "R", 0] > 0).all()
    np.testing.assert_allclose(np.linalg.norm(cortex.sphere, axis=1), 1.0, atol=1e-9)
    assert set(cortex.network) == YEO7 and set(whole.network[size:]) == {"Subcortical"}


def test_schaefer300_label_networks_agree_with_the_majority_vote(public: dict[str, BrainDataset]) -> None:
    # The vote runs over the parcellation file's ids; agreement with the label names checks the id order.
    assert public["schaefer300"].provenance["networks_majority_vote_agreement"] > 0.9


def test_glasser_areas_sit_where_they_belong(public: dict[str, BrainDataset]) -> None:
    glasser = public["glasser360"]
    where = {label: row for row, label in enumerate(glasser.region_labels)}
    for side in ("L", "R"):
        assert glasser.centroids[where[f"{side}_V1"], 1] < -70  # occipital pole
        assert glasser.network[where[f"{side}_V1"]] == "Vis"
        assert glasser.network[where[f"{side}_4"]] == "SomMot"  # primary motor cortex
        assert glasser.centroids[where[f"{side}_10pp"], 1] > 50  # frontal pole
    assert any("other hemisphere" in note for note in glasser.provenance["notes"])


def test_ukbb_s100_is_the_fisher_z_cortical_block(public: dict[str, BrainDataset], mirror_path: Path) -> None:
    ukbb = public["ukbb-s100"]
    raw = np.loadtxt(mirror_path / UKBB / "UKBB/UKBB_S156_FC_mu.csv", delimiter=",", skiprows=1)
    assert raw.shape == (156, 156) and np.allclose(np.diag(raw), 1.0)  # Pearson r, not Fisher z
    upper = np.triu_indices(100, 1)
    np.testing.assert_allclose(ukbb.connectivity[upper], np.arctanh(raw[:100, :100][upper]), atol=1e-6)
    assert (np.diag(ukbb.connectivity) == 0).all() and (ukbb.connectivity < 0).any()
    assert ukbb.provenance["fc_source_values"].startswith("pearson r")
    assert ukbb.provenance["fc_transform"].startswith("fisher_z, negatives kept")
    # Same regions and expression as the ENIGMA Schaefer-100 cortex, centroids from the atlas table.
    schaefer = public["schaefer100-ctx"]
    assert list(ukbb.region_labels) == list(schaefer.region_labels)
    np.testing.assert_array_equal(ukbb.expression, schaefer.expression)
    np.testing.assert_array_equal(ukbb.sphere, schaefer.sphere)
    with (mirror_path / UKBB / "atlases/atlas-4S156Parcels_dseg_reformatted.csv").open() as handle:
        rows = list(csv.DictReader(handle))[:100]
    expected = [[float(row[axis]) for axis in ("mni_x", "mni_y", "mni_z")] for row in rows]
    np.testing.assert_allclose(ukbb.centroids, expected)
    assert list(ukbb.network) == [row["network_label"] for row in rows] and set(ukbb.network) == YEO7
    assert ukbb.num_genes == schaefer.num_genes


def test_ukbb_label_order_mismatch_fails_loudly(
    monkeypatch: pytest.MonkeyPatch, real_data_env: Path, tmp_path: Path
) -> None:
    original = ukbb_recipe.read_atlas_table

    def swapped(path: Path) -> list[dict[str, str]]:
        rows = original(path)
        rows[3], rows[4] = rows[4], rows[3]
        return rows

    monkeypatch.setattr(ukbb_recipe, "read_atlas_table", swapped)
    with pytest.raises(DatasetError, match="label_7network.*differ from ENIGMA's Schaefer-100"):
        build_dataset("ukbb-s100", output=tmp_path / "bad.h5", force=True)


def test_ukbb_rejects_a_matrix_that_is_not_pearson_r(tmp_path: Path) -> None:
    fisher = np.full((156, 156), 1.2)
    np.fill_diagonal(fisher, 0.0)
    path = tmp_path / "fc.csv"
    rows = "\n".join(",".join(map(str, row)) for row in fisher)
    path.write_text(",".join(map(str, range(156))) + "\n" + rows)
    with pytest.raises(DatasetError, match="not a Pearson r matrix"):
        ukbb_recipe.read_ukbb_fc(path)
