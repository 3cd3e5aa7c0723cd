from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest

from ge2conn.data.errors import DatasetError
from ge2conn.data.format import BrainDataset, read_header


@pytest.fixture
def dataset(synthetic_path: Path) -> BrainDataset:
    return BrainDataset.load(synthetic_path)


def assert_message(error: DatasetError, path: Path | str, field: str) -> None:
    message = str(error)
    assert str(path) in message
    assert f"field '{field}'" in message
    assert "Fix:" in message and len(error.fix) > 5


def test_round_trip_preserves_every_field(dataset: BrainDataset, tmp_path: Path) -> None:
    path = dataset.save(tmp_path / "copy.h5")
    loaded = BrainDataset.load(path)
    for name in ("expression", "centroids", "sphere", "connectivity", "individual", "gene_tss"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(dataset, name))
    for name in (
        "gene_symbols",
        "gene_chromosomes",
        "gene_strands",
        "region_labels",
        "hemisphere",
        "structure",
        "network",
        "subjects",
    ):
        assert list(getattr(loaded, name)) == list(getattr(dataset, name))
    assert loaded.provenance == dataset.provenance
    with h5py.File(path) as file:
        assert file["connectivity/individual"].chunks == (1, 24, 24)
    header = read_header(path)
    assert (header.num_regions, header.num_genes, header.num_subjects) == (24, 120, 6)


def test_save_is_atomic_and_leaves_no_temporary_files(dataset: BrainDataset, tmp_path: Path) -> None:
    target = dataset.save(tmp_path / "d.h5")
    before = target.read_bytes()
    broken = replace(dataset, connectivity=dataset.connectivity + np.triu(np.ones((24, 24), np.float32), 1))
    with pytest.raises(DatasetError):
        broken.save(target)
    assert target.read_bytes() == before  # the failed save did not touch the existing file
    assert [path.name for path in tmp_path.iterdir()] == ["d.h5"]


def test_asymmetric_connectivity_is_rejected(dataset: BrainDataset, tmp_path: Path) -> None:
    connectivity = dataset.connectivity.copy()
    connectivity[0, 5] += 0.5
    with pytest.raises(DatasetError, match="not symmetric") as error:
        replace(dataset, connectivity=connectivity).save(tmp_path / "asym.h5")
    assert_message(error.value, tmp_path / "asym.h5", "connectivity/population")
    assert "symmetrize" in error.value.fix


def test_partial_nan_expression_row_is_an_error(dataset: BrainDataset, tmp_path: Path) -> None:
    expression = dataset.expression.copy()
    expression[3, 7] = np.nan
    with pytest.raises(DatasetError, match="NaN") as error:
        replace(dataset, expression=expression).validate(tmp_path / "x.h5")
    assert_message(error.value, tmp_path / "x.h5", "expression")


def test_all_nan_expression_row_is_dropped_with_a_warning(dataset: BrainDataset, tmp_path: Path) -> None:
    expression = dataset.expression.copy()
    expression[2] = np.nan
    path = replace(dataset, expression=expression).save(tmp_path / "empty_row.h5")
    with pytest.warns(UserWarning, match=re.escape(str(dataset.region_labels[2]))):
        loaded = BrainDataset.load(path)
    assert loaded.num_regions == 23
    assert dataset.region_labels[2] not in loaded.region_labels
    keep = np.delete(np.arange(24), 2)
    np.testing.assert_array_equal(loaded.connectivity, dataset.connectivity[np.ix_(keep, keep)])
    np.testing.assert_array_equal(loaded.individual, dataset.individual[:, keep][:, :, keep])
    assert BrainDataset.load(path, drop_empty_regions=False).num_regions == 24


@pytest.mark.parametrize(
    ("field", "value", "bad_field"),
    [
        ("centroids", np.zeros((23, 3)), "regions/centroid"),
        ("gene_tss", np.zeros(119, dtype=np.int64), "genes/tss"),
        ("region_labels", np.array(["a"] * 23), "regions/label"),
    ],
)
def test_shape_mismatch_names_the_field(
    dataset: BrainDataset, tmp_path: Path, field: str, value: np.ndarray, bad_field: str
) -> None:
    with pytest.raises(DatasetError, match="expected shape") as error:
        replace(dataset, **{field: value}).validate(tmp_path / "s.h5")
    assert_message(error.value, tmp_path / "s.h5", bad_field)


def test_connectivity_label_mismatch(dataset: BrainDataset, tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as error:
        replace(dataset, connectivity=dataset.connectivity[:20, :20]).validate(tmp_path / "c.h5")
    assert_message(error.value, tmp_path / "c.h5", "connectivity/population")


def test_duplicate_labels_are_rejected(dataset: BrainDataset, tmp_path: Path) -> None:
    labels = dataset.region_labels.copy()
    labels[1] = labels[0]
    with pytest.raises(DatasetError, match="duplicated") as error:
        replace(dataset, region_labels=labels).validate(tmp_path / "dup.h5")
    assert_message(error.value, tmp_path / "dup.h5", "regions/label")
    assert labels[0] in str(error.value)


def test_unknown_hemisphere_and_unsorted_genes(dataset: BrainDataset, tmp_path: Path) -> None:
    hemisphere = dataset.hemisphere.copy()
    hemisphere[0] = "X"
    with pytest.raises(DatasetError, match="unknown values") as error:
        replace(dataset, hemisphere=hemisphere).validate()
    assert error.value.field == "regions/hemisphere"
    tss = dataset.gene_tss.copy()
    tss[[0, 1]] = tss[[1, 0]]
    with pytest.raises(DatasetError, match="reference") as error:
        replace(dataset, gene_tss=tss).validate()
    assert error.value.field == "genes/tss"


def test_truncated_file_names_file_and_fix(dataset: BrainDataset, tmp_path: Path) -> None:
    path = dataset.save(tmp_path / "full.h5")
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DatasetError, match="truncated or corrupt") as error:
        BrainDataset.load(truncated)
    assert_message(error.value, truncated, "<file>")


def test_missing_file_and_missing_field(dataset: BrainDataset, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such file"):
        BrainDataset.load(tmp_path / "absent.h5")
    path = dataset.save(tmp_path / "d.h5")
    with h5py.File(path, "a") as file:
        del file["regions/network"]
    with pytest.raises(DatasetError, match="missing") as error:
        BrainDataset.load(path)
    assert_message(error.value, path, "regions/network")
