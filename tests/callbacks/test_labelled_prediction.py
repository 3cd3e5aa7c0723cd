"""``ge2conn predict --prediction.output X.tsv``: a labelled matrix and a node table with coordinates, which
read back as an XCP-D-style relmat (the same layout ``data import --individual`` takes)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ge2conn.data.format import BrainDataset
from ge2conn.data.recipes.ecosystem import read_relmat_folder
from ge2conn.main import main
from ge2conn.utils.labelled_output import write_labelled_matrix
from tests.support.quick import quick_overrides


def test_labelled_matrix_reads_back_as_a_relmat(tmp_path: Path) -> None:
    labels = ["L_a", "R_b", "L_c"]
    matrix = np.array([[np.nan, 0.25, -1.5], [0.25, np.nan, 3e-4], [-1.5, 3e-4, np.nan]])
    write_labelled_matrix(tmp_path / "sub-1_relmat.tsv", matrix, labels)
    stack, subjects = read_relmat_folder(tmp_path, list(reversed(labels)))
    np.testing.assert_allclose(stack[0], matrix[::-1, ::-1], rtol=1e-6)
    assert subjects == ["sub-1"]


def test_predict_writes_a_labelled_tsv_and_a_node_table(tmp_path: Path, synthetic_path: Path) -> None:
    common = ["--config", "configs/exp_decay.yaml", *quick_overrides(tmp_path, synthetic_path, 1)]
    main(["fit", *common])
    output = tmp_path / "prediction.tsv"
    main(["predict", *common, "--ckpt_path", str(tmp_path / "checkpoints" / "last.ckpt"),
          f"--prediction.output={output}"])
    dataset = BrainDataset.load(synthetic_path, individual=False)
    with output.open() as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    assert rows[0] == ["Node", *dataset.region_labels]
    assert [row[0] for row in rows[1:]] == list(dataset.region_labels)
    values = np.array([[np.nan if value == "n/a" else float(value) for value in row[1:]] for row in rows[1:]])
    off_diagonal = ~np.eye(dataset.num_regions, dtype=bool)
    assert np.isfinite(values[off_diagonal]).all() and np.isnan(np.diag(values)).all()
    np.testing.assert_allclose(values, values.T, equal_nan=True)
    with (tmp_path / "prediction_regions.tsv").open() as handle:
        regions = list(csv.DictReader(handle, delimiter="\t"))
    assert [row["label"] for row in regions] == list(dataset.region_labels)
    np.testing.assert_allclose([[float(row[axis]) for axis in "xyz"] for row in regions], dataset.centroids,
                               atol=1e-4)
    assert [row["hemisphere"] for row in regions] == list(dataset.hemisphere)
    assert [row["structure"] for row in regions] == list(dataset.structure)
