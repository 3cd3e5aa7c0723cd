"""Issue #18, training verbs: a user's mistake is one clean block naming the input and a fix that exists.

``fit``/``validate``/``test``/``predict`` are run in-process as a user would; every case asserts the message,
the exit status, that the output is short (no traceback, no usage dump) and that nothing was written.
"""

from __future__ import annotations

import pickle
import subprocess
from pathlib import Path

import pytest
import torch

from ge2conn.data.errors import DatasetError
from ge2conn.main import main
from ge2conn.utils.checkpoints import CheckpointError, read_checkpoint
from tests.support.quick import quick_overrides

REPO = Path(__file__).parents[1]
SHIPPED_SMT = REPO / "checkpoints" / "smt_cls_dk82.ckpt"


def run(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run ``ge2conn ARGUMENTS``; return the exit status and stderr + stdout."""
    try:
        status = main(arguments)
    except SystemExit as exit_info:
        status = int(exit_info.code or 0)
    captured = capsys.readouterr()
    return status, captured.err + captured.out


def assert_clean(status: int, text: str, *words: str, max_lines: int = 4) -> None:
    assert status != 0
    assert "Traceback" not in text and "weights_only=False" not in text
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) <= max_lines, text
    assert lines[0].startswith("error:"), text
    for word in words:
        assert word in " ".join(text.split()), (word, text)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, synthetic_path: Path) -> Path:
    """An empty GE2CONN_HOME holding only the synthetic dataset (no nulls), as a built dataset."""
    monkeypatch.setenv("GE2CONN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GE2CONN_TRACEBACK", raising=False)
    datasets = tmp_path / "home" / "datasets"
    datasets.mkdir(parents=True)
    (datasets / "synthetic.h5").write_bytes(synthetic_path.read_bytes())
    return tmp_path / "home"


def fit_arguments(tmp_path: Path, synthetic: Path, *extra: str) -> list[str]:
    return ["fit", "--config", "configs/mlp.yaml", *quick_overrides(tmp_path / "run", synthetic, 1), *extra]


def assert_no_run_files(tmp_path: Path) -> None:
    assert not list((tmp_path / "run").rglob("*.ckpt")) if (tmp_path / "run").exists() else True


def test_misspelled_dataset_lists_known_names_not_a_nonexistent_build(
    home: Path, tmp_path: Path, synthetic_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, text = run(fit_arguments(tmp_path, synthetic_path, "--data.dataset=dk28"), capsys)
    assert_clean(status, text, "dk28: field 'dataset'", "did you mean 'dk82'?", "dk82", "synthetic")
    assert "data build dk28" not in text
    assert_no_run_files(tmp_path)


def test_dataset_not_built_names_the_build_command(
    home: Path, tmp_path: Path, synthetic_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, text = run(fit_arguments(tmp_path, synthetic_path, "--data.dataset=schaefer100"), capsys)
    assert_clean(status, text, "dataset 'schaefer100' has not been built", "`ge2conn data build schaefer100`")


def test_nulls_not_generated_names_the_real_dataset(
    home: Path, tmp_path: Path, synthetic_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = fit_arguments(tmp_path, synthetic_path, "--data.dataset=synthetic", "--data.null_rank=0")
    status, text = run(arguments, capsys)
    assert_clean(status, text, "no such nulls file", "`ge2conn nulls generate synthetic`")
    assert "DATASET" not in text


def test_bad_fold_index_is_one_block(
    home: Path, tmp_path: Path, synthetic_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, text = run(fit_arguments(tmp_path, synthetic_path, "--data.fold=9"), capsys)
    assert_clean(status, text, "fold must satisfy 0 <= fold < num_folds = 4, got 9")
    assert_no_run_files(tmp_path)


def test_misspelled_option_suggests_the_closest_one(
    home: Path, tmp_path: Path, synthetic_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, text = run(fit_arguments(tmp_path, synthetic_path, "--trainer.max_epocs=3"), capsys)
    assert status == 2
    assert_clean(
        status, text, "--trainer.max_epocs", "did you mean --trainer.max_epochs?", "ge2conn fit --help"
    )


def test_traceback_flag_and_variable_show_the_full_error(
    home: Path, tmp_path: Path, synthetic_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(DatasetError, match="dk28"):
        main([*fit_arguments(tmp_path, synthetic_path, "--data.dataset=dk28"), "--traceback"])
    monkeypatch.setenv("GE2CONN_TRACEBACK", "1")
    with pytest.raises(DatasetError, match="dk28"):
        main(fit_arguments(tmp_path, synthetic_path, "--data.dataset=dk28"))


def test_config_and_checkpoint_of_different_classes_is_an_error_naming_both(
    home: Path, tmp_path: Path, synthetic_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = [
        "test",
        "--config",
        "configs/mlp.yaml",
        "--ckpt_path",
        str(SHIPPED_SMT),
        *quick_overrides(tmp_path / "run", synthetic_path, 1)[:1],
    ]
    status, text = run(arguments, capsys)
    assert_clean(
        status, text, str(SHIPPED_SMT), "holds model class SMTTask", "asks for MLPTask", "--model SMTTask"
    )


def corrupt_checkpoints(folder: Path) -> dict[str, Path]:
    folder.mkdir(exist_ok=True)
    data = SHIPPED_SMT.read_bytes()
    files = {
        "missing": folder / "nope.ckpt",
        "empty": folder / "empty.ckpt",
        "truncated": folder / "truncated.ckpt",
        "garbage": folder / "garbage.ckpt",
        "code": folder / "code.ckpt",
        "not_lightning": folder / "weights.ckpt",
    }
    files["empty"].write_bytes(b"")
    files["truncated"].write_bytes(data[: len(data) // 2])
    files["garbage"].write_bytes(b"this is not a checkpoint\n" * 40)
    files["code"].write_bytes(pickle.dumps({"state_dict": {}, "callback": subprocess.Popen}))
    torch.save({"weights": torch.zeros(2)}, files["not_lightning"])
    return files


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("missing", ["no such checkpoint file", "ge2conn fit"]),
        ("empty", ["the file is empty"]),
        ("truncated", ["cannot be read as a checkpoint", "truncated"]),
        ("garbage", ["cannot be read as a checkpoint"]),
        ("code", ["objects other than plain data"]),
        ("not_lightning", ["not a Lightning checkpoint"]),
    ],
)
def test_unreadable_checkpoints_are_one_line_naming_the_file(
    home: Path,
    tmp_path: Path,
    synthetic_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
    words: list[str],
) -> None:
    path = corrupt_checkpoints(tmp_path / "ckpts")[case]
    with pytest.raises(CheckpointError) as error:
        read_checkpoint(path)
    assert error.value.path == str(path) and "weights_only=False" not in str(error.value)
    verb = ("validate", "test", "predict")[len(case) % 3]  # every verb that takes --ckpt_path
    arguments = [
        verb,
        "--config",
        "configs/smt_cls.yaml",
        "--ckpt_path",
        str(path),
        f"--data.dataset={synthetic_path}",
        "--trainer.logger=false",
    ]
    status, text = run(arguments, capsys)
    assert status == 1
    assert_clean(status, text, f"error: {path}: field", *words, max_lines=2)
