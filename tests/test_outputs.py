"""Output hygiene: ``ge2conn fit`` run from a checkout writes under ``runs/`` (git-ignored), nothing else."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ge2conn.main import main
from tests.support.quick import SMALL_MLP_SETTINGS, as_arguments, quick_settings

REPO = Path(__file__).resolve().parents[1]


def _git(folder: Path, *arguments: str) -> str:
    return subprocess.run(["git", "-C", str(folder), *arguments], check=True, capture_output=True,
                          text=True).stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_fit_from_a_checkout_leaves_git_status_clean(tmp_path: Path, synthetic_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "checkpoints").mkdir(parents=True)
    shutil.copy(REPO / ".gitignore", checkout / ".gitignore")
    (checkout / "checkpoints" / "README.md").write_text("shipped checkpoints only\n")
    _git(checkout, "init", "-q")
    _git(checkout, "add", "-A")
    _git(checkout, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "clean")
    monkeypatch.chdir(checkout)
    settings = quick_settings(tmp_path, synthetic_path, epochs=1, logger=True)
    del settings["trainer.default_root_dir"]  # what a user types: no output folder
    main(["fit", "--config", str(REPO / "configs" / "mlp.yaml"), *as_arguments({**settings,
                                                                              **SMALL_MLP_SETTINGS})])
    assert _git(checkout, "status", "--porcelain", "--untracked-files=all") == ""
    assert (checkout / "runs" / "MLP_synthetic" / "checkpoints" / "last.ckpt").exists()
    assert sorted(path.name for path in (checkout / "checkpoints").iterdir()) == ["README.md"]
