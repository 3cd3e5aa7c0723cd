"""Training-step throughput of ge2conn vs the naive reference pipeline, on the same batch of pairs.

For each workload (dataset × model × precision) it takes the first training batch of the real
``EdgePairDataModule`` (batch 512, fold 0 of the random split) and times, after one warm-up step:

- ``ge2conn``: ``on_after_batch_transfer`` (gather targets on the device) + forward (each distinct region
  encoded once) + MSE + backward + the task's optimizer step;
- ``baseline``: fetch the same pairs from a ``DataLoader`` over the expanded ``[x_i ‖ x_j]`` rows with
  per-sample collation + forward (both ends of every pair encoded) + MSE + backward + AdamW
  (``benchmarks/reference_pipeline.py``), with the same initial weights (checked to give the same predictions
  in evaluation mode before timing).

Both are timed alternately in one process, so machine load affects both alike; the ratio of their medians is
the speed-up. Peak RSS of each pipeline is measured in its own subprocess (``resource.getrusage``).
Epoch times are ``steps per epoch × median step`` (extrapolated), except ``--epochs N`` which also times N
real epochs through ``lightning.Trainer`` (training + validation).

Run: ``PYTHONPATH=. python benchmarks/bench_training.py [--dataset s456] [--model smt] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # runnable as ``python benchmarks/bench_training.py`` from anywhere
    sys.path.insert(0, str(REPO))

import torch  # noqa: E402
from lightning.pytorch import Trainer  # noqa: E402
from torch import Tensor, nn  # noqa: E402

from benchmarks import reference_pipeline as reference  # noqa: E402
from benchmarks.harness import (  # noqa: E402
    EpochTimer,
    Row,
    autocast,
    dataset_path,
    median_time,
    peak_rss_mb,
    report,
    run_in_subprocess,
    synchronize,
)
from ge2conn.data.datamodule import EdgePairDataModule  # noqa: E402
from ge2conn.models.base import EdgeRegressionTask  # noqa: E402
from ge2conn.models.mlp import MLPTask  # noqa: E402
from ge2conn.models.smt import SMTTask  # noqa: E402


def build(dataset: str, model: str, device: torch.device, batch_size: int = 512, sampler: str = "uniform",
          ) -> tuple[EdgePairDataModule, EdgeRegressionTask, Tensor]:
    """The datamodule (fold 0), a freshly initialized task on the device and the first training batch."""
    datamodule = EdgePairDataModule(dataset=str(dataset_path(dataset)), batch_size=batch_size, seed=0,
                                    sampler=sampler)  # type: ignore[arg-type]
    datamodule.setup("fit")
    links: dict[str, Any] = dict(num_genes=datamodule.num_genes,
                                 coordinate_mean=datamodule.coordinate_mean,
                                 coordinate_std=datamodule.coordinate_std)
    torch.manual_seed(0)
    task: EdgeRegressionTask = SMTTask(**links) if model == "smt" else MLPTask(**links)
    task.to(device).train()
    edges = next(iter(datamodule.train_dataloader()))
    return datamodule, task, edges


def ours_step(datamodule: EdgePairDataModule, task: EdgeRegressionTask, edges: Tensor, device: torch.device,
              precision: str) -> Callable[[], float]:
    """One ge2conn training step on ``edges`` (the task's own loss and optimizer)."""
    optimizer = task.configure_optimizers()["optimizer"]
    network = task.network

    def step() -> float:
        batch = datamodule.on_after_batch_transfer(edges.to(device, non_blocking=True), 0)
        optimizer.zero_grad(set_to_none=True)
        with autocast(device, precision):
            prediction = network(batch["expression"], batch["coordinates"], batch["rows"], batch["cols"])
        loss = task.criterion(prediction.float(), batch["target"])
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    return step


def baseline_model(model: str, task: EdgeRegressionTask, num_genes: int) -> nn.Module:
    """The reference model with the task network's initial weights."""
    if model == "smt":
        hparams = task.hparams
        built: nn.Module = reference.ReferenceSMT(
            num_genes, hparams["token_size"], hparams["d_model"], hparams["d_out"], hparams["num_layers"],
            hparams["num_heads"], hparams["dropout"])
    else:
        built = reference.ReferenceMLP(num_genes)
    reference.load_matching_weights(built, task.network)
    return built


def baseline_step(datamodule: EdgePairDataModule, built: nn.Module, edges: Tensor, device: torch.device,
                  precision: str) -> tuple[Callable[[], float], dict[str, float]]:
    """One reference-design training step on the same pairs, and the cost of expanding every training pair."""
    arrays = datamodule._require_setup()
    pairs = edges.numpy()
    start = time.perf_counter()
    features, targets = reference.expand_pairs(arrays["expression"], arrays["connectivity"], pairs)
    per_pair_s = (time.perf_counter() - start) / len(pairs)
    loader = reference.reference_loader(reference.PairFeatureDataset(features, targets), len(pairs),
                                        order=range(len(pairs)))
    optimizer = torch.optim.AdamW(built.parameters(), lr=1e-4, weight_decay=1e-4)
    built.to(device).train()
    criterion = nn.MSELoss()

    def step() -> float:
        rows, target = next(iter(loader))  # per-sample __getitem__ + default collation
        rows, target = rows.to(device), target.to(device)
        optimizer.zero_grad(set_to_none=True)
        with autocast(device, precision):
            prediction = built(rows)
        loss = criterion(prediction.float(), target)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    total_pairs = int(datamodule.train_edges.shape[0])
    cost = {"expand_all_pairs_s": per_pair_s * total_pairs,
            "expanded_gb_float32": reference.expanded_bytes(total_pairs, datamodule.num_genes) / 1e9,
            "expanded_gb_float64": reference.expanded_bytes(total_pairs, datamodule.num_genes, 8) / 1e9}
    return step, cost


def check_same_function(datamodule: EdgePairDataModule, task: EdgeRegressionTask, built: nn.Module,
                        edges: Tensor, device: torch.device) -> float:
    """Largest |ours − baseline| prediction difference in evaluation mode (both start from equal weights)."""
    task.eval()
    built.to(device).eval()
    with torch.no_grad():
        batch = datamodule.on_after_batch_transfer(edges.to(device), 0)
        ours = task.network(batch["expression"], batch["coordinates"], batch["rows"], batch["cols"])
        expression = batch["expression"]
        theirs = built(torch.cat([expression[batch["rows"]], expression[batch["cols"]]], dim=1))
    task.train()
    built.train()
    return float((ours - theirs).abs().max())


def worker(arguments: argparse.Namespace) -> dict[str, Any]:
    """Measure one pipeline's peak RSS over a warm-up and one step, in this (fresh) process."""
    device = torch.device(arguments.device)
    torch.set_num_threads(arguments.threads)
    datamodule, task, edges = build(arguments.dataset, arguments.model, device)
    if arguments.worker == "ours":
        step = ours_step(datamodule, task, edges, device, arguments.precision)
    else:
        built = baseline_model(arguments.model, task, datamodule.num_genes)
        step, _ = baseline_step(datamodule, built, edges, device, arguments.precision)
    step()
    step()
    return {"peak_rss_mb": peak_rss_mb(),
            "cuda_peak_mb": torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else None}


def time_epochs(dataset: str, model: str, device: torch.device, precision: str, epochs: int) -> list[float]:
    """Wall time of each of ``epochs`` real Lightning epochs (training + validation)."""
    datamodule, task, _ = build(dataset, model, device)
    timer = EpochTimer(include_validation=True)
    trainer = Trainer(accelerator=device.type, devices=1, max_epochs=epochs, logger=False,
                      precision="bf16-mixed" if precision == "bf16" else "32-true", callbacks=[timer],
                      enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                      num_sanity_val_steps=0)
    trainer.fit(task, datamodule=datamodule)
    return timer.times


def measure(arguments: argparse.Namespace) -> list[Row]:
    """All rows of one workload."""
    device = torch.device(arguments.device)
    torch.set_num_threads(arguments.threads)
    workload = f"{arguments.dataset} {arguments.model.upper()} {arguments.precision}"
    datamodule, task, edges = build(arguments.dataset, arguments.model, device)
    distinct = int(torch.unique(edges).numel())
    batch_size = int(edges.shape[0])
    steps_per_epoch = len(datamodule.train_batches())
    compile_s = None
    if arguments.compile:
        network: Any = task.network
        network.encoder.compile()  # in place: same parameters, so the baseline still gets equal weights
    ours = ours_step(datamodule, task, edges, device, arguments.precision)
    if arguments.compile:
        synchronize(device)
        start = time.perf_counter()
        ours()  # the first call compiles
        compile_s = time.perf_counter() - start
    rows: list[Row] = []
    note = (f"B={batch_size}, {distinct} distinct regions (baseline encodes {2 * batch_size})"
            if arguments.model == "smt" else f"B={batch_size}, {distinct} distinct regions")
    if compile_s is not None:
        note += f"; torch.compile'd encoder (first step incl. compilation: {compile_s:.0f} s)"
    baseline_median = None
    cost: dict[str, float] = {}
    difference = None
    if not arguments.skip_baseline:
        built = baseline_model(arguments.model, task, datamodule.num_genes)
        difference = check_same_function(datamodule, task, built, edges, device)
        if difference > 1e-3:
            raise AssertionError(f"baseline and ge2conn disagree by {difference:.2e}: not the same model")
        baseline, cost = baseline_step(datamodule, built, edges, device, arguments.precision)
        # Interleave the two so that load from other processes hits both alike.
        ours(), baseline()
        ours_times, baseline_times = [], []
        for _ in range(arguments.repeats):
            ours_times.append(median_time(ours, 1, device, warmup=0)[0])
            baseline_times.append(median_time(baseline, 1, device, warmup=0)[0])
        ours_median, baseline_median = statistics.median(ours_times), statistics.median(baseline_times)
    else:
        ours_median, ours_times = median_time(ours, arguments.repeats, device)
    rss = None if arguments.no_rss else run_in_subprocess(Path(__file__), worker_arguments(arguments, "ours"))
    baseline_rss = (None if arguments.no_rss or arguments.skip_baseline
                    else run_in_subprocess(Path(__file__), worker_arguments(arguments, "baseline")))
    rows.append(Row("training", workload, "step (s)", ours_median, baseline_median, "s", arguments.repeats,
                    None if rss is None else rss["peak_rss_mb"],
                    None if baseline_rss is None else baseline_rss["peak_rss_mb"], note,
                    {"ours_times": ours_times, "max_prediction_difference": difference, **cost}))
    rows.append(Row("training", workload, "edges/s", batch_size / ours_median,
                    None if baseline_median is None else batch_size / baseline_median, "edges/s",
                    arguments.repeats))
    epoch_note = f"{steps_per_epoch} steps × median step (extrapolated)"
    if cost:
        epoch_note += (f"; baseline also expands {datamodule.train_edges.shape[0]:,} pairs first: "
                       f"~{cost['expand_all_pairs_s']:.0f} s, {cost['expanded_gb_float32']:.1f} GB float32 "
                       f"({cost['expanded_gb_float64']:.1f} GB as the reference's float64)")
    rows.append(Row("training", workload, "epoch (s)", steps_per_epoch * ours_median,
                    None if baseline_median is None else steps_per_epoch * baseline_median, "s",
                    arguments.repeats, notes=epoch_note))
    if arguments.epochs:
        times = time_epochs(arguments.dataset, arguments.model, device, arguments.precision,
                            arguments.epochs + 1)
        rows.append(Row("training", workload, "Lightning epoch incl. validation (s)",
                        statistics.median(times[1:]), None, "s", len(times) - 1,
                        notes=f"real Trainer.fit epochs after a warm-up epoch; {steps_per_epoch} steps"))
    return rows


def worker_arguments(arguments: argparse.Namespace, which: str) -> list[str]:
    """Command line of the RSS worker for one pipeline."""
    return ["--worker", which, "--dataset", arguments.dataset, "--model", arguments.model, "--precision",
            arguments.precision, "--device", arguments.device, "--threads", str(arguments.threads)]


def parser() -> argparse.ArgumentParser:
    """Command-line options."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--dataset", default="s456", help="s456 (synthetic 456 × 7,380), dk82 or a .h5 path")
    options.add_argument("--model", choices=["smt", "mlp"], default="smt")
    options.add_argument("--precision", choices=["32", "bf16"], default="32",
                         help="bf16 = bf16 autocast (Lightning's bf16-mixed)")
    options.add_argument("--device", default="cpu", help="cpu or cuda")
    options.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    options.add_argument("--repeats", type=int, default=5, help="timed steps after one warm-up (median)")
    options.add_argument("--epochs", type=int, default=0, help="also time N real Lightning epochs")
    options.add_argument("--skip-baseline", action="store_true", help="time ge2conn only")
    options.add_argument("--compile", action="store_true", help="torch.compile the SMT encoder (ours only)")
    options.add_argument("--no-rss", action="store_true", help="skip the peak-RSS subprocesses")
    options.add_argument("--quick", action="store_true", help="what run_all.py uses (5 repeats, no epochs)")
    options.add_argument("--json-out", help="also write the rows to this JSON file")
    options.add_argument("--worker", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    return options


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    if arguments.worker:
        print(json.dumps(worker(arguments)))
        return 0
    if arguments.quick:
        arguments.repeats, arguments.epochs = max(5, min(arguments.repeats, 5)), 0
    rows = measure(arguments)
    report("bench_training", rows, arguments.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
