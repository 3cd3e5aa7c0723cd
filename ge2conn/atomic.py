"""Atomic file writes: write next to the destination under a temporary name, then rename.

A crash or an error while writing never leaves a half-written file at the destination, and never touches a
file already there.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_output(destination: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path in the destination's folder; rename it over the destination on success.

    Args:
        destination: The final file.
        suffix: Suffix of the temporary file (it starts with ``.<name>.`` so it is hidden).

    Yields:
        The temporary path to write to. It is deleted if the block raises.
    """
    target = Path(destination)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        umask = os.umask(0)
        os.umask(umask)
        temporary.chmod(0o666 & ~umask)  # mkstemp creates 0600; give the file the permissions open() would
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
