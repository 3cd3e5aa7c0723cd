"""``ge2conn predict --expression ...`` (no FC) and ``ge2conn models list``."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from ge2conn.inference import load_model
from ge2conn.main import main


@pytest.fixture
def csv_inputs(tmp_path: Path, synthetic_tables) -> tuple[Path, Path]:
    expression, coordinates = synthetic_tables
    expression.to_csv(tmp_path / "expression.csv")
    coordinates.to_csv(tmp_path / "coordinates.tsv", sep="\t")
    return tmp_path / "expression.csv", tmp_path / "coordinates.tsv"


def predict(checkpoint: Path, inputs: tuple[Path, Path], output: Path, *extra: str) -> int:
    expression, coordinates = inputs
    return main(
        [
            "predict",
            "--ckpt_path",
            str(checkpoint),
            "--expression",
            str(expression),
            "--coordinates",
            str(coordinates),
            "--output",
            str(output),
            *extra,
        ]
    )


def test_every_output_format_holds_the_same_labelled_prediction(
    mlp_checkpoint: Path, csv_inputs: tuple[Path, Path], synthetic_tables, tmp_path: Path, capsys
) -> None:
    expected = load_model(mlp_checkpoint).predict(*synthetic_tables)
    labels = list(expected.index)
    for name in ("fc.csv", "fc.tsv", "fc.h5", "fc.npy"):
        assert predict(mlp_checkpoint, csv_inputs, tmp_path / name) == 0
    printed = capsys.readouterr().out
    assert "120 genes matched, 0 renamed, 0 missing" in printed
    assert f"wrote {tmp_path / 'fc.csv'} (24 × 24 regions)" in printed
    assert f"wrote {tmp_path / 'fc_labels.txt'}" in printed
    for name, separator in (("fc.csv", ","), ("fc.tsv", "\t")):
        table = pd.read_csv(tmp_path / name, sep=separator, index_col=0)
        assert list(table.index) == labels == list(table.columns)
        np.testing.assert_allclose(table.to_numpy(), expected.to_numpy(), rtol=1e-5, atol=1e-6)
    matrix = np.load(tmp_path / "fc.npy")
    np.testing.assert_allclose(matrix, expected.to_numpy(), rtol=1e-6)
    assert (tmp_path / "fc_labels.txt").read_text().split() == labels
    with h5py.File(tmp_path / "fc.h5") as file:
        np.testing.assert_allclose(file["prediction"][:], expected.to_numpy(), rtol=1e-6)
        assert [label.decode() for label in file["labels"][:]] == labels
        np.testing.assert_allclose(file["coordinates"][:], synthetic_tables[1].to_numpy())
        report = json.loads(file.attrs["gene_report"])
        provenance = json.loads(file.attrs["provenance"])
    assert (report["matched"], report["missing"], report["model_genes"]) == (120, 0, 120)
    assert provenance["checkpoint_sha256"] == hashlib.sha256(mlp_checkpoint.read_bytes()).hexdigest()
    assert provenance["ge2conn_version"] and provenance["task"] == "MLPTask"
    assert not list(tmp_path.glob(".*.tmp"))


def test_nilearn_plots_the_npy_output(mlp_checkpoint: Path, csv_inputs, tmp_path: Path) -> None:
    plotting = pytest.importorskip("nilearn.plotting")
    assert predict(mlp_checkpoint, csv_inputs, tmp_path / "fc.npy") == 0
    matrix = np.load(tmp_path / "fc.npy")
    coordinates = pd.read_csv(csv_inputs[1], sep="\t", index_col=0).to_numpy()
    plotting.plot_matrix(matrix, labels=(tmp_path / "fc_labels.txt").read_text().split())
    plotting.plot_connectome(matrix, coordinates, edge_threshold="95%")


def test_user_errors_are_one_line_and_write_nothing(
    mlp_checkpoint: Path, csv_inputs: tuple[Path, Path], tmp_path: Path, capsys
) -> None:
    expression = pd.read_csv(csv_inputs[0], index_col=0)
    few = tmp_path / "few_genes.csv"
    expression.iloc[:, :60].to_csv(few)
    assert predict(mlp_checkpoint, (few, csv_inputs[1]), tmp_path / "out.csv") == 2
    error = capsys.readouterr().err
    assert "60 of the 120 genes" in error and "few_genes.csv" in error and "Traceback" not in error
    assert predict(mlp_checkpoint, csv_inputs, tmp_path / "out.xlsx") == 2
    assert "unknown output format" in capsys.readouterr().err
    assert (
        main(
            [
                "predict",
                "--ckpt_path",
                str(mlp_checkpoint),
                "--expression",
                str(csv_inputs[0]),
                "--output",
                str(tmp_path / "out.csv"),
            ]
        )
        == 2
    )
    assert "--coordinates" in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()


def test_a_dataset_name_or_file_is_an_input(
    mlp_checkpoint: Path, synthetic_path: Path, synthetic_tables, tmp_path: Path
) -> None:
    assert (
        main(
            [
                "predict",
                "--ckpt_path",
                str(mlp_checkpoint),
                "--expression",
                str(synthetic_path),
                "--output",
                str(tmp_path / "fc.csv"),
            ]
        )
        == 0
    )
    table = pd.read_csv(tmp_path / "fc.csv", index_col=0)
    expected = load_model(mlp_checkpoint).predict(*synthetic_tables)
    np.testing.assert_allclose(table.to_numpy(), expected.to_numpy(), rtol=1e-5, atol=1e-6)


def test_models_list_shows_checkpoints_and_cards(
    mlp_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    checkpoint = torch.load(mlp_checkpoint, weights_only=True)
    checkpoint["ge2conn_card"] = {
        "model": "MLP+coords",
        "training_data": "synthetic",
        "test_pearson_true": 0.61,
        "test_pearson_null": 0.42,
    }
    torch.save(checkpoint, folder / "tiny.ckpt")
    (folder / "tiny.md").write_text("# tiny\n")
    shutil.copy(mlp_checkpoint, folder / "plain.ckpt")
    (folder / "broken.ckpt").write_bytes(b"garbage")
    monkeypatch.setenv("GE2CONN_CHECKPOINTS", str(folder))
    assert main(["models", "list"]) == 0
    printed = capsys.readouterr().out
    assert "tiny" in printed and "0.61 / 0.42" in printed and "tiny.md" in printed and "plain" in printed
    assert "broken" not in printed
    assert load_model("tiny").name == "tiny"
