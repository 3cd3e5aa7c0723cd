"""Tests of ``ge2conn explain`` (ge2conn.interpret.cli and ge2conn.interpret) on the synthetic fixture.

Checkpoints are written directly from freshly built tasks (no training is needed to check the exports), one
in the LightningCLI layout (with ``_class_path``) and one without it (class found from the hyperparameters).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ge2conn.data.format import BrainDataset
from ge2conn.interpret import TokenLayout, load_checkpoint, network_silhouette, project_2d, umap_available
from ge2conn.interpret.cli import main
from ge2conn.models import EdgeRegressionTask, MLPTask, SMTTask

TOKEN_SIZE = 20


def _save_checkpoint(task: EdgeRegressionTask, path: Path, dataset: Path, class_path: str | None) -> Path:
    hparams = dict(task.hparams)
    if class_path is not None:
        hparams["_class_path"] = class_path
    torch.save(
        {
            "state_dict": task.state_dict(),
            "hyper_parameters": hparams,
            "datamodule_hyper_parameters": {"dataset": str(dataset), "gene_list": None, "structures": None},
        },
        path,
    )
    return path


@pytest.fixture(scope="module")
def synthetic(synthetic_path: Path) -> BrainDataset:
    return BrainDataset.load(synthetic_path, individual=False)


@pytest.fixture(scope="module")
def smt_checkpoint(
    tmp_path_factory: pytest.TempPathFactory, synthetic_path: Path, synthetic: BrainDataset
) -> Path:
    torch.manual_seed(0)
    task = SMTTask(
        num_genes=synthetic.num_genes,
        coordinate_mean=synthetic.centroids.mean(axis=0).tolist(),
        coordinate_std=synthetic.centroids.std(axis=0).tolist(),
        token_size=TOKEN_SIZE,
        d_model=16,
        d_out=3,
        num_layers=2,
        num_heads=2,
        use_cls=True,
        decoder_hidden_sizes=[16],
    )
    folder = tmp_path_factory.mktemp("smt")
    return _save_checkpoint(task, folder / "smt.ckpt", synthetic_path, "ge2conn.models.SMTTask")


@pytest.fixture(scope="module")
def smt_output(tmp_path_factory: pytest.TempPathFactory, smt_checkpoint: Path) -> Path:
    output = tmp_path_factory.mktemp("smt_explain")
    assert main([str(smt_checkpoint), "--output", str(output), "--top", "3", "--heads", "--edges", "10"]) == 0
    return output


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _numpy_silhouette(features: np.ndarray, labels: np.ndarray) -> float:
    """Silhouette written out from its definition (singleton clusters score 0)."""
    distances = np.sqrt(((features[:, None, :] - features[None, :, :]) ** 2).sum(-1))
    scores = []
    for index in range(len(labels)):
        same = (labels == labels[index]) & (np.arange(len(labels)) != index)
        if not same.any():
            scores.append(0.0)
            continue
        within = distances[index, same].mean()
        between = min(distances[index, labels == other].mean() for other in set(labels) - {labels[index]})
        scores.append((between - within) / max(within, between))
    return float(np.mean(scores))


def test_smt_exports_every_file(smt_output: Path, synthetic: BrainDataset) -> None:
    expected = [
        "regions.csv",
        "embeddings.npy",
        "embedding_map.png",
        "silhouette.csv",
        "summary.json",
        "attention_last_layer_global.npy",
        "attention_last_layer_by_network.npy",
        "attention_layers_global.npy",
        "attention_networks.csv",
        "attention_tokens.csv",
        "top_tokens.csv",
        "attention_global.png",
        "attention_by_network.png",
        "attention_last_layer_heads.npy",
        "attention_heads.png",
        "predicted_connectome.npy",
        "glass_brain_predicted.png",
    ]
    for name in expected:
        assert (smt_output / name).stat().st_size > 0, name
    pixels = {"embedding_map.png": (1276, 550), "attention_global.png": (1430, 616),
              "attention_by_network.png": (1296, 342), "attention_heads.png": (684, 342),
              "glass_brain_predicted.png": (1100, 360)}
    for name, size in pixels.items():  # looks are judged by eye (docs/figures); the size is pinned here
        with Image.open(smt_output / name) as image:
            assert image.size == size, name
    regions = _read_csv(smt_output / "regions.csv")
    assert [row["label"] for row in regions] == synthetic.region_labels.tolist()
    num_tokens = -(-synthetic.num_genes // TOKEN_SIZE) + 1
    assert np.load(smt_output / "embeddings.npy").shape == (synthetic.num_regions, num_tokens * 3)
    summary = json.loads((smt_output / "summary.json").read_text())
    assert summary["model"] == "SMT+[CLS]"
    # The synthetic atlas has no conte69 parcellation: the glass brain only, and the summary says why.
    assert len(summary["limitations"]) == 1 and "no surface maps" in summary["limitations"][0]
    predicted = np.load(smt_output / "predicted_connectome.npy")
    assert predicted.shape == (synthetic.num_regions,) * 2
    np.testing.assert_allclose(predicted, predicted.T)
    assert np.isnan(np.diag(predicted)).all()
    heads = np.load(smt_output / "attention_last_layer_heads.npy")
    np.testing.assert_allclose(heads.mean(axis=0), np.load(smt_output / "attention_last_layer_global.npy"),
                               atol=1e-5)


def test_attention_maps_are_averages_of_row_stochastic_maps(
    smt_output: Path, synthetic: BrainDataset
) -> None:
    global_map = np.load(smt_output / "attention_last_layer_global.npy")
    by_network = np.load(smt_output / "attention_last_layer_by_network.npy")
    layers = np.load(smt_output / "attention_layers_global.npy")
    num_tokens = -(-synthetic.num_genes // TOKEN_SIZE) + 1
    assert global_map.shape == (num_tokens, num_tokens) and layers.shape == (2, num_tokens, num_tokens)
    np.testing.assert_allclose(global_map.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(layers[-1], global_map, atol=1e-6)
    networks = _read_csv(smt_output / "attention_networks.csv")
    names = sorted(set(synthetic.network.tolist()))
    assert [row["network"] for row in networks] == names
    counts = np.asarray([(synthetic.network == name).sum() for name in names], dtype=float)
    assert [int(row["num_regions"]) for row in networks] == counts.astype(int).tolist()
    # The region-weighted mean of the network maps is the global map.
    np.testing.assert_allclose(
        (counts[:, None, None] * by_network).sum(0) / counts.sum(), global_map, atol=1e-6
    )


def test_top_tokens_name_their_genes(smt_output: Path, synthetic: BrainDataset) -> None:
    rows = _read_csv(smt_output / "top_tokens.csv")
    global_rows = [row for row in rows if row["scope"] == "global"]
    assert len(global_rows) == 3 and len(rows) == 3 * (1 + len(set(synthetic.network.tolist())))
    received = np.load(smt_output / "attention_last_layer_global.npy").mean(axis=0)
    assert [int(row["position"]) for row in global_rows] == np.argsort(-received)[:3].tolist()
    for row in rows:
        position = int(row["position"])
        if position == 0:
            assert row["token"] == "[CLS]" and row["genes"] == ""
        else:
            start = (position - 1) * TOKEN_SIZE
            assert row["genes"].split(";") == synthetic.gene_symbols[start : start + TOKEN_SIZE].tolist()


def test_silhouette_matches_definition(smt_output: Path, synthetic: BrainDataset) -> None:
    rows = {row["representation"]: row for row in _read_csv(smt_output / "silhouette.csv")}
    assert set(rows) == {"SMT+[CLS] embedding", "embedding without [CLS]", "raw expression",
                         "MNI coordinates"}
    embeddings = np.load(smt_output / "embeddings.npy").astype(np.float64)
    assert float(rows["SMT+[CLS] embedding"]["silhouette"]) == pytest.approx(
        _numpy_silhouette(embeddings, synthetic.network), abs=1e-5
    )
    assert float(rows["raw expression"]["silhouette"]) == pytest.approx(
        _numpy_silhouette(synthetic.expression.astype(np.float64), synthetic.network), abs=1e-5
    )


def test_network_silhouette_separated_clusters() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat(["a", "b", "c"], 10)
    features = rng.normal(scale=0.1, size=(30, 4)) + np.repeat(np.eye(4)[:3] * 10, 10, axis=0)
    assert network_silhouette(features, labels) > 0.9
    assert np.isnan(network_silhouette(features, np.repeat("a", 30)))
    mapped = project_2d(features, "pca")
    centred = features - features.mean(0)
    top_two = np.linalg.svd(centred, full_matrices=False)[2][:2]
    np.testing.assert_allclose(np.abs(mapped), np.abs(centred @ top_two.T), atol=1e-8)


def test_token_layout_chromosome_boundaries(synthetic: BrainDataset) -> None:
    layout = TokenLayout(TOKEN_SIZE, True, synthetic.gene_symbols, synthetic.gene_chromosomes)
    chromosomes = synthetic.gene_chromosomes
    starts = [0] + [
        index for index in range(1, len(chromosomes)) if chromosomes[index] != chromosomes[index - 1]
    ]
    assert layout.chromosome_boundaries() == [
        (1 + start / TOKEN_SIZE - 0.5, str(chromosomes[start])) for start in starts
    ]
    assert layout.num_tokens == -(-synthetic.num_genes // TOKEN_SIZE) + 1


def test_mlp_says_what_it_cannot_do(
    tmp_path: Path, synthetic_path: Path, synthetic: BrainDataset, capsys: pytest.CaptureFixture[str]
) -> None:
    task = MLPTask(num_genes=synthetic.num_genes, hidden_sizes=[8])
    checkpoint = _save_checkpoint(task, tmp_path / "mlp.ckpt", synthetic_path, class_path=None)
    assert load_checkpoint(checkpoint).class_name == "MLPTask"
    assert main([str(checkpoint), "--output", str(tmp_path / "out"), "--no-brains"]) == 0
    message = capsys.readouterr().err
    assert "no attention layers" in message and "no region embedding" in message
    assert not (tmp_path / "out" / "embeddings.npy").exists()
    assert not (tmp_path / "out" / "attention_global.png").exists()
    assert (tmp_path / "out" / "embedding_map.png").exists()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert len(summary["limitations"]) == 2 and "raw expression" in summary["silhouette_by_network"]


def test_bad_checkpoint_and_gene_mismatch_exit_2(
    tmp_path: Path, synthetic_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path / "missing.ckpt"), "--output", str(tmp_path / "out")]) == 2
    task = SMTTask(num_genes=7, token_size=5, d_model=8, num_layers=1, num_heads=2)
    checkpoint = _save_checkpoint(task, tmp_path / "small.ckpt", synthetic_path, "ge2conn.models.SMTTask")
    assert main([str(checkpoint), "--output", str(tmp_path / "out")]) == 2
    assert "takes 7 genes" in capsys.readouterr().err


def test_umap_without_the_extra_is_a_clear_error(
    smt_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if umap_available():
        pytest.skip("umap-learn is installed")
    assert main([str(smt_checkpoint), "--output", str(tmp_path / "out"), "--method", "umap"]) == 2
    assert "umap-learn" in capsys.readouterr().err
