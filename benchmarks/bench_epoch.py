"""Whole training epochs: ge2conn (block or uniform sampler) vs the reference pipeline, in one process.

What is timed, all in this one process so machine load hits every pipeline alike:

- ``blocks``: ge2conn with the block sampler, batches per epoch × the median of ``--repeats`` *different*
  block batches of epoch 0 (their sizes and region counts vary a little);
- ``uniform``: ge2conn with the uniform sampler, steps per epoch × the median step on the first batch of 512;
- ``baseline``: the reference pipeline on that same uniform batch, steps per epoch × median step. A real
  reference epoch of S456 SMT is ~175 steps of ~20 s (about an hour here); its step cost does not depend on
  which pairs the batch holds (it always encodes 2 × 512 regions), so steps × median step is its epoch.

The three step kinds are timed alternately (``bench_training.py``'s step functions), so the ratios hold
under load. ``--epochs N`` also trains N real blocks epochs with ``Trainer.fit`` (training only) in a fresh
subprocess and reports their median and the peak RSS (``VmHWM``).

Peak RSS (``VmHWM``) is read at the end of each real-epoch run in a fresh subprocess.

Run: ``PYTHONPATH=. python benchmarks/bench_epoch.py --dataset s456 --model smt [--epochs 3]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import torch  # noqa: E402
from lightning.pytorch import Trainer  # noqa: E402

from benchmarks.bench_training import (  # noqa: E402
    baseline_model,
    baseline_step,
    build,
    check_same_function,
    ours_step,
)
from benchmarks.harness import EpochTimer, Row, median_time, peak_rss_mb, report, run_in_subprocess  # noqa: E402


def real_epochs(dataset: str, model: str, sampler: str, precision: str, epochs: int) -> dict[str, Any]:
    """Train ``epochs`` real epochs; return their times, steps per epoch and distinct regions per batch."""
    device = torch.device("cpu")
    datamodule, task, _ = build(dataset, model, device, sampler=sampler)
    batches = list(datamodule.train_batches())
    distinct = statistics.mean(int(torch.unique(batch).numel()) for batch in batches)
    timer = EpochTimer()
    trainer = Trainer(accelerator="cpu", devices=1, max_epochs=epochs, logger=False, callbacks=[timer],
                      precision="bf16-mixed" if precision == "bf16" else "32-true", limit_val_batches=0,
                      num_sanity_val_steps=0, enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False)
    trainer.fit(task, datamodule=datamodule)
    return {"times": timer.times, "steps": len(batches), "distinct_regions": distinct,
            "batch_size_mean": statistics.mean(int(batch.shape[0]) for batch in batches),
            "peak_rss_mb": peak_rss_mb()}


def measure(arguments: argparse.Namespace) -> list[Row]:
    """Real epochs of ours (``--epochs N``), then interleaved blocks, uniform and baseline steps."""
    torch.set_num_threads(arguments.threads)
    workload = f"{arguments.dataset} {arguments.model.upper()} {arguments.precision}"
    rows: list[Row] = []
    if arguments.epochs:
        real = run_in_subprocess(Path(__file__), [
            "--worker", "--dataset", arguments.dataset, "--model", arguments.model, "--sampler", "blocks",
            "--precision", arguments.precision, "--epochs", str(arguments.epochs), "--threads",
            str(arguments.threads)])
        rows.append(Row("epoch", workload, "real training epoch, blocks sampler (s)",
                        statistics.median(real["times"]), None, "s", len(real["times"]), real["peak_rss_mb"],
                        notes=f"{real['steps']} batches, {real['distinct_regions']:.1f} distinct regions per "
                        f"batch; Trainer.fit epochs {', '.join(f'{t:.1f}' for t in real['times'])} s"))
    device = torch.device("cpu")
    datamodule, task, edges = build(arguments.dataset, arguments.model, device)
    uniform_steps = len(datamodule.train_batches())
    blocks_module, _, _ = build(arguments.dataset, arguments.model, device, sampler="blocks")
    block_batches = list(blocks_module.train_batches())
    blocks = [ours_step(datamodule, task, batch, device, arguments.precision)
              for batch in block_batches[:arguments.repeats]]
    uniform = ours_step(datamodule, task, edges, device, arguments.precision)
    built = baseline_model(arguments.model, task, datamodule.num_genes)
    difference = check_same_function(datamodule, task, built, edges, device)
    if difference > 1e-3:
        raise AssertionError(f"baseline and ge2conn disagree by {difference:.2e}: not the same model")
    baseline, _ = baseline_step(datamodule, built, edges, device, arguments.precision)
    blocks[0](), uniform(), baseline()  # warm-up
    times: dict[str, list[float]] = {"blocks": [], "uniform": [], "baseline": []}
    for repeat in range(arguments.repeats):  # interleaved: load from other processes hits all three alike
        for name, step in (("blocks", blocks[repeat]), ("uniform", uniform), ("baseline", baseline)):
            times[name].append(median_time(step, 1, device, warmup=0)[0])
    median = {name: statistics.median(values) for name, values in times.items()}
    baseline_epoch = uniform_steps * median["baseline"]
    distinct = statistics.mean(int(torch.unique(batch).numel()) for batch in block_batches)
    mean_size = statistics.mean(int(batch.shape[0]) for batch in block_batches)
    rows += [
        Row("epoch", workload, "training epoch, blocks sampler (s)", len(block_batches) * median["blocks"],
            baseline_epoch, "s", arguments.repeats,
            notes=f"{len(block_batches)} batches (mean {mean_size:.0f} pairs, {distinct:.1f} distinct "
            f"regions) × median of {arguments.repeats} different block steps ({median['blocks']:.2f} s)",
            extra={"times": times}),
        Row("epoch", workload, "training epoch, uniform sampler (s)", uniform_steps * median["uniform"],
            baseline_epoch, "s", arguments.repeats,
            notes=f"{uniform_steps} steps × median step ({median['uniform']:.2f} s, "
            f"{int(torch.unique(edges).numel())} distinct regions); baseline: {uniform_steps} steps × "
            f"{median['baseline']:.1f} s"),
    ]
    return rows


def main(argv: list[str] | None = None) -> int:
    """Parse options, measure, print the table."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--dataset", default="s456", help="s456 (synthetic 456 × 7,380), dk82 or a .h5 path")
    options.add_argument("--model", choices=["smt", "mlp"], default="smt")
    options.add_argument("--sampler", choices=["blocks", "uniform"], default="blocks")
    options.add_argument("--precision", choices=["32", "bf16"], default="32")
    options.add_argument("--threads", type=int, default=2)
    options.add_argument("--epochs", type=int, default=0, help="also N real blocks epochs (median)")
    options.add_argument("--repeats", type=int, default=3, help="timed steps of the step-based rows")
    options.add_argument("--json-out", help="also write the rows to this JSON file")
    options.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    arguments = options.parse_args(argv)
    if arguments.worker:
        torch.set_num_threads(arguments.threads)
        times = real_epochs(arguments.dataset, arguments.model, arguments.sampler, arguments.precision,
                            arguments.epochs)
        print(json.dumps(times))
        return 0
    rows = measure(arguments)
    report("bench_epoch", rows, arguments.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
