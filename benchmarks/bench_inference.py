"""All-pairs inference: symmetric predictions for every pair i < j (S456: 103,740 edges).

Times, for a freshly initialized model (timing does not depend on the weights):

- ``ge2conn``: ``Trainer.predict`` over the datamodule's predict loader (batches of ``eval_batch_size`` =
  4,096 edges, ``EdgeRegressionTask.predict_step`` → ``PairModel.predict_symmetric``). The task enables the
  region cache for the predict loop, so every region is encoded once, and the decoder projects each region
  once per batch instead of each pair;
- ``ge2conn without region cache``: the same loop with the cache disabled (every batch re-encodes its
  distinct regions), over the first ``--uncached-batches`` batches, extrapolated to all batches;
- ``baseline``: the reference design predicting both ordered pairs of every edge (2 × 103,740 rows of
  ``[x_i ‖ x_j]``, each end encoded separately, batches of 512 from a per-sample-collating DataLoader) over
  ``--baseline-batches`` batches, extrapolated (a full run takes about an hour on 2 cores).

The cached and uncached predictions are checked to agree before anything is reported.

Run: ``PYTHONPATH=. python benchmarks/bench_inference.py [--dataset s456] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # runnable as ``python benchmarks/bench_inference.py`` from anywhere
    sys.path.insert(0, str(REPO))

import torch  # noqa: E402
from lightning.pytorch import Trainer  # noqa: E402

from benchmarks import reference_pipeline as reference  # noqa: E402
from benchmarks.bench_training import baseline_model, build  # noqa: E402
from benchmarks.harness import (  # noqa: E402
    Row,
    autocast,
    median_time,
    peak_rss_mb,
    report,
    run_in_subprocess,
    synchronize,
)
from ge2conn.data.datamodule import EdgePairDataModule  # noqa: E402
from ge2conn.models.base import EdgeRegressionTask  # noqa: E402

BASELINE_BATCH = 512


def predict_all(task: EdgeRegressionTask, datamodule: EdgePairDataModule, device: torch.device,
                precision: str) -> torch.Tensor:
    """Symmetric predictions of every predict edge through ``Trainer.predict`` (the user-facing path)."""
    trainer = Trainer(accelerator=device.type, devices=1, logger=False, enable_progress_bar=False,
                      enable_model_summary=False,
                      precision="bf16-mixed" if precision == "bf16" else "32-true")
    outputs = trainer.predict(task, datamodule=datamodule)
    assert outputs is not None
    return torch.cat([output["prediction"] for output in outputs])  # type: ignore[call-overload]


def predict_uncached(task: EdgeRegressionTask, datamodule: EdgePairDataModule, device: torch.device,
                     precision: str, max_batches: int) -> tuple[torch.Tensor, int]:
    """The first ``max_batches`` predict batches without the region cache (and the total batch count)."""
    task.eval()
    network = task.network
    network.disable_region_cache()
    predictions = []
    loader = datamodule.predict_dataloader()
    with torch.inference_mode(), autocast(device, precision):
        for index, edges in enumerate(loader):
            if index == max_batches:
                break
            batch = datamodule.on_after_batch_transfer(edges.to(device), 0)
            predictions.append(task(batch["expression"], batch["coordinates"], batch["rows"], batch["cols"]))
    return torch.cat(predictions).float(), len(loader)


def baseline_predict(built: torch.nn.Module, datamodule: EdgePairDataModule, device: torch.device,
                     precision: str, max_batches: int) -> tuple[float, int, float]:
    """Time the reference design on its first batches; returns (seconds per batch, batches, RSS MB)."""
    arrays = datamodule._require_setup()
    edges = datamodule.predict_edges.numpy()
    ordered = torch.cat([torch.from_numpy(edges), torch.from_numpy(edges[:, ::-1].copy())]).numpy()
    sample = ordered[: max_batches * BASELINE_BATCH]
    features, targets = reference.expand_pairs(arrays["expression"], arrays["connectivity"], sample)
    loader = reference.reference_loader(reference.PairFeatureDataset(features, targets), BASELINE_BATCH,
                                        order=range(len(sample)))
    built.to(device).eval()

    def run() -> None:
        with torch.inference_mode(), autocast(device, precision):
            for rows, _ in loader:
                built(rows.to(device))

    seconds, _ = median_time(run, 1, device, warmup=0)
    total_batches = -(-ordered.shape[0] // BASELINE_BATCH)
    return seconds / max_batches, total_batches, peak_rss_mb()


def worker(arguments: argparse.Namespace) -> dict[str, Any]:
    """Peak RSS of one cached all-pairs prediction in a fresh process."""
    device = torch.device(arguments.device)
    torch.set_num_threads(arguments.threads)
    datamodule, task, _ = build(arguments.dataset, arguments.model, device)
    predict_all(task, datamodule, device, arguments.precision)
    return {"peak_rss_mb": peak_rss_mb()}


def measure(arguments: argparse.Namespace) -> list[Row]:
    """The inference rows of one workload."""
    device = torch.device(arguments.device)
    torch.set_num_threads(arguments.threads)
    datamodule, task, _ = build(arguments.dataset, arguments.model, device)
    num_edges = int(datamodule.predict_edges.shape[0])
    workload = f"{arguments.dataset} {arguments.model.upper()} {arguments.precision}"

    cached_predictions = predict_all(task, datamodule, device, arguments.precision)  # also the warm-up
    seconds, times = median_time(lambda: predict_all(task, datamodule, device, arguments.precision),
                                 arguments.repeats, device, warmup=0)
    worker_command = ["--worker", "--dataset", arguments.dataset, "--model", arguments.model, "--precision",
                      arguments.precision, "--device", arguments.device, "--threads", str(arguments.threads)]
    rss = None if arguments.no_rss else run_in_subprocess(Path(__file__), worker_command)["peak_rss_mb"]

    synchronize(device)
    start = time.perf_counter()
    uncached, total_batches = predict_uncached(task, datamodule, device, arguments.precision,
                                               arguments.uncached_batches)
    synchronize(device)
    uncached_seconds = (time.perf_counter() - start) / uncached.numel() * num_edges
    difference = float((uncached - cached_predictions[: uncached.numel()].float()).abs().max())
    tolerance = 1e-4 if arguments.precision == "32" else 5e-2
    if difference > tolerance:
        raise AssertionError(f"cached and uncached predictions differ by {difference:.2e}")

    rows = [Row("inference", workload, f"all {num_edges:,} edges (s)", seconds, None, "s", arguments.repeats,
                rss, None, f"Trainer.predict, {total_batches} batches of {datamodule.eval_batch_size}, "
                "region cache on", {"times": times}),
            Row("inference", workload, "without region cache (s)", uncached_seconds, None, "s", 1, None, None,
                f"first {arguments.uncached_batches} of {total_batches} batches, extrapolated; "
                f"max |difference| {difference:.1e}")]
    if not arguments.skip_baseline:
        built = baseline_model(arguments.model, task, datamodule.num_genes)
        per_batch, baseline_batches, _ = baseline_predict(built, datamodule, device, arguments.precision,
                                                          arguments.baseline_batches)
        rows[0].baseline = per_batch * baseline_batches
        rows[0].notes += (f"; baseline: {arguments.baseline_batches} of {baseline_batches} batches of "
                          f"{BASELINE_BATCH} ordered pairs timed, extrapolated")
    rows.append(Row("inference", workload, "edges/s", num_edges / seconds,
                    None if rows[0].baseline is None else num_edges / rows[0].baseline, "edges/s",
                    arguments.repeats))
    return rows


def parser() -> argparse.ArgumentParser:
    """Command-line options."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--dataset", default="s456", help="s456 (synthetic 456 × 7,380), dk82 or a .h5 path")
    options.add_argument("--model", choices=["smt", "mlp"], default="smt")
    options.add_argument("--precision", choices=["32", "bf16"], default="32")
    options.add_argument("--device", default="cpu", help="cpu or cuda")
    options.add_argument("--threads", type=int, default=2)
    options.add_argument("--repeats", type=int, default=5, help="timed all-pairs runs after one warm-up")
    options.add_argument("--uncached-batches", type=int, default=3, help="batches timed without the cache")
    options.add_argument("--baseline-batches", type=int, default=2, help="batches timed for the baseline")
    options.add_argument("--skip-baseline", action="store_true")
    options.add_argument("--no-rss", action="store_true", help="skip the peak-RSS subprocess")
    options.add_argument("--quick", action="store_true", help="what run_all.py uses (the defaults)")
    options.add_argument("--json-out", help="also write the rows to this JSON file")
    options.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return options


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    if arguments.worker:
        print(json.dumps(worker(arguments)))
        return 0
    rows = measure(arguments)
    report("bench_inference", rows, arguments.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
