"""Time the full edge-metric collection on every edge of a 456-region problem (S456: 103,740 edges).

Run: ``PYTHONPATH=. python benchmarks/bench_metrics.py [--threads N] [--batch-size B]``. Prints one line with
the median of 5 repeats after a warm-up; each repeat resets the collection, feeds all edges in batches and
computes.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from ge2conn.metrics import build_edge_metrics, results_dict

NUM_REGIONS = 456
NETWORK_NAMES = [
    "Visual",
    "SomMot",
    "DorsAttn",
    "SalVentAttn",
    "Limbic",
    "Cont",
    "Default",
    "Subcortical",
    "Cerebellum",
]


def make_problem(seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    coordinates = (torch.rand(NUM_REGIONS, 3, generator=generator) - 0.5) * 150.0
    hemisphere = torch.where(coordinates[:, 0] < 0, 0, 1)
    hemisphere[:8] = -1  # a few midline structures
    network = torch.randint(0, len(NETWORK_NAMES), (NUM_REGIONS,), generator=generator)
    rows, cols = torch.triu_indices(NUM_REGIONS, NUM_REGIONS, offset=1)
    distance = (coordinates[rows] - coordinates[cols]).norm(dim=1)
    target = torch.exp(-distance / 40.0) - 0.3 + 0.2 * torch.randn(rows.numel(), generator=generator)
    preds = 0.8 * target + 0.2 * torch.randn(rows.numel(), generator=generator)
    return {
        "coordinates": coordinates,
        "hemisphere": hemisphere,
        "network": network,
        "rows": rows,
        "cols": cols,
        "target": target,
        "preds": preds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu", help="e.g. cuda to time the GPU path")
    arguments = parser.parse_args()
    torch.set_num_threads(arguments.threads)

    device = torch.device(arguments.device)
    problem = {name: values.to(device) for name, values in make_problem().items()}
    collection = build_edge_metrics(
        "test", problem["coordinates"], problem["hemisphere"], problem["network"], NETWORK_NAMES
    ).to(device)
    num_edges = problem["rows"].numel()

    def run_once() -> tuple[float, float, dict[str, float]]:
        collection.reset()
        start = time.perf_counter()
        for begin in range(0, num_edges, arguments.batch_size):
            batch = slice(begin, begin + arguments.batch_size)
            collection.update(
                preds=problem["preds"][batch],
                target=problem["target"][batch],
                rows=problem["rows"][batch],
                cols=problem["cols"][batch],
            )
        updated = time.perf_counter()
        results = results_dict(collection)  # .item() synchronizes a CUDA device
        return updated - start, time.perf_counter() - updated, results

    run_once()  # warm-up
    timings = [run_once() for _ in range(arguments.repeats)]
    update_s = statistics.median(timing[0] for timing in timings)
    compute_s = statistics.median(timing[1] for timing in timings)
    total_s = statistics.median(timing[0] + timing[1] for timing in timings)
    results = timings[-1][2]
    print(
        f"bench_metrics: {NUM_REGIONS} regions, {num_edges} edges, {len(results)} metrics, "
        f"batch {arguments.batch_size}, {device}, {arguments.threads} threads: "
        f"update {update_s * 1e3:.1f} ms + compute {compute_s * 1e3:.1f} ms, "
        f"total {total_s * 1e3:.1f} ms (median of {arguments.repeats}); "
        f"pearson={results['test/pearson']:.4f} geodesic={results['test/geodesic']:.3f}"
    )


if __name__ == "__main__":
    main()
