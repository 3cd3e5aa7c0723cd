"""Multi-node DDP as a cluster launches it: one process per "node", rendezvous through environment variables.

Two processes on localhost play two nodes of one process each (gloo on CPU). Each gets what a cluster launcher
(``srun``, ``torchrun``) sets: ``NODE_RANK``, ``LOCAL_RANK=0``, ``MASTER_ADDR``, ``MASTER_PORT`` and
``WORLD_SIZE``; with ``LOCAL_RANK`` set, Lightning's ``LightningEnvironment`` takes the processes as created
externally and joins them instead of spawning its own. ``configs/cluster/multinode_ddp.sbatch`` is the SLURM
form of the same launch.
"""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.support.quick import SMALL_MLP_SETTINGS, as_arguments, quick_overrides

REPO = Path(__file__).parents[1]
METRICS = ("test/pearson", "test/mse", "test/spearman", "test/r2", "test/geodesic")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _launch(args: list[str], nodes: int, timeout: int = 400) -> None:
    """Run ``ge2conn ARGS`` as ``nodes`` single-process nodes (or one plain process when nodes == 1)."""
    port = str(_free_port())
    processes = []
    for node_rank in range(nodes):
        environment = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
        extra: list[str] = []
        if nodes > 1:
            environment.update(NODE_RANK=str(node_rank), LOCAL_RANK="0", MASTER_ADDR="127.0.0.1",
                               MASTER_PORT=port, WORLD_SIZE=str(nodes))
            extra = ["--trainer.strategy=ddp", f"--trainer.num_nodes={nodes}", "--trainer.devices=1"]
        processes.append(subprocess.Popen([sys.executable, "-m", "ge2conn", *args, *extra], cwd=REPO,
                                          env=environment, text=True, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE))
    for node_rank, process in enumerate(processes):
        _, stderr = process.communicate(timeout=timeout)
        assert process.returncode == 0, f"node {node_rank}: {stderr[-3000:]}"


def _test_metrics(folder: Path) -> dict[str, float]:
    files = sorted(folder.rglob("metrics.csv"))
    assert files, f"no metrics.csv under {folder}"
    values: dict[str, float] = {}
    with files[-1].open() as handle:
        for row in csv.DictReader(handle):
            values.update({key: float(value) for key, value in row.items() if value and key in METRICS})
    return values


@pytest.mark.slow
def test_two_nodes_train_and_test_like_one_process(tmp_path: Path, synthetic_path: Path) -> None:
    model = ["--config", "configs/mlp.yaml", *as_arguments(SMALL_MLP_SETTINGS), "--data.sampler=blocks"]
    _launch(["fit", *model, *quick_overrides(tmp_path, synthetic_path)], nodes=2)
    checkpoint = tmp_path / "checkpoints" / "last.ckpt"
    state = torch.load(checkpoint, weights_only=False)
    assert state["epoch"] == 1 and state["global_step"] > 0  # both nodes ran both epochs in lockstep
    results = {}
    for name, nodes in (("one_process", 1), ("two_nodes", 2)):
        root = tmp_path / name
        overrides = quick_overrides(root, synthetic_path, logger=True)
        logger = ["--trainer.logger=CSVLogger", f"--trainer.logger.save_dir={root}"]
        _launch(["test", *model, *overrides, *logger, "--ckpt_path", str(checkpoint)], nodes=nodes)
        results[name] = _test_metrics(root)
    assert set(results["one_process"]) == set(METRICS)
    for key in METRICS:
        expected = pytest.approx(results["one_process"][key], rel=1e-5, abs=1e-6)
        assert results["two_nodes"][key] == expected, key
