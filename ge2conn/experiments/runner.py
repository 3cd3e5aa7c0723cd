"""``ge2conn experiment run``: plan the run grid, make sure the nulls exist, and execute the pending runs.

Runs already finished (a complete ``metrics.json``) are skipped, so an interrupted experiment resumes where
it stopped; failed runs are retried on the next invocation. With ``workers > 1`` the outer splits go to a
``ProcessPoolExecutor`` ('spawn' start method, ``torch.set_num_threads(cores // workers)`` per worker); with
``trainer.devices: gpu`` there is one worker per visible GPU, each seeing only its own device. Workers die
with the runner, and each outer split runs under the locks of its run folders, so two runners never compute
the same run at once (:mod:`ge2conn.experiments.lifetime`).
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h5py
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from ge2conn.experiments.config import ExperimentConfig
from ge2conn.experiments.execution import CellJob, RunOutcome
from ge2conn.experiments.grid import OuterSplit, outer_splits, run_folder, shard
from ge2conn.experiments.lifetime import execute_cell_locked, start_worker
from ge2conn.experiments.storage import EXPERIMENT_FILE, git_commit, is_finished, write_json


@dataclass
class RunSummary:
    """Counts of one ``experiment run`` invocation.

    Attributes:
        total: Runs in this shard.
        skipped: Runs finished before this invocation.
        finished: Runs finished now.
        failed: Runs that failed now (folder and one-line error).
        busy: Runs left to another runner that holds their lock (folder and reason).
    """

    total: int = 0
    skipped: int = 0
    finished: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    busy: list[tuple[str, str]] = field(default_factory=list)


def plan(config: ExperimentConfig, shard_index: int = 0, shard_count: int = 1) -> list[OuterSplit]:
    """The outer splits of a shard (all of them for ``0/1``)."""
    return shard(outer_splits(config), shard_index, shard_count)


def pending_runs(config: ExperimentConfig, cells: list[OuterSplit]) -> list[tuple[OuterSplit, str]]:
    """``(cell, variant)`` of every run without a complete ``metrics.json``."""
    return [(cell, variant) for cell in cells for variant in cell.variants
            if not is_finished(run_folder(config, cell, variant))]


def prepare_nulls(config: ExperimentConfig, datasets: set[str],
                  console: Console | None = None) -> dict[str, str]:
    """Generate (or reuse) the nulls file of each dataset label that has null runs.

    The file is the dataset's default one (``<stem>.nulls.h5`` beside it); an existing file made with the
    same dataset, spin count and seed is reused, so concurrent shards only ever duplicate work, never
    corrupt it (the file is written atomically).

    Args:
        config: The experiment (``nulls.n``, ``nulls.top``, ``nulls.seed``).
        datasets: Dataset labels needing nulls.
        console: Where to say what happened.

    Returns:
        Nulls file path per dataset label.
    """
    from ge2conn.data.catalog import resolve_dataset
    from ge2conn.nulls import ensure_nulls

    paths: dict[str, str] = {}
    for spec in config.datasets:
        if spec.label not in datasets:
            continue
        dataset_path = resolve_dataset(spec.dataset)
        if console is not None:
            console.print(Text(f"nulls for {spec.label}: {config.null_spins} spins, top {config.null_top}, "
                               f"seed {config.null_seed} ..."), soft_wrap=True)
        path = nulls_file_for(config, dataset_path)
        path, reused = ensure_nulls(dataset_path, num_spins=config.null_spins, top=config.null_top,
                                    seed=config.null_seed, output=path)
        if console is not None:
            console.print(Text(f"  {'reused' if reused else 'wrote'} {path}"), soft_wrap=True)
        paths[spec.label] = str(path)
    return paths


def nulls_file_for(config: ExperimentConfig, dataset_path: Path) -> Path:
    """The nulls file an experiment uses for a dataset.

    The dataset's default file (``<stem>.nulls.h5``) when it is missing or was made with the config's
    spin count and seed; otherwise ``<stem>.nulls-n<N>-seed<S>.h5`` beside it, so that an experiment never
    overwrites nulls that a user generated with other settings.

    Args:
        config: The experiment.
        dataset_path: The dataset's ``.h5`` file.

    Returns:
        The path (which may not exist yet).
    """
    from ge2conn.nulls import null_path_for

    default = Path(null_path_for(dataset_path))
    if not default.exists():
        return default
    try:
        with h5py.File(default, "r") as file:
            same = (int(file.attrs["num_spins"]) == config.null_spins
                    and int(file.attrs["seed"]) == config.null_seed)
    except (OSError, KeyError):
        same = False
    if same:
        return default
    return default.with_name(f"{dataset_path.stem}.nulls-n{config.null_spins}-seed{config.null_seed}.h5")


def worker_count(config: ExperimentConfig, requested: int | None) -> tuple[int, list[str] | None]:
    """Number of workers and, on GPU, the device ids to hand out (one worker per visible device)."""
    if config.devices == "gpu":
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        if visible:
            devices = [device.strip() for device in visible.split(",") if device.strip()]
        else:
            import torch

            devices = [str(index) for index in range(torch.cuda.device_count())]
        if not devices:
            raise RuntimeError("trainer.devices is 'gpu' but no CUDA device is visible")
        count = min(len(devices), requested) if requested else len(devices)
        return count, devices[:count]
    return max(1, requested if requested is not None else config.workers), None


def _write_experiment_record(config: ExperimentConfig, commit: str) -> None:
    # Every shard writes the same record; the report reads the model order and names from it.
    write_json(config.output / EXPERIMENT_FILE, {
        "name": config.name,
        "models": [{"key": model.key, "name": model.name} for model in config.models],
        "datasets": [spec.label for spec in config.datasets],
        "splits": list(config.splits),
        "config": config.raw,
        "config_file": str(config.source or ""),
        "git_commit": commit,
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
    })


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("[red]{task.fields[failed]} failed"), TimeElapsedColumn(), TextColumn("ETA"),
                    TimeRemainingColumn(), console=console)


def run_experiment(config: ExperimentConfig, shard_index: int = 0, shard_count: int = 1,
                   workers: int | None = None, console: Console | None = None,
                   prepare_only: bool = False) -> RunSummary:
    """Run (or resume) an experiment, or one shard of it.

    Args:
        config: The experiment.
        shard_index: This shard, ``0 <= shard_index < shard_count``.
        shard_count: Number of shards.
        workers: Parallel workers (default: the config's ``workers``; GPU: one per visible device).
        console: Progress and messages (stderr console by default).
        prepare_only: Only generate the nulls and the experiment record (for a cluster's first job).

    Returns:
        The counts.
    """
    console = console or Console(stderr=True)
    cells = plan(config, shard_index, shard_count)
    pending = pending_runs(config, cells)
    summary = RunSummary(total=sum(len(cell.variants) for cell in cells))
    summary.skipped = summary.total - len(pending)
    commit = git_commit()
    _write_experiment_record(config, commit)
    null_datasets = {cell.dataset for cell in cells if "null" in cell.variants}
    if prepare_only:
        prepare_nulls(config, null_datasets, console)
        return summary
    nulls_paths = prepare_nulls(config, {cell.dataset for cell, variant in pending if variant == "null"},
                                console)
    pending_cells = list(dict.fromkeys(cell for cell, _ in pending))
    # Longest first: with several workers the expensive models should not be the last ones left.
    pending_cells.sort(key=lambda cell: -config.model(cell.model).cost)
    jobs = [CellJob(config, cell, nulls_paths, commit) for cell in pending_cells]
    count, devices = worker_count(config, workers)
    console.print(Text(f"{config.name}: {summary.total} runs in shard {shard_index}/{shard_count}, "
                       f"{summary.skipped} already finished, {len(pending)} to run on {count} worker(s) -> "
                       f"{config.output}"), soft_wrap=True)
    with _progress(console) as progress:
        task = progress.add_task("runs", total=len(pending), failed=0)

        def record(outcome: RunOutcome) -> None:
            if outcome.status == "skipped":
                if outcome.error:  # locked by another runner: not computed here
                    summary.busy.append((outcome.folder, outcome.error))
                    progress.console.print(Text(f"busy: {outcome.error}", style="yellow"), soft_wrap=True)
                    progress.update(task, advance=1)
                return
            if outcome.status == "failed":
                summary.failed.append((outcome.folder, outcome.error))
                progress.console.print(Text(f"failed: {outcome.folder}: {outcome.error}", style="red"),
                                       soft_wrap=True)
            else:
                summary.finished += 1
            progress.update(task, advance=1, failed=len(summary.failed))

        if count == 1 or len(jobs) <= 1:
            _run_in_process(jobs, record, devices)
        else:
            _run_in_pool(jobs, record, count, devices)
    return summary


def available_cores() -> int:
    """CPU cores this process may use (the scheduler's allocation on a cluster node, not the whole node)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _run_in_process(jobs: list[CellJob], record: Any, devices: list[str] | None) -> None:
    if devices:
        os.environ["CUDA_VISIBLE_DEVICES"] = devices[0]
    for job in jobs:
        execute_cell_locked(job, record)


def _run_in_pool(jobs: list[CellJob], record: Any, count: int, devices: list[str] | None) -> None:
    context = multiprocessing.get_context("spawn")
    device_queue: Any = None
    if devices is not None:
        device_queue = context.Queue()
        for device in devices:
            device_queue.put(device)
    threads = max(1, available_cores() // count)
    # Workers die with this process, however it dies (see ge2conn.experiments.lifetime).
    with ProcessPoolExecutor(max_workers=count, mp_context=context, initializer=start_worker,
                             initargs=(os.getpid(), threads, device_queue)) as pool:
        futures: dict[Future[list[RunOutcome]], CellJob] = {pool.submit(execute_cell_locked, job): job
                                                            for job in jobs}
        remaining = set(futures)
        while remaining:
            try:
                done, remaining = wait(remaining, return_when=FIRST_COMPLETED)
            except KeyboardInterrupt:
                # Do not start queued cells; finished runs are on disk and the next invocation resumes.
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            for future in done:
                job = futures[future]
                try:
                    outcomes = future.result()
                except Exception as error:  # noqa: BLE001  (a crashed worker fails its cell's runs only)
                    outcomes = [RunOutcome(str(run_folder(job.config, job.cell, variant)), "failed",
                                           error=f"worker crashed: {type(error).__name__}: {error}")
                                for variant in job.cell.variants
                                if not is_finished(run_folder(job.config, job.cell, variant))]
                for outcome in outcomes:
                    record(outcome)


def describe(config: ExperimentConfig, shard_index: int = 0, shard_count: int = 1) -> list[str]:
    """One line per run of a shard (for ``--dry-run``): folder and status."""
    lines = []
    for cell in plan(config, shard_index, shard_count):
        for variant in cell.variants:
            folder = run_folder(config, cell, variant)
            lines.append(f"{'done   ' if is_finished(folder) else 'pending'} {folder}")
    return lines

