from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib.image
import pytest

from ge2conn.nulls.cli import main
from ge2conn.nulls.io import load_nulls


@pytest.fixture
def home(tmp_path: Path, synthetic_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A GE2CONN_HOME with the synthetic fixture built as dataset ``synthetic``."""
    (tmp_path / "datasets").mkdir()
    shutil.copy(synthetic_path, tmp_path / "datasets" / "synthetic.h5")
    monkeypatch.setenv("GE2CONN_HOME", str(tmp_path))
    return tmp_path


def test_generate_by_name_then_reuse_then_plot(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "synthetic", "--n", "40", "--top", "5", "--seed", "1"]) == 0
    nulls_path = home / "datasets" / "synthetic.nulls.h5"
    assert f"wrote {nulls_path}" in capsys.readouterr().err
    nulls = load_nulls(nulls_path)
    assert nulls.num_spins == 40 and nulls.top == 5 and nulls.seed == 1
    assert main(["generate", str(home / "datasets" / "synthetic.h5"), "--n", "40", "--top", "5",
                 "--seed", "1"]) == 0
    assert "reused" in capsys.readouterr().err
    for source in ("synthetic", str(nulls_path)):
        png = home / f"plot_{Path(source).stem}.png"
        assert main(["plot", source, "--output", str(png)]) == 0
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert matplotlib.image.imread(png).shape[:2] == (660, 840)


def test_generate_to_an_explicit_output(home: Path, tmp_path: Path) -> None:
    output = tmp_path / "elsewhere" / "mine.nulls.h5"
    assert main(["generate", "synthetic", "--n", "12", "--top", "2", "--output", str(output), "--force"]) == 0
    assert load_nulls(output).num_spins == 12


def test_errors_exit_with_status_2(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "no_such_dataset", "--n", "10"]) == 2
    error = capsys.readouterr().err
    # An unknown name is not a dataset to build: the fix lists the known names instead.
    assert "no built-in or built dataset" in error and "dk82" in error and "data build" not in error
    assert main(["generate", "synthetic", "--n", "10", "--top", "11"]) == 2
    assert "top must be between 1 and" in capsys.readouterr().err
    assert main(["plot", "synthetic", "--output", str(home / "x.png")]) == 2
    error = capsys.readouterr().err
    assert "no such nulls file" in error and "`ge2conn nulls generate synthetic`" in error
    assert main(["generate"]) == 2  # the dataset is optional (nulls of a brain map from tables) ...
    assert "give DATASET, or --expression" in capsys.readouterr().err  # ... but something must be given
