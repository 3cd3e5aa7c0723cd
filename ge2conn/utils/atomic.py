"""Atomic file writes: write next to the destination under a temporary name, then rename.

A crash or an error while writing never leaves a half-written file at the destination, and never touches a
file already there. A write killed outright (SIGKILL, power loss) cannot clean up after itself, so its
hidden temporary file stays behind; the next write to the same destination removes it. Temporary names
carry the writer's host and process id (``.NAME.HOST-PID.RANDOM.tmp``) so that only files of writers that
are gone are removed, never the file of a concurrent writer.
"""

from __future__ import annotations

import errno
import glob
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ge2conn.utils.errors import OutputError

__all__ = ["OutputError", "atomic_output", "remove_stale_temporaries"]

STALE_FOREIGN_SECONDS = 24 * 3600.0
"""Age after which a temporary file of another host (or of an older ge2conn without ids) counts as stale."""


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    except OSError:
        return False
    return True


def remove_stale_temporaries(destination: str | Path, suffix: str = ".tmp") -> list[Path]:
    """Delete the temporary files that killed writes to ``destination`` left behind.

    A temporary file is stale when its writer ran on this host and is no longer running, or when it is
    older than :data:`STALE_FOREIGN_SECONDS` and was written on another host or by a writer that did not
    record its id.

    Args:
        destination: The final file whose leftovers to remove.
        suffix: Suffix of the temporary files (as given to :func:`atomic_output`).

    Returns:
        The removed paths.
    """
    target = Path(destination)
    if not target.parent.is_dir():
        return []
    pattern = re.compile(
        re.escape(f".{target.name}.")
        + r"(?:(?P<host>[A-Za-z0-9]+)-(?P<pid>\d+)\.)?.+"
        + re.escape(suffix)
        + "$"
    )
    host, now, removed = _host(), time.time(), []
    for candidate in target.parent.glob(f".{glob.escape(target.name)}.*{glob.escape(suffix)}"):
        match = pattern.fullmatch(candidate.name)
        if match is None:
            continue
        if match["pid"] is not None and match["host"] == host:
            stale = int(match["pid"]) != os.getpid() and not _process_alive(int(match["pid"]))
        else:
            try:
                stale = now - candidate.stat().st_mtime > STALE_FOREIGN_SECONDS
            except FileNotFoundError:
                continue
        if stale:
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


@contextmanager
def atomic_output(destination: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path in the destination's folder; rename it over the destination on success.

    Leftovers of earlier killed writes to the same destination are removed first
    (:func:`remove_stale_temporaries`).

    Args:
        destination: The final file.
        suffix: Suffix of the temporary file (it starts with ``.<name>.`` so it is hidden).

    Yields:
        The temporary path to write to. It is deleted if the block raises.

    Raises:
        OutputError: when the destination's folder cannot be created or written, or the write fails with an
            operating-system error (the message names the destination, not the temporary file).
    """
    target = Path(destination)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(target, suffix)
        handle, name = tempfile.mkstemp(
            prefix=f".{target.name}.{_host()}-{os.getpid()}.", suffix=suffix, dir=target.parent
        )
    except OSError as error:
        raise _output_error(target, error) from error
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        umask = os.umask(0)
        os.umask(umask)
        temporary.chmod(0o666 & ~umask)  # mkstemp creates 0600; give the file the permissions open() would
        os.replace(temporary, target)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        if isinstance(error, OutputError) or not _is_write_failure(error):
            raise
        raise _output_error(target, error) from error
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


_WRITE_ERRNOS = (
    errno.ENOENT,
    errno.EACCES,
    errno.EPERM,
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EROFS,
    errno.ENOTDIR,
    errno.EISDIR,
)


def _is_write_failure(error: OSError) -> bool:
    # Only failures of the filesystem we write to become OutputErrors. h5py reports them as plain OSErrors
    # with the errno in the text ("errno = 13"), so check both.
    return error.errno in _WRITE_ERRNOS or any(f"errno = {code}," in str(error) for code in _WRITE_ERRNOS)


def _output_error(target: Path, error: OSError) -> OutputError:
    reason = error.strerror or str(error).split("(")[0].strip() or type(error).__name__
    return OutputError(
        f"{target}: cannot write the output ({reason}). Fix: choose a writable folder (e.g. with --output) "
        "or free disk space"
    )
