"""Ecosystem inputs and outputs: abagen tables, parcellation images, nilearn / XCP-D connectomes, nulls
exported for neuromaps, and nulls of a brain map without a dataset or FC."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from ge2conn.data.cli import main as data_main
from ge2conn.data.format import BrainDataset
from ge2conn.data.recipes.common import volume_centroids
from ge2conn.data.recipes.ecosystem import read_atlas_info, read_parcellation, read_relmat_folder, subject_id
from ge2conn.nulls.cli import main as nulls_main
from ge2conn.nulls.generate import generate_nulls
from ge2conn.nulls.io import load_nulls
from tests.ecosystem.atlases import SurfaceAtlas, import_or_skip

GENES = ["PVALB", "SST", "VIP", "GAD1", "GAD2", "SLC17A7", "GFAP", "OLIG2", "MBP", "SNAP25", "SYT1", "CALB1",
         "CALB2", "RELN", "NPY", "CCK", "TAC1", "PENK", "DRD1", "DRD2", "HTR2A", "GRIN1", "GRIN2B", "CAMK2A"]


def write_csv(path: Path, header: list[str], rows: list[list[object]], delimiter: str = ",") -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def abagen_dk(abagen_dk_volume: tuple[bytes, list[dict[str, str]]], tmp_path: Path) -> dict[str, Path]:
    """abagen's DK atlas (volume + atlas_info) and an expression table as get_expression_data writes it: one
    row per atlas id (``label`` column), one column per gene, an empty row for a region without samples."""
    volume, info = abagen_dk_volume
    (tmp_path / "atlas.nii.gz").write_bytes(volume)
    write_csv(tmp_path / "atlas_info.csv", ["id", "label", "hemisphere", "structure"],
              [[row["id"], row["label"], row["hemisphere"], row["structure"]] for row in info])
    values = np.random.default_rng(0).random((len(info), len(GENES)))
    rows: list[list[object]] = [[row["id"], *value] for row, value in zip(info, values, strict=True)]
    rows[5] = [info[5]["id"]] + [""] * len(GENES)  # no samples
    write_csv(tmp_path / "expression.csv", ["label", *GENES], rows)
    return {"atlas": tmp_path / "atlas.nii.gz", "info": tmp_path / "atlas_info.csv",
            "expression": tmp_path / "expression.csv"}


@pytest.mark.mirror
def test_import_abagen_table_with_nifti_centroids_and_a_nilearn_stack(
        abagen_dk: dict[str, Path], abagen_dk_volume: tuple[bytes, list[dict[str, str]]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    connectome = import_or_skip("nilearn.connectome", "ConnectivityMeasure stacks are an import format")
    monkeypatch.setenv("GE2CONN_HOME", str(tmp_path / "home"))
    series = [np.random.default_rng(seed).standard_normal((120, 83)) for seed in range(3)]
    stack = connectome.ConnectivityMeasure(kind="correlation").fit_transform(series)
    np.save(tmp_path / "stack.npy", stack)
    status = data_main(["import", "--name", "abadk", "--expression", str(abagen_dk["expression"]),
                        "--atlas-info", str(abagen_dk["info"]), "--parcellation", str(abagen_dk["atlas"]),
                        "--individual", str(tmp_path / "stack.npy"), "--fc-transform", "pearson r",
                        "--output", str(tmp_path / "abadk.h5")])
    assert status == 0
    dataset = BrainDataset.load(tmp_path / "abadk.h5", drop_empty_regions=False)
    volume, info = abagen_dk_volume
    midline = {"B": "M"}  # abagen's bilateral hemisphere is ge2conn's midline
    hemispheres = [midline.get(row["hemisphere"], row["hemisphere"]) for row in info]
    assert list(dataset.region_labels) == [f"{side}_{row['label']}" for side, row in zip(hemispheres, info,
                                                                                         strict=True)]
    brainstem = list(dataset.region_labels).index("M_brainstem")
    assert dataset.hemisphere[brainstem] == "M" and dataset.structure[brainstem] == "brainstem"
    assert set(dataset.structure) == {"cortex", "subcortex", "brainstem"}
    expected = volume_centroids(volume)
    np.testing.assert_allclose(dataset.centroids, [expected[int(row["id"])] for row in info], atol=1e-5)
    assert np.isnan(dataset.expression[5]).all()
    np.testing.assert_allclose(dataset.individual, stack, atol=1e-6)
    off_diagonal = ~np.eye(83, dtype=bool)
    population = stack.mean(axis=0)
    np.testing.assert_allclose(dataset.connectivity[off_diagonal], population[off_diagonal], atol=1e-6)
    assert "mean of the individual matrices" in dataset.provenance["fc_transform"]


def test_relmat_folder_is_aligned_by_label_and_named_by_bids_entities(tmp_path: Path) -> None:
    labels = ["A", "B", "C", "D"]
    rng = np.random.default_rng(1)
    expected = []
    for subject, order in (("sub-01_ses-1", [2, 0, 3, 1]), ("sub-02_ses-1", [0, 1, 2, 3])):
        values = rng.random((4, 4))
        matrix = (values + values.T) / 2
        expected.append(matrix)
        folder = tmp_path / subject.split("_")[0] / "func"
        folder.mkdir(parents=True)
        shuffled = matrix[np.ix_(order, order)]
        write_csv(folder / f"{subject}_task-rest_space-MNI_seg-toy_stat-pearsoncorrelation_relmat.tsv",
                  ["Node", *[labels[index] for index in order]],
                  [[labels[index], *row] for index, row in zip(order, shuffled.tolist(), strict=True)], "\t")
    stack, subjects = read_relmat_folder(tmp_path, labels)
    np.testing.assert_allclose(stack, np.stack(expected))
    assert subjects == ["sub-01_ses-1_task-rest", "sub-02_ses-1_task-rest"]
    assert subject_id(Path("sub-3_run-2_seg-x_relmat.tsv")) == "sub-3_run-2"


@pytest.mark.mirror
def test_gifti_parcellation_centroids_match_the_recipes_and_neuromaps(
        surface_atlases: dict[str, SurfaceAtlas], tmp_path: Path) -> None:
    spins = import_or_skip("neuromaps.nulls.spins", "the parcel centroids the readers must match")
    parcels = surface_atlases["schaefer_100"]
    labels = parcels.label_gifti(tmp_path)
    parcellation = read_parcellation(list(labels), list(parcels.surfaces), list(parcels.spheres))
    assert parcellation.ids == parcels.ids and parcellation.hemisphere == list(parcels.hemisphere)
    np.testing.assert_allclose(parcellation.centroids, parcels.centroids, atol=1e-9)
    np.testing.assert_allclose(parcellation.sphere, parcels.sphere, atol=1e-9)
    theirs, _ = spins.get_parcel_centroids([str(path) for path in parcels.surfaces],
                                           parcellation=tuple(map(str, labels)), method="average")
    assert np.abs(parcellation.centroids - theirs).max() < 1e-3


def synthetic_tables(synthetic_path: Path, folder: Path) -> tuple[BrainDataset, list[str]]:
    """The synthetic dataset written as the plain tables ``nulls generate`` reads (no FC)."""
    dataset = BrainDataset.load(synthetic_path, individual=False)
    labels = list(dataset.region_labels)
    write_csv(folder / "expression.tsv", ["label", *dataset.gene_symbols],
              [[label, *row] for label, row in zip(labels, dataset.expression.tolist(), strict=True)], "\t")
    write_csv(folder / "coordinates.csv", ["label", "x", "y", "z"],
              [[label, *point] for label, point in zip(labels, dataset.centroids.tolist(), strict=True)])
    write_csv(folder / "regions.csv", ["label", "hemisphere", "structure"],
              [list(row) for row in zip(labels, dataset.hemisphere, dataset.structure, strict=True)])
    cortex = np.flatnonzero(dataset.structure == "cortex")
    write_csv(folder / "sphere.csv", ["label", "x", "y", "z"],
              [[labels[index], *dataset.sphere[index]] for index in cortex])
    return dataset, ["--expression", str(folder / "expression.tsv"), "--coordinates",
                     str(folder / "coordinates.csv"), "--regions", str(folder / "regions.csv"), "--sphere",
                     str(folder / "sphere.csv")]


def test_nulls_without_a_dataset_equal_the_dataset_nulls_and_export_for_neuromaps(synthetic_path: Path,
                                                                                   tmp_path: Path) -> None:
    dataset, tables = synthetic_tables(synthetic_path, tmp_path)
    output = tmp_path / "map.nulls.h5"
    assert nulls_main(["generate", *tables, "--n", "60", "--top", "5", "--seed", "2",
                       "--output", str(output)]) == 0
    nulls = load_nulls(output)
    reference = generate_nulls(dataset, num_spins=60, top=5, seed=2)
    np.testing.assert_array_equal(nulls.permutations, reference.permutations)  # cortex and subcortex spun
    np.testing.assert_array_equal(nulls.rank, reference.rank)
    assert (dataset.structure[nulls.permutations] == dataset.structure).all()

    assert nulls_main(["export", str(output), "--output", str(tmp_path / "spins.npy")]) == 0
    spins = np.load(tmp_path / "spins.npy")
    assert spins.shape == (dataset.num_regions, 5)  # regions × kept nulls, as gen_spinsamples returns
    np.testing.assert_array_equal(spins, nulls.permutations[np.argsort(nulls.rank)[:5]].T)
    with (tmp_path / "spins.regions.tsv").open() as handle:
        assert [row["label"] for row in csv.DictReader(handle, delimiter="\t")] == list(dataset.region_labels)

    brain_map = np.random.default_rng(3).random(dataset.num_regions)
    write_csv(tmp_path / "map.csv", ["label", "thickness"],
              [[label, value] for label, value in zip(dataset.region_labels, brain_map, strict=True)])
    assert nulls_main(["export", str(output), "--map", str(tmp_path / "map.csv"),
                       "--output", str(tmp_path / "null_maps.tsv")]) == 0
    with (tmp_path / "null_maps.tsv").open() as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    assert rows[0] == ["label", "rank0", "rank1", "rank2", "rank3", "rank4"]
    null_maps = np.array([[float(value) for value in row[1:]] for row in rows[1:]])
    np.testing.assert_allclose(null_maps, brain_map[spins])


def test_exported_null_maps_work_in_neuromaps_compare_images(synthetic_path: Path, tmp_path: Path) -> None:
    stats = import_or_skip("neuromaps.stats", "exported nulls are for neuromaps.stats.compare_images")
    dataset, tables = synthetic_tables(synthetic_path, tmp_path)
    output = tmp_path / "map.nulls.h5"
    assert nulls_main(["generate", *tables, "--n", "200", "--top", "100", "--output", str(output)]) == 0
    assert nulls_main(["export", str(output), "--output", str(tmp_path / "spins.npy")]) == 0
    spins = np.load(tmp_path / "spins.npy")
    first, second = (dataset.expression[:, column].astype(np.float64) for column in (0, 1))
    r, p = stats.compare_images(first, second, nulls=first[spins], ignore_zero=False)
    null_r = np.array([np.corrcoef(first[spins[:, k]], second)[0, 1] for k in range(spins.shape[1])])
    assert r == pytest.approx(np.corrcoef(first, second)[0, 1])
    assert p == pytest.approx((1 + np.sum(np.abs(null_r) >= abs(r))) / (1 + spins.shape[1]))


@pytest.mark.mirror
def test_nulls_of_an_abagen_map_spin_cortex_and_subcortex_without_fc(abagen_dk: dict[str, Path],
                                                                     tmp_path: Path) -> None:
    output = tmp_path / "abagen.nulls.h5"
    with pytest.warns(UserWarning, match="no expression samples"):
        assert nulls_main(["generate", "--expression", str(abagen_dk["expression"]), "--atlas-info",
                           str(abagen_dk["info"]), "--parcellation", str(abagen_dk["atlas"]), "--n", "30",
                           "--top", "3", "--output", str(output)]) == 0
    nulls = load_nulls(output)
    assert nulls.permutations.shape == (30, 82)  # 83 abagen regions, one without samples dropped
    labels = list(nulls.region_labels)
    by_label = {region.label: region for region in read_atlas_info(abagen_dk["info"]).values()}
    structure = np.array([by_label[label].structure for label in labels])
    hemisphere = np.array([by_label[label].hemisphere for label in labels])
    assert set(structure) == {"cortex", "subcortex", "brainstem"}
    subcortex = np.flatnonzero(structure == "subcortex")
    assert (nulls.permutations[:, subcortex] != subcortex).any(axis=1).mean() > 0.5  # subcortex is spun ...
    assert (structure[nulls.permutations] == structure).all()  # ... never into the cortex ...
    assert (hemisphere[nulls.permutations] == hemisphere).all()  # ... nor across hemispheres
    assert (nulls.permutations[:, labels.index("M_brainstem")] == labels.index("M_brainstem")).all()
