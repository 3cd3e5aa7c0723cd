"""The README's Python example runs as written (synthetic fixture, output in a temporary folder)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).parents[1]


def _python_example() -> str:
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Python API"):]
    return re.search(r"```python\n(.*?)```", section, flags=re.DOTALL).group(1)  # type: ignore[union-attr]


def test_the_example_is_at_most_15_lines() -> None:
    lines = [line for line in _python_example().splitlines() if line.strip()]
    assert len(lines) <= 15


def test_the_readme_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    code = _python_example()
    assert '"runs/example"' in code and '"tests/data/synthetic.h5"' in code
    monkeypatch.chdir(REPO)  # the example's dataset path is relative to the repository
    namespace: dict[str, object] = {}
    exec(compile(code.replace('"runs/example"', repr(str(tmp_path / "example"))), "README.md", "exec"),
         namespace)
    connectome = namespace["connectome"]
    assert isinstance(connectome, np.ndarray) and connectome.shape == (24, 24)
    off_diagonal = ~np.eye(24, dtype=bool)
    assert np.isfinite(connectome[off_diagonal]).all() and np.isnan(np.diag(connectome)).all()
    np.testing.assert_allclose(connectome, connectome.T, equal_nan=True)
    metrics = namespace["metrics"]
    assert isinstance(metrics, dict) and -1.0 <= metrics["test/pearson"] <= 1.0
    assert "test r = " in capsys.readouterr().out
    assert (tmp_path / "example" / "checkpoints" / "last.ckpt").exists()
