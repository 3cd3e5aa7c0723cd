"""Two gloo processes with uneven, disjoint shards give the same metrics as one process."""

from __future__ import annotations

import json
import math
import os
import socket
import time
from datetime import timedelta
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ge2conn.metrics import GeodesicDistance, build_edge_metrics, results_dict
from tests.metrics.metric_problems import make_region_problem

WORLD_SIZE = 2
NUM_REGIONS = 40
JOIN_TIMEOUT_S = 90


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def shard_batches(rank: int, num_edges: int) -> list[slice]:
    """Rank 0 takes about 70% of the edges in three uneven batches, rank 1 the rest in two."""
    split = int(0.7 * num_edges)
    if rank == 0:
        return [slice(0, 13), slice(13, 400), slice(400, split)]
    return [slice(split, split + 101), slice(split + 101, num_edges)]


def worker(rank: int, port: int, output_dir: str) -> None:
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD_SIZE, timeout=timedelta(seconds=60))
    try:
        problem = make_region_problem(num_regions=NUM_REGIONS, seed=7)
        collection = build_edge_metrics(
            "test",
            problem.coordinates,
            problem.hemisphere,
            problem.network,
            problem.network_names,
            min_edges=10,
        )
        padded_geodesic = GeodesicDistance()
        for batch in shard_batches(rank, problem.rows.numel()):
            edges = {"preds": problem.preds[batch], "target": problem.target[batch]}
            edges |= {"rows": problem.rows[batch], "cols": problem.cols[batch]}
            collection.update(**edges)
            padded_geodesic.update(**edges)
        if rank == 1:
            # What DistributedSampler padding does: the short rank repeats edges that rank 0 also saw.
            padded_geodesic.update(problem.preds[:9], problem.target[:9], problem.rows[:9], problem.cols[:9])
        # A second collection where rank 1 never receives an edge (e.g. a tiny validation split).
        lopsided = build_edge_metrics(
            "val",
            problem.coordinates,
            problem.hemisphere,
            problem.network,
            problem.network_names,
            min_edges=10,
        )
        if rank == 0:
            lopsided.update(preds=problem.preds, target=problem.target, rows=problem.rows, cols=problem.cols)
        results = results_dict(collection)
        results |= results_dict(lopsided)
        results["padded_geodesic"] = padded_geodesic.compute().item()
        Path(output_dir, f"rank{rank}.json").write_text(json.dumps(results))
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_two_process_gloo_equals_single_process(tmp_path: Path) -> None:
    problem = make_region_problem(num_regions=NUM_REGIONS, seed=7)
    single = build_edge_metrics(
        "test", problem.coordinates, problem.hemisphere, problem.network, problem.network_names, min_edges=10
    )
    single.update(preds=problem.preds, target=problem.target, rows=problem.rows, cols=problem.cols)
    expected = results_dict(single)
    expected |= {name.replace("test/", "val/"): value for name, value in expected.items()}

    context = mp.get_context("spawn")
    port = free_port()
    processes = [
        context.Process(target=worker, args=(rank, port, str(tmp_path))) for rank in range(WORLD_SIZE)
    ]
    for process in processes:
        process.start()
    deadline = time.monotonic() + JOIN_TIMEOUT_S
    for process in processes:
        process.join(timeout=max(0.0, deadline - time.monotonic()))
    hung = [process for process in processes if process.is_alive()]
    for process in hung:
        process.terminate()
        process.join(5)
    assert not hung, "DDP workers did not finish in time"
    assert [process.exitcode for process in processes] == [0] * WORLD_SIZE

    for rank in range(WORLD_SIZE):
        results = json.loads(Path(tmp_path, f"rank{rank}.json").read_text())
        assert results.pop("padded_geodesic") == pytest.approx(expected["test/geodesic"], rel=1e-10)
        assert results.keys() == expected.keys()
        assert sum(not math.isnan(value) for value in expected.values()) >= len(expected) - 2
        for name, value in expected.items():
            assert results[name] == pytest.approx(value, rel=1e-9, abs=1e-12, nan_ok=True), name
