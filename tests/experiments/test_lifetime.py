"""Runner workers die with the runner (even on SIGKILL); one runner at a time computes a run folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from ge2conn.experiments.config import ExperimentConfig
from ge2conn.experiments.grid import outer_splits, run_folder
from ge2conn.experiments.lifetime import LOCK_FILE, RunLockedError, run_lock
from ge2conn.experiments.runner import run_experiment
from tests.experiments.conftest import CONFIGS, REPOSITORY

LINUX_PROC = Path("/proc")


def _children(pid: int) -> set[int]:
    """PIDs of the live (non-zombie) processes whose parent is ``pid``, read from /proc."""
    children = set()
    for entry in LINUX_PROC.iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                children.add(int(entry.name))
    return children


def _alive(pid: int) -> bool:
    try:
        state = (LINUX_PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its exit status waits to be collected


def _hold_lock(folder: Path) -> subprocess.Popen[str]:
    code = ("import sys, time; from pathlib import Path; from ge2conn.experiments.lifetime import run_lock\n"
            "with run_lock(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(120)\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(folder)], cwd=REPOSITORY, text=True,
                              stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPOSITORY)})
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def test_a_lock_held_by_another_process_excludes_this_one_until_it_dies(tmp_path: Path) -> None:
    holder = _hold_lock(tmp_path / "run")
    try:
        with pytest.raises(RunLockedError, match="another process"), run_lock(tmp_path / "run"):
            pass
    finally:
        holder.kill()
        holder.wait()
    with run_lock(tmp_path / "run"):  # released by the operating system when its holder died
        pass


def test_the_runner_leaves_a_locked_run_to_its_owner(make_config: Callable[..., ExperimentConfig]) -> None:
    config = make_config()
    cell = outer_splits(config)[0]
    locked = [run_folder(config, cell, variant) for variant in cell.variants]
    holder = _hold_lock(locked[0])
    try:
        summary = run_experiment(config, console=Console(quiet=True))
    finally:
        holder.kill()
        holder.wait()
    assert sorted(folder for folder, _ in summary.busy) == sorted(str(folder) for folder in locked)
    assert not any((folder / "metrics.json").exists() for folder in locked)  # the whole cell is left alone
    assert summary.finished == summary.total - len(locked) and not summary.failed


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the process table from /proc")
def test_killing_the_runner_with_sigkill_leaves_no_worker_alive(tmp_path: Path, dataset_copy: Path) -> None:
    # Learned models with many epochs keep both workers busy well past the kill.
    config = {
        "name": "orphans", "output": str(tmp_path / "runs"), "seed": 0, "datasets": [str(dataset_copy)],
        "splits": ["random"], "rounds": 1, "folds": 4, "nulls": {"enabled": False},
        "trainer": {"configs": [str(CONFIGS / "trainer" / "cpu.yaml")]}, "workers": 2,
        "models": [{"name": "MLP", "config": str(CONFIGS / "mlp.yaml"), "epochs": 1000,
                    "overrides": ["--model.init_args.hidden_sizes=[16,8]",
                                  "--early_stopping.patience=1000"]}],
    }
    path = tmp_path / "orphans.yaml"
    path.write_text(yaml.safe_dump(config))
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "ge2conn", "experiment", "run", str(path), "--workers", "2"]
    runner = subprocess.Popen(command, cwd=REPOSITORY, env=environment, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        # Both workers are computing once two run folders are locked (the locks are taken after the worker
        # initializer tied the worker to the runner; a worker still importing when its runner dies exits as
        # soon as its initializer runs).
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and len(list((tmp_path / "runs").rglob(LOCK_FILE))) < 2:
            time.sleep(0.5)
        workers = {pid for pid in _children(runner.pid)
                   if b"spawn_main" in (LINUX_PROC / str(pid) / "cmdline").read_bytes()}
        assert len(workers) == 2, "the runner did not start its two workers"
        descendants = _children(runner.pid)
        runner.send_signal(signal.SIGKILL)
        runner.wait()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(pid) for pid in descendants):
            time.sleep(0.2)
        assert not [pid for pid in descendants if _alive(pid)]
    finally:
        runner.kill()
        for pid in _children(runner.pid):
            os.kill(pid, signal.SIGKILL)
