"""Issue #18, import side: every malformed or misleading user input is either aligned correctly or refused.

Each case runs ``ge2conn data import`` as a user would and asserts the message (or the alignment), the exit
status, and that no dataset file (and no hidden temporary file) was left behind on failure.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ge2conn.data.cli import main
from ge2conn.data.format import BrainDataset
from tests.support.user_inputs import import_arguments


def run_import(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str], *extra: str, **replacements: Path
) -> tuple[int, str]:
    """Run ``data import --name mine`` and return (exit status, console text on one line)."""
    status = main([*import_arguments(files, **replacements), *extra])
    return status, " ".join(capsys.readouterr().out.split())


def output_path(tmp_path: Path, name: str = "mine") -> Path:
    return tmp_path / "home" / "datasets" / f"{name}.h5"


def assert_nothing_written(tmp_path: Path) -> None:
    """No dataset and no temporary file anywhere under the test folder."""
    leftovers = [
        path for path in tmp_path.rglob("*") if path.suffix in {".h5", ".tmp"} or path.name.startswith(".")
    ]
    assert leftovers == []


def assert_refused(status: int, text: str, tmp_path: Path, *words: str) -> None:
    assert status == 1, text
    assert text.startswith("error:") and "Traceback" not in text
    for word in words:
        assert word in text, (word, text)
    assert_nothing_written(tmp_path)


def labelled_csv(path: Path, matrix: np.ndarray, labels: list[str], delimiter: str = ",") -> Path:
    lines = [delimiter.join(["", *labels])]
    lines += [
        delimiter.join([label, *(f"{value:.9g}" for value in row)])
        for label, row in zip(labels, matrix, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def source(synthetic_path: Path) -> BrainDataset:
    return BrainDataset.load(synthetic_path)


def test_headerless_fc_is_accepted_and_its_assumed_order_stated(
    user_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, text = run_import(user_files, capsys)
    assert status == 0
    assert "fc fc.npy: no region labels, rows and columns assumed in the order of coordinates.csv" in text


def test_labelled_fc_in_another_order_is_aligned_by_label(
    user_files: dict[str, Path], source: BrainDataset, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    order = np.random.default_rng(1).permutation(source.num_regions)
    labels = source.region_labels[order].tolist()
    fc = labelled_csv(tmp_path / "fc_labelled.csv", source.connectivity[np.ix_(order, order)], labels)
    status, text = run_import(user_files, capsys, fc=fc)
    assert status == 0 and "aligned to coordinates.csv by region label" in text
    stored = BrainDataset.load(output_path(tmp_path))
    np.testing.assert_allclose(stored.connectivity, source.connectivity, rtol=1e-6)


def test_labelled_tsv_fc_named_csv_and_labelled_individual_matrices_are_aligned(
    user_files: dict[str, Path], source: BrainDataset, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    order = np.random.default_rng(2).permutation(source.num_regions)
    labels = source.region_labels[order].tolist()
    fc = labelled_csv(tmp_path / "tabs.csv", source.connectivity[np.ix_(order, order)], labels, "\t")
    folder = tmp_path / "individual_csv"
    folder.mkdir()
    assert source.individual is not None and source.subjects is not None
    for subject, matrix in zip(source.subjects, source.individual, strict=True):
        labelled_csv(folder / f"{subject}.csv", matrix[np.ix_(order, order)], labels)
    status, _ = run_import(user_files, capsys, fc=fc, individual=folder)
    assert status == 0
    stored = BrainDataset.load(output_path(tmp_path))
    np.testing.assert_allclose(stored.connectivity, source.connectivity, rtol=1e-6)
    np.testing.assert_allclose(stored.individual, source.individual, rtol=1e-6)


def test_labelled_fc_with_other_regions_is_refused_naming_the_labels(
    user_files: dict[str, Path], source: BrainDataset, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = source.region_labels.tolist()
    labels[3] = "not_a_region"
    fc = labelled_csv(tmp_path / "fc_other.csv", source.connectivity, labels)
    status, text = run_import(user_files, capsys, fc=fc)
    assert_refused(
        status,
        text,
        tmp_path,
        "fc_other.csv",
        f"missing ['{source.region_labels[3]}']",
        "not in the coordinates ['not_a_region']",
    )


def test_semicolon_separated_coordinates_are_read(
    user_files: dict[str, Path], source: BrainDataset, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    semicolons = tmp_path / "coordinates_semicolon.csv"
    semicolons.write_text(user_files["coordinates.csv"].read_text().replace(",", ";"))
    status, _ = run_import(user_files, capsys, coordinates=semicolons)
    assert status == 0
    np.testing.assert_allclose(BrainDataset.load(output_path(tmp_path)).centroids, source.centroids)


def test_tab_separated_expression_named_csv_is_read(
    user_files: dict[str, Path], source: BrainDataset, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    named_csv = tmp_path / "expression_tabs.csv"
    named_csv.write_text(user_files["expression.tsv"].read_text())
    status, _ = run_import(user_files, capsys, expression=named_csv)
    assert status == 0
    assert BrainDataset.load(output_path(tmp_path)).num_genes == 6


def test_unknown_delimiter_is_named(
    user_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pipes = tmp_path / "coordinates_pipes.csv"
    pipes.write_text(user_files["coordinates.csv"].read_text().replace(",", "|"))
    status, text = run_import(user_files, capsys, coordinates=pipes)
    assert_refused(
        status,
        text,
        tmp_path,
        "coordinates_pipes.csv",
        "'<delimiter>'",
        "'|' ×3",
        "commas (CSV), tabs (TSV) or semicolons",
    )


def write_expression(path: Path, header: list[str], source: BrainDataset, values: np.ndarray) -> Path:
    rows = ["label\t" + "\t".join(header)]
    rows += [
        "\t".join([label, *(f"{value:.6f}" for value in row)])
        for label, row in zip(source.region_labels, values, strict=True)
    ]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_expression_without_any_known_gene_is_refused(
    user_files: dict[str, Path], source: BrainDataset, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = [f"probe_{index}" for index in range(30)]
    expression = write_expression(tmp_path / "unknown_genes.tsv", header, source, source.expression[:, :30])
    status, text = run_import(user_files, capsys, expression=expression)
    assert_refused(
        status,
        text,
        tmp_path,
        "unknown_genes.tsv",
        "none of the 30 gene columns",
        "0 matched, 0 renamed via aliases, 30 unplaced",
        "HGNC symbol",
    )


def test_expression_with_few_known_genes_warns_with_counts(
    user_files: dict[str, Path], source: BrainDataset, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = ["APOE", "GAPDH", *(f"probe_{index}" for index in range(8))]
    expression = write_expression(tmp_path / "few_genes.tsv", header, source, source.expression[:, :10])
    status, text = run_import(user_files, capsys, expression=expression)
    assert status == 0
    assert "warning:" in text and "only 2 of 10 gene columns (20%)" in text and "8 unplaced" in text


def test_partial_nan_region_is_named_on_the_console(
    user_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = user_files["expression.tsv"].read_text().splitlines()
    cells = lines[3].split("\t")
    cells[2] = ""
    broken = tmp_path / "partial.tsv"
    broken.write_text("\n".join([*lines[:3], "\t".join(cells), *lines[4:]]) + "\n")
    status, text = run_import(user_files, capsys, expression=broken)
    assert_refused(status, text, tmp_path, "partial.tsv", f"samples: ['{cells[0]}'] (1 region(s))")


@pytest.mark.parametrize(
    ("transform", "scale", "words"),
    [
        ("pearson r", 3.0, ["declared as Pearson r", "beyond 1", "--fc-transform fisher_z"]),
        ("as provided", 1e30, ["fc_big.npy", "implausible magnitude 6.24e+29", "check the file's units"]),
        ("as provided", 1e300, ["fc_big.npy", "implausible magnitude", "field 'fc'"]),
    ],
)
def test_fc_values_that_contradict_their_transform_or_are_huge_are_refused_naming_the_input(
    user_files: dict[str, Path],
    source: BrainDataset,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    transform: str,
    scale: float,
    words: list[str],
) -> None:
    np.save(tmp_path / "fc_big.npy", source.connectivity.astype(np.float64) * scale)
    status, text = run_import(user_files, capsys, "--fc-transform", transform, fc=tmp_path / "fc_big.npy")
    assert_refused(status, text, tmp_path, *words)
    assert "mine.h5" not in text  # the input is blamed, not the output


def test_raw_r_declared_as_fisher_z_warns(
    user_files: dict[str, Path], source: BrainDataset, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fisher_z = source.connectivity.astype(np.float64) * 3.0  # max |z| 1.87, as real group-average z exceeds 1
    raw_r = np.tanh(fisher_z)
    np.fill_diagonal(raw_r, 1.0)
    np.save(tmp_path / "raw_r.npy", raw_r)
    status, text = run_import(user_files, capsys, "--fc-transform", "Fisher z", fc=tmp_path / "raw_r.npy")
    assert status == 0
    assert "warning:" in text and "declared as Fisher z" in text and "numpy.arctanh" in text
    np.save(tmp_path / "z.npy", fisher_z)
    status, text = run_import(user_files, capsys, "--fc-transform", "Fisher z", fc=tmp_path / "z.npy")
    assert status == 0 and "warning:" not in text


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("all_zero", ["coordinates_bad.csv", "'x/y/z'", "degenerate"]),
        ("duplicate_point", ["coordinates_bad.csv", "identical coordinates", "[['"]),
        ("empty_label", ["coordinates_bad.csv", "field 'label'", "empty label in region row(s) [3]"]),
    ],
)
def test_degenerate_coordinates_and_empty_labels_are_refused(
    user_files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
    words: list[str],
) -> None:
    lines = user_files["coordinates.csv"].read_text().splitlines()
    if case == "all_zero":
        lines = [lines[0]] + [line.split(",")[0] + ",0,0,0" for line in lines[1:]]
    elif case == "duplicate_point":
        lines[5] = lines[5].split(",")[0] + "," + ",".join(lines[2].split(",")[1:])
    else:
        lines[3] = "," + ",".join(lines[3].split(",")[1:])
    bad = tmp_path / "coordinates_bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    status, text = run_import(user_files, capsys, coordinates=bad)
    assert_refused(status, text, tmp_path, *words)


@pytest.mark.parametrize("name", ["../../x", "a/b", ".hidden", "", "x y"])
def test_dataset_name_must_be_plain(
    user_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    arguments = import_arguments(user_files)
    arguments[arguments.index("--name") + 1] = name
    status = main(arguments)
    text = " ".join(capsys.readouterr().out.split())
    assert_refused(status, text, tmp_path, "is not a plain dataset name", "--name ukb_s456")
    assert not (tmp_path.parent / "x.h5").exists()


def test_unwritable_output_folder_is_one_line_naming_the_destination(
    user_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where a folder should be")
    destination = blocker / "mine.h5"
    status, text = run_import(user_files, capsys, "--output", str(destination))
    assert status == 1 and text.startswith("error:") and "Traceback" not in text
    assert f"{destination}: cannot write the output" in text and ".tmp" not in text
    assert_nothing_written(tmp_path)
