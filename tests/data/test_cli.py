"""``ge2conn data`` commands and the import path for user files (built from the synthetic fixture)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ge2conn.data.cli import main
from ge2conn.data.errors import DatasetError
from ge2conn.data.format import BrainDataset
from ge2conn.data.recipes.importer import import_dataset
from tests.support.user_inputs import import_arguments


def test_import_round_trip(
    user_files: dict[str, Path], synthetic_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(import_arguments(user_files)) == 0
    output = " ".join(capsys.readouterr().out.split())
    assert "24 regions × 6 genes" in output and "1 renamed" in output
    dataset = BrainDataset.load(tmp_path / "home" / "datasets" / "mine.h5")
    source = BrainDataset.load(synthetic_path)
    assert list(dataset.region_labels) == list(source.region_labels)
    # Reference order from public hg38 positions: TP53 (17p) < APOE (19q) < XIST (X); GAPDH (12p) first;
    # AARS is renamed AARS1 (16q); the unknown gene goes last.
    assert list(dataset.gene_symbols) == ["GAPDH", "AARS1", "TP53", "APOE", "XIST", "NOT_A_GENE"]
    column = {"APOE": 0, "TP53": 1, "AARS1": 2, "NOT_A_GENE": 3, "GAPDH": 4, "XIST": 5}
    for position, symbol in enumerate(dataset.gene_symbols):
        np.testing.assert_allclose(
            dataset.expression[:, position], source.expression[:, column[symbol]], atol=1e-6
        )
    np.testing.assert_array_equal(dataset.connectivity, source.connectivity)
    np.testing.assert_array_equal(dataset.individual, source.individual)
    assert list(dataset.network) == list(source.network) and list(dataset.hemisphere) == list(
        source.hemisphere
    )
    np.testing.assert_allclose(dataset.sphere, source.sphere, atol=1e-6)
    assert main(["info", str(tmp_path / "home" / "datasets" / "mine.h5")]) == 0
    assert "import" in capsys.readouterr().out


def test_import_without_optional_files_infers_hemisphere(user_files: dict[str, Path], tmp_path: Path) -> None:
    path = import_dataset(
        "bare",
        user_files["expression.tsv"],
        user_files["fc.npy"],
        user_files["coordinates.csv"],
        output=tmp_path / "bare.h5",
        keep_unplaced=False,
    )
    dataset = BrainDataset.load(path)
    assert dataset.num_genes == 5 and dataset.individual is None
    assert set(dataset.network) == {"Unknown"}
    np.testing.assert_array_equal(dataset.hemisphere == "L", dataset.centroids[:, 0] < 0)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("case", "field", "words"),
    [
        ("asymmetric", "fc", "not symmetric"),
        ("wrong_shape", "fc", "expected shape (24, 24)"),
        ("truncated_npy", "fc", "truncated"),
        ("truncated_expression", "row 5", "truncated"),
        ("partial_nan", "expression", "missing values"),
        ("duplicate_labels", "label", "duplicated"),
        ("label_mismatch", "label", "labels differ"),
        ("missing_column", "z", "column missing"),
        ("bad_hemisphere", "hemisphere", "unknown values"),
    ],
)
def test_malformed_inputs_name_file_field_and_fix(
    user_files: dict[str, Path],
    tmp_path: Path,
    case: str,
    field: str,
    words: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = dict(user_files)
    fc = np.load(files["fc.npy"])
    expression_lines = files["expression.tsv"].read_text().splitlines()
    coordinates = files["coordinates.csv"].read_text()
    replacement: dict[str, Path] = {}
    if case == "asymmetric":
        fc[0, 3] += 0.4
        np.save(tmp_path / "bad.npy", fc)
        replacement["fc"] = tmp_path / "bad.npy"
    elif case == "wrong_shape":
        np.save(tmp_path / "bad.npy", fc[:20, :20])
        replacement["fc"] = tmp_path / "bad.npy"
    elif case == "truncated_npy":
        (tmp_path / "bad.npy").write_bytes(files["fc.npy"].read_bytes()[:700])
        replacement["fc"] = tmp_path / "bad.npy"
    elif case == "truncated_expression":
        replacement["expression"] = write(
            tmp_path / "bad.tsv", "\n".join(expression_lines[:4] + [expression_lines[4][:20]])
        )
    elif case == "partial_nan":
        cells = expression_lines[3].split("\t")
        cells[2] = ""
        replacement["expression"] = write(
            tmp_path / "bad.tsv", "\n".join(expression_lines[:3] + ["\t".join(cells)] + expression_lines[4:])
        )
    elif case == "duplicate_labels":
        lines = coordinates.splitlines()
        replacement["coordinates"] = write(tmp_path / "bad.csv", "\n".join(lines + [lines[1]]))
    elif case == "label_mismatch":
        replacement["expression"] = write(
            tmp_path / "bad.tsv",
            "\n".join(
                expression_lines[:-1]
                + ["renamed_region" + expression_lines[-1][expression_lines[-1].index("\t") :]]
            ),
        )
    elif case == "missing_column":
        replacement["coordinates"] = write(
            tmp_path / "bad.csv", coordinates.replace("label,x,y,z", "label,x,y,depth")
        )
    elif case == "bad_hemisphere":
        replacement["regions"] = write(
            tmp_path / "bad.csv", files["regions.csv"].read_text().replace(",L,", ",Left,")
        )
    arguments = import_arguments(files, **replacement)
    bad_file = next(iter(replacement.values()))
    with pytest.raises(DatasetError) as error:
        import_dataset(
            "bad",
            *[
                Path(arguments[arguments.index(f"--{key}") + 1])
                for key in ("expression", "fc", "coordinates")
            ],
            regions=Path(arguments[arguments.index("--regions") + 1]),
        )
    assert error.value.path == str(bad_file)
    assert error.value.field == field
    assert words in str(error.value) and len(error.value.fix) > 10
    assert main(arguments) == 1
    assert "error:" in capsys.readouterr().out


def test_list_build_and_info_on_real_data(
    real_data_env: Path, built_datasets: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list"]) == 0
    listing = capsys.readouterr().out
    assert "dk82 (default)" in listing and "schaefer400-ctx" in listing
    assert main(["build", "dk82"]) == 0
    output = " ".join(capsys.readouterr().out.split())
    assert "up to date" in output and "82 regions" in output and "renamed via aliases" in output
    assert main(["info", "schaefer100"]) == 0
    info = " ".join(capsys.readouterr().out.split())
    assert "(4, 114, 114)" in info and "negatives kept" in info


def test_unknown_dataset_and_missing_build(real_data_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "nope"]) == 1
    assert "dk82" in capsys.readouterr().out
    assert main(["info", "schaefer400"]) == 1
    assert "ge2conn data build schaefer400" in capsys.readouterr().out.replace("\n", "")
