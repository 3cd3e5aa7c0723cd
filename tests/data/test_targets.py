"""The structural target: the optional structural matrix in the format, the datamodule's ``target`` option,
and the DK recipe's ENIGMA structural matrix (checked against the raw mirror files by label)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from ge2conn.data.datamodule import EdgePairDataModule
from ge2conn.data.errors import DatasetError
from ge2conn.data.format import BrainDataset

HCP = "MICA-MNI/ENIGMA/enigmatoolbox/datasets/matrices/hcp_connectivity"


def with_structural(synthetic_path: Path, folder: Path,
                    missing: slice = slice(20, 24)) -> tuple[Path, np.ndarray]:
    """The synthetic dataset plus a random symmetric structural matrix whose ``missing`` rows are NaN."""
    dataset = BrainDataset.load(synthetic_path)
    rng = np.random.default_rng(0)
    values = rng.random((dataset.num_regions, dataset.num_regions))
    structural = ((values + values.T) / 2).astype(np.float32)
    np.fill_diagonal(structural, 0.0)
    structural[missing, :] = np.nan
    structural[:, missing] = np.nan
    path = replace(dataset, structural=structural).save(folder / "synthetic_structural.h5")
    return path, structural


def test_structural_matrix_round_trips_and_follows_region_selection(synthetic_path: Path,
                                                                     tmp_path: Path) -> None:
    path, structural = with_structural(synthetic_path, tmp_path)
    loaded = BrainDataset.load(path)
    np.testing.assert_array_equal(loaded.structural, structural)
    regions = np.array([3, 0, 21])
    np.testing.assert_array_equal(loaded.select_regions(regions).structural,
                                  structural[np.ix_(regions, regions)])
    assert BrainDataset.load(synthetic_path).structural is None


def test_asymmetric_structural_matrix_is_rejected(synthetic_path: Path, tmp_path: Path) -> None:
    dataset = BrainDataset.load(synthetic_path)
    structural = np.zeros((dataset.num_regions,) * 2, np.float32)
    structural[0, 1] = 1.0
    with pytest.raises(DatasetError, match="connectivity/structural"):
        replace(dataset, structural=structural).save(tmp_path / "bad.h5")


def test_structural_target_keeps_regions_with_data_and_serves_their_values(synthetic_path: Path,
                                                                           tmp_path: Path) -> None:
    path, structural = with_structural(synthetic_path, tmp_path)
    functional = EdgePairDataModule(dataset=str(path), batch_size=32)
    module = EdgePairDataModule(dataset=str(path), batch_size=32, target="structural")
    assert functional.num_regions == 24 and functional.num_subjects == 6
    assert module.num_regions == 20 and module.num_subjects == 0  # NaN rows 20..23 out, no individual FC
    np.testing.assert_array_equal(module.region_metadata.labels, BrainDataset.load(path).region_labels[:20])
    module.setup("fit")
    batch = module.on_after_batch_transfer(module.test_edges, 0)
    rows, cols = batch["rows"].numpy(), batch["cols"].numpy()
    np.testing.assert_array_equal(batch["target"].numpy(), structural[rows, cols])
    _, _, train_rows, train_cols, targets = module.training_arrays()  # what closed-form models fit
    np.testing.assert_allclose(targets, structural[train_rows, train_cols], rtol=1e-6)
    assert torch.isfinite(module.region_tensors("cpu")["connectivity"]).all()


def test_structural_target_without_a_structural_matrix_names_the_fix(synthetic_path: Path) -> None:
    with pytest.raises(DatasetError, match="no structural connectivity.*data build"):
        EdgePairDataModule(dataset=str(synthetic_path), target="structural")
    with pytest.raises(ValueError, match="unknown target"):
        EdgePairDataModule(dataset=str(synthetic_path), target="anatomical")  # type: ignore[arg-type]


@pytest.mark.mirror
@pytest.mark.parametrize(("name", "suffix", "cortical"),
                         [("dk82", "", 68), ("schaefer100", "_schaefer_100", 100)])
def test_recipes_carry_the_enigma_structural_matrix_on_their_cortex(
        built_datasets: dict[str, Path], mirror_path: Path, name: str, suffix: str, cortical: int) -> None:
    dataset = BrainDataset.load(built_datasets[name], individual=False)
    assert dataset.structural is not None
    labels = [label for line in (mirror_path / HCP / f"strucLabels_ctx{suffix}.csv").read_text().splitlines()
              for label in line.split(",") if label]
    raw = np.loadtxt(mirror_path / HCP / f"strucMatrix_ctx{suffix}.csv", delimiter=",")
    cortex = np.flatnonzero(dataset.structure == "cortex")
    order = [labels.index(label) for label in dataset.region_labels[cortex]]
    assert dataset.provenance["structural_scale"] == pytest.approx(np.abs(raw).max())
    np.testing.assert_allclose(dataset.structural[np.ix_(cortex, cortex)],
                               raw[np.ix_(order, order)] / np.abs(raw).max(), atol=1e-6)
    subcortex = dataset.structure != "cortex"
    assert np.isnan(dataset.structural[subcortex]).all() and np.isnan(dataset.structural[:, subcortex]).all()
    assert "structural" in dataset.provenance and "structural" in dataset.provenance["sources"]
    module = EdgePairDataModule(dataset=str(built_datasets[name]), target="structural")
    assert module.num_regions == cortical and module.num_subjects == 0
