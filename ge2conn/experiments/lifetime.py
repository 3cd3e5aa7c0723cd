"""Worker lifetime and run-folder locks for ``ge2conn experiment run``.

Two guarantees:

- **No orphans.** A pool worker dies with the runner that started it, whatever killed the runner (SIGKILL
  included): on Linux the kernel sends the worker SIGKILL when its parent dies (``prctl(PR_SET_PDEATHSIG)``
  through ctypes), and on every platform a daemon thread polls the parent's PID and exits the worker when
  it changes (the fallback where ``prctl`` is unavailable, and a second line of defence on Linux). Both are
  armed by the pool initializer; a worker still starting up when its runner dies exits as soon as the
  initializer runs and finds its parent gone. Without
  this, workers of a killed runner were adopted by PID 1, kept writing ``metrics.json`` files and then hung
  on their dead result pipe.
- **One runner per run.** Before a worker runs the pending runs of an outer split it takes an exclusive,
  non-blocking lock on a ``.lock`` file in each run folder (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on
  Windows). The operating system releases the lock when the holder exits, however it exits, so a lock never
  outlives its process and no stale lock has to be cleaned up. A second runner (another shard, a rerun
  started by mistake) finds the lock held and leaves the run to its owner.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any

from ge2conn.experiments.execution import CellJob, RunOutcome, execute_cell, initialize_worker
from ge2conn.experiments.grid import run_folder
from ge2conn.experiments.storage import is_finished

LOCK_FILE = ".lock"
"""Name of the lock file in every run folder."""
ORPHAN_EXIT_CODE = 75
"""Exit status of a worker that found its runner gone."""
PARENT_POLL_SECONDS = 1.0
"""How often the fallback thread checks the parent PID."""
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class RunLockedError(RuntimeError):
    """Another process holds the lock of a run folder."""


def _set_parent_death_signal() -> bool:
    """Ask Linux to SIGKILL this process when its parent dies; False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _exit_when_orphaned(parent_pid: int, interval: float) -> None:
    while True:
        if os.getppid() != parent_pid:
            os._exit(ORPHAN_EXIT_CODE)
        time.sleep(interval)


def die_with_parent(parent_pid: int, interval: float = PARENT_POLL_SECONDS) -> None:
    """Make this process exit as soon as the process ``parent_pid`` (its parent) is gone.

    Args:
        parent_pid: PID of the parent that must outlive this process.
        interval: Seconds between two checks of the fallback thread.
    """
    _set_parent_death_signal()
    if os.getppid() != parent_pid:  # the parent died before the death signal was armed
        os._exit(ORPHAN_EXIT_CODE)
    threading.Thread(target=_exit_when_orphaned, args=(parent_pid, interval), daemon=True,
                     name="ge2conn-parent-watch").start()


def start_worker(parent_pid: int, threads: int, devices: Any = None) -> None:
    """Process-pool initializer: tie the worker's life to the runner's, then set threads and device.

    Args:
        parent_pid: The runner's PID (``os.getpid()`` in the runner).
        threads: ``torch.set_num_threads`` value.
        devices: A queue of GPU ids (one taken per worker), or None on CPU.
    """
    die_with_parent(parent_pid)
    initialize_worker(threads, devices)


def _lock_file(handle: IO[bytes]) -> None:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError as error:
            raise BlockingIOError(str(error)) from error
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


@contextmanager
def run_lock(folder: Path) -> Iterator[None]:
    """Hold the exclusive lock of a run folder (created if missing) for the duration of the block.

    Args:
        folder: The run folder.

    Raises:
        RunLockedError: When another process holds the lock.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    with path.open("a+b") as handle:
        try:
            _lock_file(handle)
        except BlockingIOError as error:
            raise RunLockedError(f"{folder} is being computed by another process (it holds {path}); "
                                 f"wait for it, or stop that runner first") from error
        yield  # closing the file releases the lock


def execute_cell_locked(job: CellJob,
                        report: Callable[[RunOutcome], None] | None = None) -> list[RunOutcome]:
    """:func:`execute_cell` under the locks of the cell's unfinished run folders.

    The runs of an outer split share their hyperparameter tuning, so the cell is locked as a whole: when
    another process holds any of its locks, none of its runs is computed here and each unfinished one is
    reported ``skipped`` with the reason.

    Args:
        job: The cell's job.
        report: Called with each run's outcome (in-process execution).

    Returns:
        The outcomes, one per variant.
    """
    folders = [run_folder(job.config, job.cell, variant) for variant in job.cell.variants]
    with ExitStack() as locks:
        try:
            for folder in folders:
                if not is_finished(folder):
                    locks.enter_context(run_lock(folder))
        except RunLockedError as error:
            outcomes = [RunOutcome(str(folder), "skipped", error="" if is_finished(folder) else str(error))
                        for folder in folders]
            for outcome in outcomes:
                if report is not None:
                    report(outcome)
            return outcomes
        return execute_cell(job, report)
