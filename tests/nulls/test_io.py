from __future__ import annotations

import shutil
from dataclasses import fields
from pathlib import Path

import h5py
import numpy as np
import pytest

from ge2conn.data.errors import DatasetError
from ge2conn.data.format import BrainDataset
from ge2conn.nulls import io as nulls_io
from ge2conn.nulls.generate import generate_nulls
from ge2conn.nulls.io import ensure_nulls, load_null_permutation, load_nulls, null_path_for, save_nulls


@pytest.fixture
def dataset_copy(synthetic_path: Path, tmp_path: Path) -> Path:
    """The synthetic fixture copied to a temporary folder (nulls files are written next to the dataset)."""
    return Path(shutil.copy(synthetic_path, tmp_path / "synthetic.h5"))


def test_null_path_for_sits_next_to_the_dataset() -> None:
    assert null_path_for(Path("/data/sets/dk82.h5")) == Path("/data/sets/dk82.nulls.h5")
    assert null_path_for("relative/s456.hdf5") == Path("relative/s456.nulls.h5")


def test_round_trip(synthetic_path: Path, tmp_path: Path) -> None:
    nulls = generate_nulls(BrainDataset.load(synthetic_path), num_spins=30, top=3, seed=1)
    path = save_nulls(nulls, tmp_path / "x.nulls.h5", "synthetic")
    loaded = load_nulls(path)
    for field in fields(nulls):
        expected, actual = getattr(nulls, field.name), getattr(loaded, field.name)
        if isinstance(expected, np.ndarray):
            np.testing.assert_array_equal(actual, expected, err_msg=field.name)
        else:
            assert actual == expected, field.name
    with h5py.File(path, "r") as file:
        np.testing.assert_array_equal(file["top"][()], nulls.top_spins)
        np.testing.assert_array_equal(file["spins/reassignment_cost"][()], nulls.parameters[:, 6])
        assert file["true/exponential"].shape == (2,) and file["spins/cubic"].shape == (30, 4)
    assert [entry.name for entry in tmp_path.iterdir()] == ["x.nulls.h5"]  # no temporary file left


def test_ensure_nulls_writes_then_reuses(dataset_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, reused = ensure_nulls(dataset_copy, num_spins=30, top=3, seed=0)
    assert path == dataset_copy.with_name("synthetic.nulls.h5") and not reused
    first = load_nulls(path)

    def no_generation(*args: object, **kwargs: object) -> None:
        raise AssertionError("the matching nulls file should have been reused")

    with monkeypatch.context() as patch:
        patch.setattr(nulls_io, "generate_nulls", no_generation)
        assert ensure_nulls(dataset_copy, num_spins=30, top=3, seed=0) == (path, True)
        # Another K only relabels the kept ranks.
        assert ensure_nulls(dataset_copy, num_spins=30, top=5, seed=0) == (path, True)
    relabelled = load_nulls(path)
    assert relabelled.top == 5
    np.testing.assert_array_equal(relabelled.permutations, first.permutations)
    assert ensure_nulls(dataset_copy, num_spins=30, top=5, seed=1)[1] is False  # another seed: regenerate
    assert not np.array_equal(load_nulls(path).permutations, first.permutations)
    assert ensure_nulls(dataset_copy, num_spins=30, top=5, seed=1, force=True)[1] is False


def test_changed_dataset_or_broken_file_is_regenerated(dataset_copy: Path, tmp_path: Path) -> None:
    path, _ = ensure_nulls(dataset_copy, num_spins=20, top=2, seed=0)
    dataset = BrainDataset.load(dataset_copy)
    dataset.expression[0, 0] = 0.5 * dataset.expression[0, 0] + 0.25
    dataset.save(dataset_copy)
    assert ensure_nulls(dataset_copy, num_spins=20, top=2, seed=0)[1] is False
    path.write_bytes(b"not an hdf5 file")
    assert ensure_nulls(dataset_copy, num_spins=20, top=2, seed=0)[1] is False
    load_nulls(path)


def test_failed_write_leaves_the_old_file(dataset_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = ensure_nulls(dataset_copy, num_spins=20, top=2, seed=0)
    before = path.read_bytes()

    def broken(*args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(nulls_io, "_write", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        ensure_nulls(dataset_copy, num_spins=20, top=2, seed=5)
    assert path.read_bytes() == before
    assert sorted(entry.name for entry in path.parent.iterdir()) == ["synthetic.h5", "synthetic.nulls.h5"]


def test_load_null_permutation(dataset_copy: Path) -> None:
    path, _ = ensure_nulls(dataset_copy, num_spins=25, top=4, seed=2)
    nulls = load_nulls(path)
    labels = BrainDataset.load(dataset_copy).region_labels
    for rank in range(4):
        permutation = load_null_permutation(path, rank, list(labels))
        spin = int(np.flatnonzero(nulls.rank == rank)[0])
        np.testing.assert_array_equal(permutation, nulls.permutations[spin])
        assert permutation.dtype == np.int64
    assert nulls.error[nulls.rank == 0] == nulls.error.min()


def test_load_null_permutation_validates(dataset_copy: Path, tmp_path: Path) -> None:
    path, _ = ensure_nulls(dataset_copy, num_spins=25, top=4, seed=2)
    labels = list(BrainDataset.load(dataset_copy).region_labels)
    swapped = labels.copy()
    swapped[3], swapped[5] = swapped[5], swapped[3]
    with pytest.raises(DatasetError, match="region 3 is 'L_ctx3'") as error:
        load_null_permutation(path, 0, swapped)
    assert error.value.field == "regions/label" and "--force" in error.value.fix
    with pytest.raises(DatasetError, match="made for 24 regions, but the dataset has 23"):
        load_null_permutation(path, 0, labels[:-1])
    for rank in (4, -1, 10):
        with pytest.raises(DatasetError, match=f"null rank {rank} is not one of the 4 kept nulls"):
            load_null_permutation(path, rank, labels)
    with pytest.raises(DatasetError, match="no such nulls file"):
        load_null_permutation(tmp_path / "missing.nulls.h5", 0, labels)
    with pytest.raises(DatasetError, match="not a ge2conn nulls file"):
        load_null_permutation(dataset_copy, 0, labels)
