"""The shipped pretrained models: plain-data checkpoints with cards, the README example, real data."""

from __future__ import annotations

import doctest
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from ge2conn.data.format import BrainDataset
from ge2conn.inference import list_models, load_model
from ge2conn.inference.inputs import dataset_tables
from ge2conn.main import main

REPOSITORY = Path(__file__).resolve().parents[2]
SHIPPED = ("mlp_coords_dk82", "mlp_coords_dk82_common", "mlp_coords_schaefer100_common")
PERSISTENT_DOWNLOADS = Path.home() / ".cache" / "ge2conn" / "downloads"


@pytest.fixture(scope="module")
def schaefer100(tmp_path_factory: pytest.TempPathFactory, mirror_path: Path) -> Iterator[Path]:
    """schaefer100 built from the mirror, exported to an expression CSV and a coordinates CSV."""
    from ge2conn.data.recipes import build_dataset

    home = tmp_path_factory.mktemp("pretrained_home")
    PERSISTENT_DOWNLOADS.mkdir(parents=True, exist_ok=True)
    (home / "downloads").symlink_to(PERSISTENT_DOWNLOADS, target_is_directory=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GE2CONN_HOME", str(home))
        patch.setenv("GE2CONN_MIRROR", str(mirror_path))
        path = build_dataset("schaefer100")
        expression, coordinates = dataset_tables(path)
        expression.to_csv(home / "schaefer100_expression.csv")
        coordinates.to_csv(home / "schaefer100_coordinates.csv")
        yield path


def test_shipped_checkpoints_are_plain_data_with_cards(capsys) -> None:
    for name in SHIPPED:
        path = REPOSITORY / "checkpoints" / f"{name}.ckpt"
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        assert path.stat().st_size < 8e6, name
        assert "optimizer_states" not in checkpoint
        entry, card = checkpoint["ge2conn_inference"], checkpoint["ge2conn_card"]
        assert (
            len(entry["gene_symbols"])
            == len(entry["fill_values"])
            == checkpoint["hyper_parameters"]["num_genes"]
        )
        assert card["test_pearson_true"] > card["test_pearson_null"] - 0.2  # real numbers, not placeholders
        text = path.with_suffix(".md").read_text(encoding="utf-8")
        for heading in (
            "Training data and licence",
            "Genes",
            "Protocol",
            "Test metrics",
            "Intended use",
            "Limits",
        ):
            assert f"## {heading}" in text, (name, heading)
    assert {model.name for model in list_models()} >= set(SHIPPED)
    assert main(["models", "list"]) == 0
    printed = capsys.readouterr().out
    assert all(name in printed for name in SHIPPED)


def test_readme_example_runs(schaefer100: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Predict any atlas") :]
    example = re.search(r"```pycon\n(.*?)```", section, re.DOTALL)
    assert example is not None
    monkeypatch.chdir(schaefer100.parent.parent)  # the CSV files are in the home folder
    test = doctest.DocTestParser().get_doctest(example.group(1), {}, "README", "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0 and runner.tries >= 6


@pytest.mark.parametrize("name", ["mlp_coords_dk82_common", "mlp_coords_schaefer100_common"])
def test_schaefer100_csv_predicted_without_fc(name: str, schaefer100: Path, tmp_path: Path, capsys) -> None:
    home = schaefer100.parent.parent
    output = tmp_path / "fc.csv"
    assert (
        main(
            [
                "predict",
                "--ckpt_path",
                name,
                "--expression",
                str(home / "schaefer100_expression.csv"),
                "--coordinates",
                str(home / "schaefer100_coordinates.csv"),
                "--output",
                str(output),
            ]
        )
        == 0
    )
    assert "238 genes matched, 0 renamed, 0 missing" in capsys.readouterr().out
    predicted = pd.read_csv(output, index_col=0)
    brain = BrainDataset.load(schaefer100, individual=False)
    assert list(predicted.index) == brain.region_labels.tolist() == list(predicted.columns)
    upper = np.triu_indices(brain.num_regions, 1)
    r = np.corrcoef(predicted.to_numpy()[upper], brain.connectivity[upper])[0, 1]
    assert r > 0.3, r  # far above chance for either model (see checkpoints/cross_atlas.md)


def test_full_gene_model_refuses_the_schaefer_gene_set(schaefer100: Path, tmp_path: Path, capsys) -> None:
    home = schaefer100.parent.parent
    assert (
        main(
            [
                "predict",
                "--ckpt_path",
                "mlp_coords_dk82",
                "--expression",
                str(home / "schaefer100_expression.csv"),
                "--coordinates",
                str(home / "schaefer100_coordinates.csv"),
                "--output",
                str(tmp_path / "x.csv"),
            ]
        )
        == 2
    )
    assert "of the 15450 genes of model 'mlp_coords_dk82' are missing" in capsys.readouterr().err
    model = load_model("mlp_coords_dk82")
    assert len(model.gene_symbols) == 15450 and model.genes.dataset == "dk82"
