"""Benchmark spin-null generation (method §5) and print one markdown table row per workload.

Workloads: the batched generator (:func:`ge2conn.nulls.generate_nulls`) for 1,000 and 10,000 spins on the
synthetic S456 dataset (456 regions × 7,380 genes), on the unit-test fixture (24 regions) and on dk82 when
it can be built from the mirror; plus a plain one-spin-at-a-time reference on a few spins, extrapolated to
10,000. Each workload runs in a fresh subprocess, so its peak RSS (``resource.getrusage``) is its own.

The reference is what a direct transcription of the method does per spin: draw a rotation, run the Váša
rule as a Python loop per group, permute the expression matrix, recompute the Pearson CGE matrix, bin it
with ``scipy.stats.binned_statistic``, fit the exponential with ``scipy.optimize.curve_fit`` and the cubic
with ``np.polyfit``.

Usage: ``PYTHONPATH=. python benchmarks/bench_nulls.py [--skip-dk82] [--reference-spins 10]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ge2conn.data.format import BrainDataset

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "data" / "synthetic.h5"


def load_workload_dataset(name: str) -> BrainDataset:
    if name == "s456":
        from benchmarks.make_synthetic_s456 import make_synthetic_s456

        return make_synthetic_s456(seed=0)
    if name == "fixture":
        return BrainDataset.load(FIXTURE, individual=False)
    if name == "dk82":
        from ge2conn.data.recipes import build_dataset

        mirror = os.environ.get("GE2CONN_MIRROR") or str(REPO.parent / "shared" / "data" / "mirror")
        os.environ["GE2CONN_MIRROR"] = mirror
        if "GE2CONN_HOME" not in os.environ:
            home = Path(tempfile.gettempdir()) / "ge2conn_bench_home"
            downloads = Path.home() / ".cache" / "ge2conn" / "downloads"
            home.mkdir(exist_ok=True)
            if downloads.is_dir() and not (home / "downloads").exists():
                (home / "downloads").symlink_to(downloads, target_is_directory=True)
            os.environ["GE2CONN_HOME"] = str(home)
        return BrainDataset.load(build_dataset("dk82"), individual=False)
    raise ValueError(name)


def reference_spin(dataset: BrainDataset, rotation: np.ndarray) -> np.ndarray:
    """One spin the straightforward way; returns its 7 parameters (exponential, cubic, cost)."""
    from scipy import stats
    from scipy.optimize import curve_fit

    from ge2conn.nulls.assignment import MIRROR, vasa_assign_reference
    from ge2conn.nulls.spins import spin_groups

    permutation = np.arange(dataset.num_regions)
    cost = 0.0
    for group in spin_groups(dataset):
        turn = MIRROR @ rotation @ MIRROR if group.mirrored else rotation
        assignment, group_cost = vasa_assign_reference(group.positions, group.positions @ turn.T)
        permutation[group.regions] = group.regions[assignment]
        cost += group_cost * group.scale_mm
    coexpression = np.corrcoef(dataset.expression[permutation].astype(np.float64))
    first, second = np.triu_indices(dataset.num_regions, k=1)
    distance = np.linalg.norm(dataset.centroids[first] - dataset.centroids[second], axis=1)
    edges = np.arange(0.0, distance.max() + 5.0, 5.0)
    means, _, _ = stats.binned_statistic(distance, coexpression[first, second], "mean", edges)
    counts, _ = np.histogram(distance, edges)
    centres, _, _ = stats.binned_statistic(distance, distance, "mean", edges)
    keep = counts > 0
    x, y, weights = centres[keep], means[keep], counts[keep]
    (length, plateau), _ = curve_fit(lambda d, a, b: (1 - b) * np.exp(-d / a) + b, x, y, p0=(20.0, 0.0),
                                     sigma=1 / np.sqrt(weights), maxfev=10_000)
    cubic = np.polyfit(x, y, 3, w=np.sqrt(weights))
    return np.concatenate([[length, plateau], cubic, [cost]])


def run_worker(kind: str, dataset_name: str, spins: int) -> dict[str, float]:
    dataset = load_workload_dataset(dataset_name)
    start, cpu_start = time.perf_counter(), time.process_time()
    if kind == "batched":
        from ge2conn.nulls.generate import generate_nulls

        generate_nulls(dataset, num_spins=spins, top=10, seed=0)
    else:
        from ge2conn.nulls.assignment import random_rotations

        rotations = random_rotations(np.random.default_rng(0), spins + 1)
        reference_spin(dataset, rotations[-1])  # untimed: first-call imports of scipy.stats/optimize
        start, cpu_start = time.perf_counter(), time.process_time()
        for rotation in rotations[:-1]:
            reference_spin(dataset, rotation)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_rss_mb": peak_rss_mb,
            "regions": dataset.num_regions, "genes": dataset.num_genes}


def measure(kind: str, dataset_name: str, spins: int) -> dict[str, float] | None:
    command = [sys.executable, __file__, "--worker", kind, dataset_name, str(spins)]
    environment = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    result = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    if result.returncode != 0:
        print(f"<!-- {kind} {dataset_name} {spins} failed: {result.stderr.strip()[-300:]} -->")
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark spin-null generation.")
    parser.add_argument("--worker", nargs=3, metavar=("KIND", "DATASET", "SPINS"), help=argparse.SUPPRESS)
    parser.add_argument("--skip-dk82", action="store_true", help="leave out the real dk82 dataset")
    parser.add_argument("--reference-spins", type=int, default=10, help="spins timed for the reference")
    args = parser.parse_args(argv)
    if args.worker:
        kind, dataset_name, spins = args.worker
        print(json.dumps(run_worker(kind, dataset_name, int(spins))))
        return 0
    import torch

    print(f"<!-- {os.cpu_count()} CPUs, torch {torch.__version__} with {torch.get_num_threads()} threads, "
          f"load average {os.getloadavg()[0]:.2f} -->")
    # CPU seconds beside wall seconds: on a shared machine the wall clock also counts other people's jobs.
    print("| workload | regions | spins | wall s | CPU s | per spin (ms) | 10,000 spins (s) "
          "| peak RSS (MiB) |")
    print("|---|---|---|---|---|---|---|---|")
    datasets = ["s456", "fixture"] + ([] if args.skip_dk82 else ["dk82"])
    for dataset_name in datasets:
        workloads = [("batched", 1_000), ("batched", 10_000), ("reference", args.reference_spins)]
        for kind, spins in workloads:
            row = measure(kind, dataset_name, spins)
            if row is None:
                continue
            per_spin = row["seconds"] / spins
            label = f"{dataset_name} {'batched' if kind == 'batched' else 'one-spin-at-a-time reference'}"
            extrapolated = "" if kind == "batched" else " (extrapolated)"
            cells = [label, f"{row['regions']:.0f}", f"{spins:,}", f"{row['seconds']:.2f}",
                     f"{row['cpu_seconds']:.2f}", f"{1e3 * per_spin:.2f}",
                     f"{1e4 * per_spin:.1f}{extrapolated}", f"{row['peak_rss_mb']:.0f}"]
            print(f"| {' | '.join(cells)} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
