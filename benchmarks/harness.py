"""What every benchmark script of this folder shares: result rows, timing, peak RSS, datasets, the table.

Scripts import these from here (``bench_training.py``, ``bench_epoch.py``, ``bench_inference.py``,
``run_all.py``); ``run_all.py`` collects the rows each script writes with ``--json-out``.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Row:
    """One result row of the benchmark table (all benchmark scripts of this folder emit these)."""

    benchmark: str
    workload: str
    metric: str
    ours: float
    baseline: float | None = None
    unit: str = "s"
    runs: int = 0
    peak_rss_mb: float | None = None
    baseline_rss_mb: float | None = None
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """baseline / ours for times (higher is better for ours), ours / baseline for rates."""
        if self.baseline is None or not self.ours or not self.baseline:
            return None
        return self.ours / self.baseline if self.unit.endswith("/s") else self.baseline / self.ours


def bench_home() -> Path:
    """Where generated benchmark datasets are kept (``$GE2CONN_HOME/bench``)."""
    home = Path(os.environ.get("GE2CONN_HOME", Path.home() / ".cache" / "ge2conn")).expanduser()
    folder = home / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def dataset_path(name: str) -> Path:
    """``s456`` (synthetic, generated once), ``dk82`` (built from the mirror when missing) or a file path."""
    if name == "s456":
        path = bench_home() / "synthetic_s456.h5"
        if not path.exists():
            from benchmarks.make_synthetic_s456 import make_synthetic_s456

            make_synthetic_s456(seed=0).save(path)
        return path
    if name == "dk82":
        from ge2conn.data.catalog import resolve_dataset

        try:
            return Path(resolve_dataset("dk82"))
        except Exception:  # not built yet: build it from the offline mirror
            os.environ.setdefault("GE2CONN_MIRROR", str(REPO.parent / "shared" / "data" / "mirror"))
            from ge2conn.data.recipes import build_dataset

            return Path(build_dataset("dk82"))
    return Path(name)


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB.

    Linux's ``VmHWM`` (the high-water mark of this address space) is preferred: ``getrusage``'s ``ru_maxrss``
    survives ``execve``, so a child started by ``subprocess`` (vfork + exec) reports its parent's peak when
    that is larger.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def synchronize(device: torch.device) -> None:
    """Wait for queued CUDA work so wall-clock timings are honest."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_time(run: Callable[[], object], repeats: int, device: torch.device, warmup: int = 1) -> tuple[
        float, list[float]]:
    """Median wall time of ``repeats`` calls after ``warmup`` untimed calls."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        run()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def run_in_subprocess(script: Path, arguments: list[str]) -> dict[str, Any]:
    """Run ``script --worker-json ...`` in a fresh interpreter (own peak RSS) and parse its last line."""
    environment = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    result = subprocess.run([sys.executable, str(script), *arguments], capture_output=True, text=True,
                            env=environment, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{script.name} {' '.join(arguments)} failed:\n{result.stderr[-2000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def autocast(device: torch.device, precision: str) -> torch.autocast:
    """bf16 autocast when ``precision == "bf16"`` (as Lightning's ``bf16-mixed``), else a disabled one."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def print_rows(rows: list[Row]) -> None:
    """Print rows as a markdown table."""
    print("| benchmark | workload | metric | ge2conn | baseline | ratio | runs "
          "| peak RSS MB (ours / base) | notes |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        baseline = "" if row.baseline is None else f"{row.baseline:.4g} {row.unit}"
        ratio = "" if row.ratio is None else f"{row.ratio:.1f}×"
        rss = " / ".join("" if value is None else f"{value:.0f}" for value in (row.peak_rss_mb,
                                                                             row.baseline_rss_mb))
        print(f"| {row.benchmark} | {row.workload} | {row.metric} | {row.ours:.4g} {row.unit} | {baseline} "
              f"| {ratio} | {row.runs} | {rss} | {row.notes} |")


def emit(rows: list[Row], json_out: str | None) -> None:
    """Print the table and, when asked, write the rows as JSON (run_all.py collects them)."""
    print_rows(rows)
    if json_out:
        Path(json_out).write_text(json.dumps([{**asdict(row), "ratio": row.ratio} for row in rows], indent=1))


def machine_note() -> str:
    """CPU count, torch threads and load, for the table footnotes."""
    return (f"{os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads, "
            f"load average {os.getloadavg()[0]:.1f}")


def report(script: str, rows: list[Row], json_out: str | None) -> None:
    """The end of every script's ``main``: a footnote naming the machine, the table, the optional JSON."""
    print(f"<!-- {script}: {machine_note()} -->")
    emit(rows, json_out)


class EpochTimer(Callback):
    """Wall time of each training epoch, or of each training + validation epoch with ``include_validation``.

    Args:
        include_validation: Stop each epoch's clock after validation (sanity checks excluded) rather than
            at the end of training.
    """

    def __init__(self, include_validation: bool = False) -> None:
        self.include_validation = include_validation
        self.times: list[float] = []
        self.start = 0.0

    def on_train_epoch_start(self, trainer: Trainer, module: LightningModule) -> None:
        self.start = time.perf_counter()

    def on_train_epoch_end(self, trainer: Trainer, module: LightningModule) -> None:
        if not self.include_validation:
            self.times.append(time.perf_counter() - self.start)

    def on_validation_epoch_end(self, trainer: Trainer, module: LightningModule) -> None:
        if self.include_validation and not trainer.sanity_checking:
            self.times.append(time.perf_counter() - self.start)
