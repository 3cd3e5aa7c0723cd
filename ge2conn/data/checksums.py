"""Content checksums of the arrays stored in a dataset file (format version 2 and later).

Every HDF5 dataset of a ge2conn file carries an attribute ``sha256``: the SHA-256 of its dtype, shape and
contents (little-endian bytes for numbers, UTF-8 text for strings). It is written when the file is built or
imported and checked whenever the array is read, so one flipped byte anywhere (a centroid, an FC entry) is an
error naming the field instead of a silently wrong result. Files of format version 1 have no checksums; they
still load, with a note suggesting a rebuild.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from ge2conn.data.errors import DatasetError

CHECKSUM_ATTRIBUTE = "sha256"
FIRST_CHECKSUMMED_VERSION = 2
"""The first format version whose arrays all carry a checksum."""


def array_checksum(values: np.ndarray) -> str:
    """The SHA-256 of an array's dtype, shape and contents, independent of byte order and memory layout.

    Args:
        values: A numeric array, or an array of strings.

    Returns:
        The hex digest.
    """
    array = np.asarray(values)
    digest = hashlib.sha256()
    if array.dtype.kind in "OUS":
        digest.update(f"str{array.shape}".encode())
        for item in array.ravel():
            text = item.decode("utf-8") if isinstance(item, bytes) else str(item)
            digest.update(text.encode("utf-8") + b"\x00")
    else:
        little = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
        digest.update(f"{little.dtype.str}{little.shape}".encode())
        digest.update(little.tobytes())
    return digest.hexdigest()


def store_array(file: h5py.File, key: str, values: np.ndarray, **options: object) -> None:
    """Create an HDF5 dataset and record the checksum of exactly what was written.

    Args:
        file: The open file.
        key: Dataset path inside the file.
        values: The array (object/str arrays are stored as variable-length UTF-8 strings).
        **options: Passed to :meth:`h5py.Group.create_dataset` (chunks, compression, ...).
    """
    array = np.asarray(values)
    if array.dtype.kind in "OUS":
        strings = np.asarray([str(item) for item in array.ravel()], dtype=object).reshape(array.shape)
        dataset = file.create_dataset(key, data=strings, dtype=h5py.string_dtype(), **options)
    else:
        dataset = file.create_dataset(key, data=array, **options)
    dataset.attrs[CHECKSUM_ATTRIBUTE] = array_checksum(array)


def verify_array(source: str | Path, key: str, dataset: h5py.Dataset, values: np.ndarray) -> None:
    """Compare the array read from ``dataset`` with its stored checksum.

    Args:
        source: The file (for the message).
        key: Dataset path (for the message).
        dataset: The HDF5 dataset (holds the ``sha256`` attribute).
        values: What was read from it (before any conversion).

    Raises:
        DatasetError: when the checksum is missing or differs.
    """
    stored = dataset.attrs.get(CHECKSUM_ATTRIBUTE)
    if stored is None:
        raise DatasetError(
            source,
            key,
            "no content checksum although the format version requires one",
            "the file was written by another program; rebuild it with `ge2conn data build "
            "NAME` or `ge2conn data import ...`",
        )
    computed = array_checksum(values)
    if str(stored) != computed:
        raise DatasetError(
            source,
            key,
            f"contents do not match the stored checksum (stored sha256 "
            f"{str(stored)[:12]}…, contents {computed[:12]}…): the file was modified or "
            "corrupted after it was written",
            "delete it and rebuild it (`ge2conn data build NAME` or `ge2conn data import ...`)",
        )


def stored_format_version(path: str | Path) -> int:
    """The ``format_version`` attribute of a dataset file (0 when absent or unreadable)."""
    try:
        with h5py.File(path, "r") as file:
            return int(file.attrs.get("format_version", 0))
    except (OSError, ValueError, TypeError):
        return 0


@dataclass(frozen=True)
class ChecksumReport:
    """The outcome of verifying every array of a file.

    Attributes:
        format_version: The file's format version.
        verified: Dataset paths whose contents match their checksum.
        unchecked: Dataset paths without a checksum (every one of a version-1 file).
    """

    format_version: int
    verified: tuple[str, ...]
    unchecked: tuple[str, ...]


def verify_file(path: str | Path) -> ChecksumReport:
    """Read every array of a dataset file and check it against its checksum.

    Args:
        path: The ``.h5`` file.

    Returns:
        Which arrays were verified and which carry no checksum.

    Raises:
        DatasetError: on the first array whose contents differ from its checksum, or when the file cannot be
            read.
    """
    source = Path(path)
    keys: list[str] = []
    try:
        with h5py.File(source, "r") as file:
            version = int(file.attrs.get("format_version", 0))
            file.visititems(lambda name, item: keys.append(name) if isinstance(item, h5py.Dataset) else None)
            verified, unchecked = [], []
            for key in sorted(keys):
                dataset = file[key]
                if CHECKSUM_ATTRIBUTE not in dataset.attrs and version < FIRST_CHECKSUMMED_VERSION:
                    unchecked.append(key)
                    continue
                values = dataset.asstr()[()] if dataset.dtype.kind == "O" else dataset[()]
                verify_array(source, key, dataset, np.asarray(values))
                verified.append(key)
    except (OSError, KeyError, ValueError) as error:
        if isinstance(error, DatasetError):
            raise
        raise DatasetError(
            source,
            "<file>",
            f"cannot be read as HDF5 ({error})",
            "the file is truncated or corrupt; delete it and rebuild it",
        ) from error
    return ChecksumReport(version, tuple(verified), tuple(unchecked))
