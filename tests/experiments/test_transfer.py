"""Tests of ``ge2conn experiment transfer`` on datasets derived from the synthetic fixture.

The model is the closed-form Connectome Model (fitted in one pass), so a whole transfer with its null
chance level takes seconds. The source is the fixture; the target keeps 18 of its regions and 100 of its
genes, so the gene intersection and the column alignment by symbol are exercised.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from ge2conn.data.alignment import TooFewSharedGenesError, shared_genes
from ge2conn.data.datamodule import EdgePairDataModule
from ge2conn.data.format import BrainDataset
from ge2conn.data.region_table import RegionTable
from ge2conn.data.splits import validation_size
from ge2conn.experiments.transfer import count_shared_regions, main, plan_transfer
from ge2conn.experiments.transfer_data import load_target
from ge2conn.nulls import ensure_nulls

CONFIGS = ["--config", "configs/cm.yaml", "--config", "configs/trainer/cpu.yaml"]
QUIET = [
    "--set",
    "trainer.enable_progress_bar=false",
    "--set",
    "trainer.enable_model_summary=false",
    "--set",
    "trainer.logger=false",
    "--set",
    "figures.every_n_epochs=0",
]


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory, synthetic_path: Path) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("transfer_data")
    source = BrainDataset.load(synthetic_path)
    source_path = source.save(folder / "source.h5")
    rng = np.random.default_rng(0)
    target = source.select_regions(np.sort(rng.choice(source.num_regions, 18, replace=False)))
    target = target.select_genes(np.sort(rng.choice(source.num_genes, 100, replace=False)))
    target.name = "target"
    target_path = target.save(folder / "target.h5")
    ensure_nulls(source_path, num_spins=30, top=2, seed=0)
    return {"source": source_path, "target": target_path}


def test_shared_genes_keep_source_order() -> None:
    source = np.asarray(["G3", "G1", "G7", "G2", "G9"])
    target = np.asarray(["G9", "G2", "G5", "G3"])
    assert shared_genes(source, target).tolist() == [symbol for symbol in source if symbol in set(target)]
    assert shared_genes(source, np.asarray(["X"])).size == 0


def test_plan_counts_shared_genes_and_refuses_too_few(datasets: dict[str, Path]) -> None:
    plan = plan_transfer([str(datasets["source"]), str(datasets["target"])], min_genes=100)
    target_symbols = set(BrainDataset.load(datasets["target"]).gene_symbols.tolist())
    source_symbols = BrainDataset.load(datasets["source"]).gene_symbols.tolist()
    assert plan.pairs == [("source", "target"), ("target", "source")]
    assert plan.genes[("source", "target")].tolist() == [
        gene for gene in source_symbols if gene in target_symbols
    ]
    assert plan.genes[("source", "target")].size == 100
    with pytest.raises(TooFewSharedGenesError, match="only 100 shared gene symbols"):
        plan_transfer([str(datasets["source"]), str(datasets["target"])], min_genes=101)


def test_cli_refusal_is_a_clear_error(
    datasets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        [
            "--datasets",
            str(datasets["source"]),
            str(datasets["target"]),
            "--min-genes",
            "500",
            "--output",
            str(tmp_path / "out"),
            *CONFIGS,
        ]
    )
    assert status == 2
    message = capsys.readouterr().err
    assert "only 100 shared gene symbols" in message and "need at least 500" in message
    assert not (tmp_path / "out").exists()  # refused before anything was trained or written


def test_target_columns_follow_the_shared_gene_order(datasets: dict[str, Path]) -> None:
    target = BrainDataset.load(datasets["target"])
    genes = target.gene_symbols[::-1][:10]
    loaded = load_target(datasets["target"], genes)
    for column, symbol in enumerate(genes):
        np.testing.assert_array_equal(
            loaded.expression[:, column], target.expression[:, target.gene_symbols.tolist().index(symbol)]
        )


def test_whole_brain_split(datasets: dict[str, Path]) -> None:
    module = EdgePairDataModule(dataset=str(datasets["source"]), whole_brain=True, val_fraction=0.25, seed=3)
    train, val = module.split.train, module.split.val
    assert module.split.test.size == 0 and module.test_edges.shape == (0, 2)
    assert np.intersect1d(train, val).size == 0
    assert np.array_equal(np.union1d(train, val), np.arange(module.num_regions))
    assert val.size == validation_size(module.num_regions, 0.25)
    centroids = module.region_metadata.centroids[train]
    np.testing.assert_allclose(module.coordinate_mean, centroids.mean(axis=0))
    np.testing.assert_allclose(module.coordinate_std, centroids.std(axis=0))
    assert module.train_edges.shape[0] == train.size * (train.size - 1)  # both orientations


def test_transfer_writes_true_and_null_matrices(datasets: dict[str, Path], tmp_path: Path) -> None:
    output = tmp_path / "transfer"
    status = main(
        [
            "--datasets",
            str(datasets["source"]),
            str(datasets["target"]),
            "--pairs",
            "source:target",
            "--min-genes",
            "50",
            "--output",
            str(output),
            *CONFIGS,
            *QUIET,
        ]
    )
    assert status == 0
    with (output / "transfer_results.csv").open() as handle:
        results = list(csv.DictReader(handle))
    assert [(row["source"], row["target"], row["condition"]) for row in results] == [
        ("source", "target", "true"),
        ("source", "target", "null"),
    ]
    assert all(row["shared_genes"] == "100" and row["shared_regions"] == "18" for row in results)
    target = BrainDataset.load(datasets["target"])
    upper = np.triu_indices(target.num_regions, k=1)
    for row in results:
        predicted = np.load(output / "predictions" / f"source_to_target_{row['condition']}.npy")
        truth = target.connectivity[upper].astype(np.float64)
        guess = predicted[upper].astype(np.float64)
        assert float(row["pearson"]) == pytest.approx(np.corrcoef(guess, truth)[0, 1], abs=1e-5)
        assert float(row["mse"]) == pytest.approx(np.mean((guess - truth) ** 2), rel=1e-5)
        assert np.isfinite(float(row["geodesic"]))
    assert results[0]["pearson"] != results[1]["pearson"]  # the null brain gives another model
    with (output / "transfer_matrix_pearson.csv").open() as handle:
        matrix = list(csv.reader(handle))
    assert matrix[0] == ["source", "condition", "source", "target"]
    assert [row[:2] for row in matrix[1:]] == [
        ["source", "true"],
        ["source", "null"],
        ["target", "true"],
        ["target", "null"],
    ]
    assert float(matrix[1][3]) == pytest.approx(float(results[0]["pearson"]), abs=1e-5)
    assert matrix[1][2] == "" and matrix[3][3] == ""  # pairs that were not run stay empty
    assert (output / "transfer_matrix.png").stat().st_size > 0


def test_missing_nulls_are_reported_before_training(
    datasets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        [
            "--datasets",
            str(datasets["source"]),
            str(datasets["target"]),
            "--pairs",
            "target:source",
            "--min-genes",
            "50",
            "--output",
            str(tmp_path / "out"),
            *CONFIGS,
        ]
    )
    assert status == 2
    assert "no null brains" in capsys.readouterr().err and not (tmp_path / "out").exists()


def _region_table(labels: list[str], centroids: np.ndarray) -> RegionTable:
    count = len(labels)
    return RegionTable(
        labels=np.array(labels),
        hemisphere=np.full(count, "L"),
        structure=np.full(count, "cortex"),
        network=np.full(count, "n"),
        centroids=centroids,
        has_expression=np.ones(count, bool),
        gene_symbols=np.array(["A"]),
        num_subjects=0,
    )


def test_shared_regions_need_the_same_atlas_not_only_the_same_names() -> None:
    rng = np.random.default_rng(0)
    labels = [f"7Networks_LH_Vis_{index}" for index in range(1, 11)]
    centroids = rng.uniform(-60, 60, size=(10, 3))
    source = _region_table(labels, centroids)
    # The same atlas computed from another parcellation file: centroids a few mm apart, one of them 7 mm.
    moved = centroids + rng.normal(0, 1.5, size=centroids.shape)
    moved[0] += 7.0
    assert count_shared_regions(np.array(labels[:6]), moved[:6], source) == 6
    # Another atlas reusing the names (Schaefer-300 vs -100): parcels elsewhere, a few close by chance.
    elsewhere = rng.uniform(-60, 60, size=(10, 3))
    elsewhere[:2] = centroids[:2] + 1.0
    assert count_shared_regions(np.array(labels), elsewhere, source) == 0
    assert count_shared_regions(np.array(["other_1", "other_2"]), centroids[:2], source) == 0
