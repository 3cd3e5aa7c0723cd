"""Prediction without FC: gene alignment, fill policy, symmetric whole-connectome prediction, embeddings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from ge2conn.data.errors import DatasetError
from ge2conn.inference import load_model
from ge2conn.inference.checkpoint import CheckpointError, load_checkpoint
from ge2conn.models.base import EdgeRegressionTask


def pairwise_reference(
    task: EdgeRegressionTask, expression: np.ndarray, coordinates: np.ndarray
) -> np.ndarray:
    """(f(i, j) + f(j, i)) / 2 pair by pair through the bare network, no cache, zero diagonal."""
    x = torch.tensor(np.array(expression), dtype=torch.float32)
    c = torch.tensor(np.array(coordinates), dtype=torch.float32)
    size = x.shape[0]
    matrix = np.zeros((size, size))
    with torch.no_grad():
        for i in range(size):
            for j in range(size):
                if i != j:
                    forward = task.network(x, c, torch.tensor([i]), torch.tensor([j]))
                    backward = task.network(x, c, torch.tensor([j]), torch.tensor([i]))
                    matrix[i, j] = float(0.5 * (forward + backward))
    return matrix


def test_prediction_matches_pairwise_evaluation(mlp_checkpoint: Path, synthetic_tables) -> None:
    expression, coordinates = synthetic_tables
    model = load_model(mlp_checkpoint)
    predicted = model.predict(expression, coordinates)
    reference = pairwise_reference(model.task, expression.to_numpy(), coordinates.to_numpy())
    assert list(predicted.index) == list(coordinates.index) == list(predicted.columns)
    np.testing.assert_allclose(predicted.to_numpy(), reference, rtol=1e-5, atol=1e-6)
    assert np.ptp(reference[np.triu_indices(24, 1)]) > 1e-3  # the model is not constant: the test can fail
    np.testing.assert_array_equal(np.diag(predicted.to_numpy()), 0.0)


def test_column_order_row_order_and_extra_genes_do_not_matter(mlp_checkpoint: Path, synthetic_tables) -> None:
    expression, coordinates = synthetic_tables
    model = load_model(mlp_checkpoint)
    expected = model.predict(expression, coordinates)
    rng = np.random.default_rng(0)
    shuffled = expression.iloc[rng.permutation(24), rng.permutation(120)].copy()
    shuffled["NOT_A_MODEL_GENE"] = 1.0
    prediction = model.predict_connectome(shuffled, coordinates)
    pd.testing.assert_frame_equal(prediction.to_frame(), expected)
    assert prediction.gene_report()["input_unused"] == 1
    # The coordinates set the region order.
    reordered = coordinates.iloc[::-1]
    flipped = model.predict(expression, reordered)
    pd.testing.assert_frame_equal(flipped, expected.loc[reordered.index, reordered.index])


def test_coordinates_are_standardized_with_the_checkpoint_statistics(
    mlp_checkpoint: Path, synthetic_tables
) -> None:
    expression, coordinates = synthetic_tables
    model = load_model(mlp_checkpoint)
    mean, std = np.array([1.0, -2.0, 3.0]), np.array([30.0, 40.0, 20.0])
    raw = model.predict(expression, coordinates).to_numpy()
    # An MLP fed the standardized coordinates by hand, with identity standardization, must agree.
    network = model.task.network
    standardized = (coordinates.to_numpy() - mean) / std
    network.standardize.mean.zero_()
    network.standardize.std.fill_(1.0)
    try:
        by_hand = pairwise_reference(model.task, expression.to_numpy(), standardized)
    finally:
        network.standardize.mean.copy_(torch.tensor(mean))
        network.standardize.std.copy_(torch.tensor(std))
    np.testing.assert_allclose(raw, by_hand, rtol=1e-5, atol=1e-6)


def test_missing_genes_are_filled_with_the_training_mean_up_to_the_limit(
    mlp_checkpoint: Path, synthetic_tables
) -> None:
    expression, coordinates = synthetic_tables
    model = load_model(mlp_checkpoint)
    dropped = list(expression.columns[[3, 50, 77]])  # 2.5% of 120 genes
    prediction = model.predict_connectome(expression.drop(columns=dropped), coordinates)
    filled = expression.copy()
    filled[dropped] = expression[dropped].mean(axis=0).to_numpy()  # the training mean over all regions
    np.testing.assert_allclose(
        prediction.connectivity, model.predict(filled, coordinates).to_numpy(), atol=1e-5
    )
    report = prediction.gene_report()
    assert (report["matched"], report["missing"], report["fill_policy"]) == (117, 3, "training mean")
    assert report["missing_genes"] == dropped
    with pytest.raises(DatasetError, match=r"10 of the 120 genes .* are missing"):
        model.predict(expression.iloc[:, 10:], coordinates)
    assert model.predict(expression.iloc[:, 10:], coordinates, max_missing_fraction=0.1).shape == (24, 24)


def test_regions_without_expression_are_left_out_and_reported(mlp_checkpoint: Path, synthetic_tables) -> None:
    expression, coordinates = synthetic_tables
    model = load_model(mlp_checkpoint)
    empty = expression.copy()
    empty.iloc[5] = np.nan
    with pytest.warns(UserWarning, match="no expression"):
        prediction = model.predict_connectome(empty, coordinates)
    keep = [label for label in coordinates.index if label != coordinates.index[5]]
    assert prediction.dropped_regions == [coordinates.index[5]]
    pd.testing.assert_frame_equal(
        prediction.to_frame(), model.predict(expression.loc[keep], coordinates.loc[keep])
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e, c: (e.drop(index=e.index[0]), c), "no expression row"),
        (lambda e, c: (e, c.rename(columns={"z": "depth"})), "'z'"),
        (
            lambda e, c: (e.assign(**{e.columns[0]: np.where(np.arange(24) == 2, np.nan, 0.5)}), c),
            "missing values",
        ),
        (lambda e, c: (e, c.assign(x=np.inf)), "non-finite"),
    ],
)
def test_bad_inputs_name_the_field(mlp_checkpoint: Path, synthetic_tables, change, message: str) -> None:
    expression, coordinates = change(*synthetic_tables)
    with pytest.raises(DatasetError, match=message):
        load_model(mlp_checkpoint).predict(expression, coordinates)


def test_abagen_style_integer_labels(mlp_checkpoint: Path, synthetic_tables) -> None:
    expression, coordinates = synthetic_tables
    numbered = expression.set_axis(pd.Index(range(1, 25), name="label"), axis=0)
    centroids = coordinates.reset_index(drop=True).assign(label=[str(value) for value in range(1, 25)])
    predicted = load_model(mlp_checkpoint).predict(numbered, centroids)
    assert list(predicted.index) == [str(value) for value in range(1, 25)]


def test_embed_needs_a_model_with_embeddings(mlp_checkpoint: Path, synthetic_tables) -> None:
    with pytest.raises(TypeError, match="no region embedding"):
        load_model(mlp_checkpoint).embed(*synthetic_tables)


def test_checkpoint_without_genes_falls_back_to_its_dataset(
    mlp_checkpoint: Path, synthetic_tables, tmp_path: Path
) -> None:
    checkpoint = torch.load(mlp_checkpoint, weights_only=True)
    del checkpoint["ge2conn_inference"]
    bare = tmp_path / "bare.ckpt"
    torch.save(checkpoint, bare)
    pd.testing.assert_frame_equal(
        load_model(bare).predict(*synthetic_tables), load_model(mlp_checkpoint).predict(*synthetic_tables)
    )
    checkpoint["datamodule_hyper_parameters"] = {}
    torch.save(checkpoint, bare)
    with pytest.raises(DatasetError, match="records neither its genes"):
        load_model(bare)


def test_unreadable_checkpoint_and_unknown_name(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="garbage.ckpt"):
        load_checkpoint(garbage)
    with pytest.raises(CheckpointError, match="models list"):
        load_model("no_such_model")
