"""The nulls file (HDF5, next to its dataset) and the API the datamodule uses to read one null.

Layout (format version 1)::

    /                     attrs: format = "ge2conn-nulls", format_version, algorithm_version, seed,
                                 num_spins, top, bin_width, dataset_fingerprint, dataset_name
    /regions/label        (r,)      str      regions the permutations index (after dropping empty ones)
    /bins/lower_edge      (b,)      float64  lower edge of each non-empty 5 mm distance bin
    /bins/count           (b,)      int64    region pairs per bin
    /bins/distance        (b,)      float64  mean pair distance per bin (the curves' x values)
    /true/curve           (b,)      float64  binned CGE of the true brain
    /true/exponential     (2,)      float64  SA_lambda (mm), SA_inf
    /true/cubic           (4,)      float64  a1..a4 of a1 d³ + a2 d² + a3 d + a4 (d in mm)
    /spins/permutation    (n, r)    int32    X_null = X[permutation]
    /spins/rotation       (n, 3, 3) float64  left-hemisphere rotation
    /spins/reassignment_cost (n,)   float64  total Váša reassignment distance (mm)
    /spins/exponential    (n, 2)    float64
    /spins/cubic          (n, 4)    float64
    /spins/curve          (n, b)    float64  binned CGE of each null
    /spins/error          (n,)      float64  summed absolute z-difference to the true brain
    /spins/rank           (n,)      int64    0 = lowest error
    /top                  (K,)      int64    spin index of ranks 0..K-1
    /random/permutation   (r,)      int64    a plain uniform permutation (figure contrast)
    /random/curve         (b,)      float64
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import h5py
import numpy as np

from ge2conn.data.errors import DatasetError
from ge2conn.data.format import BrainDataset
from ge2conn.data.paths import datasets_dir
from ge2conn.nulls.generate import ALGORITHM_VERSION, NullSet, dataset_fingerprint, generate_nulls
from ge2conn.utils.atomic import atomic_output

FORMAT = "ge2conn-nulls"
FORMAT_VERSION = 1


def generate_command(nulls_path: str | Path, options: str = "") -> str:
    """The ``ge2conn nulls generate`` command that (re)writes this nulls file, with the real dataset name.

    Args:
        nulls_path: A nulls file ``<stem>.nulls.h5`` (see :func:`null_path_for`).
        options: Extra options, e.g. ``"--force"``.

    Returns:
        The command, naming the dataset by name when it is a built dataset, else by its path.
    """
    path = Path(nulls_path)
    dataset = path.with_name(path.name.removesuffix(".nulls.h5") + ".h5")
    target = dataset.stem if dataset.parent.resolve() == datasets_dir().resolve() else str(dataset)
    return f"`ge2conn nulls generate {target}{' ' + options if options else ''}`"


def _regenerate(path: Path) -> str:
    return f"regenerate it with {generate_command(path, '--force')}"


def null_path_for(dataset_path: str | Path) -> Path:
    """Default location of a dataset's nulls file: ``<stem>.nulls.h5`` next to the dataset.

    Args:
        dataset_path: The dataset's ``.h5`` file.

    Returns:
        The nulls file path (which may not exist yet).
    """
    path = Path(dataset_path)
    return path.with_name(f"{path.stem}.nulls.h5")


def save_nulls(nulls: NullSet, path: str | Path, dataset_name: str = "") -> Path:
    """Write a nulls file atomically (temporary file in the same folder, then rename).

    Args:
        nulls: The scored nulls.
        path: Destination file.
        dataset_name: Name recorded for humans.

    Returns:
        The destination path.
    """
    destination = Path(path)
    with atomic_output(destination) as temporary, h5py.File(temporary, "w") as file:
        _write(file, nulls, dataset_name)
    return destination


def _write(file: h5py.File, nulls: NullSet, dataset_name: str) -> None:
    file.attrs.update({
        "format": FORMAT, "format_version": FORMAT_VERSION, "algorithm_version": ALGORITHM_VERSION,
        "seed": nulls.seed, "num_spins": nulls.num_spins, "top": nulls.top, "bin_width": nulls.bin_width,
        "dataset_fingerprint": nulls.dataset_fingerprint, "dataset_name": dataset_name,
    })
    file.create_dataset("regions/label", data=np.asarray(nulls.region_labels, dtype=object),
                        dtype=h5py.string_dtype())
    arrays = {
        "bins/lower_edge": nulls.bin_lower_edges, "bins/count": nulls.bin_counts,
        "bins/distance": nulls.bin_distance, "true/curve": nulls.true_curve,
        "true/exponential": nulls.true_parameters[:2], "true/cubic": nulls.true_parameters[2:6],
        "spins/rotation": nulls.rotations, "spins/reassignment_cost": nulls.parameters[:, 6],
        "spins/exponential": nulls.parameters[:, :2], "spins/cubic": nulls.parameters[:, 2:6],
        "spins/curve": nulls.curves, "spins/error": nulls.error, "spins/rank": nulls.rank,
        "top": nulls.top_spins, "random/permutation": nulls.random_permutation,
        "random/curve": nulls.random_curve,
    }
    for key, values in arrays.items():
        file.create_dataset(key, data=np.asarray(values))
    # One chunk per block of spins: reading one null touches one small chunk, not the whole table.
    permutations = np.asarray(nulls.permutations, dtype=np.int32)
    file.create_dataset("spins/permutation", data=permutations, compression="gzip", shuffle=True,
                        chunks=(min(64, permutations.shape[0]), permutations.shape[1]))


def _open(path: Path) -> h5py.File:
    if not path.exists():
        raise DatasetError(path, "<file>", "no such nulls file",
                           f"generate it with {generate_command(path)}")
    try:
        file = h5py.File(path, "r")
    except OSError as error:
        raise DatasetError(path, "<file>", f"cannot be read as HDF5 ({error})", _regenerate(path)) from error
    if file.attrs.get("format") != FORMAT or file.attrs.get("format_version") != FORMAT_VERSION:
        file.close()
        raise DatasetError(path, "format", f"not a ge2conn nulls file of format version {FORMAT_VERSION}",
                           _regenerate(path))
    return file


def load_nulls(path: str | Path) -> NullSet:
    """Read a whole nulls file.

    Args:
        path: The nulls file.

    Returns:
        The nulls.

    Raises:
        DatasetError: when the file is missing, unreadable or not a nulls file.
    """
    source = Path(path)
    with _open(source) as file:
        try:
            def read(key: str) -> np.ndarray:
                return np.asarray(file[key][()])

            parameters = np.concatenate([read("spins/exponential"), read("spins/cubic"),
                                         read("spins/reassignment_cost")[:, None]], axis=1)
            return NullSet(
                region_labels=np.asarray(file["regions/label"].asstr()[()], dtype=str),
                dataset_fingerprint=str(file.attrs["dataset_fingerprint"]),
                seed=int(file.attrs["seed"]),
                top=int(file.attrs["top"]),
                bin_width=float(file.attrs["bin_width"]),
                bin_lower_edges=read("bins/lower_edge"),
                bin_counts=read("bins/count"),
                bin_distance=read("bins/distance"),
                true_curve=read("true/curve"),
                true_parameters=np.concatenate([read("true/exponential"), read("true/cubic"), [0.0]]),
                permutations=read("spins/permutation").astype(np.int64),
                rotations=read("spins/rotation"),
                curves=read("spins/curve"),
                parameters=parameters,
                error=read("spins/error"),
                rank=read("spins/rank"),
                random_permutation=read("random/permutation"),
                random_curve=read("random/curve"),
            )
        except KeyError as error:
            raise DatasetError(source, "<file>", f"missing field ({error})", _regenerate(source)) from error


def matches(path: str | Path, fingerprint: str, num_spins: int, seed: int) -> bool:
    """Whether an existing nulls file was made from this dataset with these arguments and this algorithm.

    Args:
        path: The nulls file.
        fingerprint: :func:`ge2conn.nulls.generate.dataset_fingerprint` of the dataset.
        num_spins: Number of spins asked for.
        seed: Seed asked for.

    Returns:
        False when the file is missing, unreadable or made differently.
    """
    try:
        with _open(Path(path)) as file:
            return (file.attrs.get("algorithm_version") == ALGORITHM_VERSION
                    and file.attrs.get("dataset_fingerprint") == fingerprint
                    and file.attrs.get("num_spins") == num_spins and file.attrs.get("seed") == seed)
    except DatasetError:
        return False


def load_null_permutation(nulls_path: str | Path, rank: int,
                          region_labels: Sequence[str] | np.ndarray) -> np.ndarray:
    """The permutation of the null of a given rank, checked against the regions it will be applied to.

    Args:
        nulls_path: The nulls file (see :func:`null_path_for`).
        rank: 0 = lowest-error null; must be below the file's K.
        region_labels: Labels of the dataset's regions, in the order the permutation will index.

    Returns:
        (r,) int64 permutation: ``X_null = X[permutation]`` (region i gets the expression of region
        ``permutation[i]``).

    Raises:
        DatasetError: when the file is missing or unreadable, was made for other regions, or the rank is
            not one of the K kept nulls.
    """
    path = Path(nulls_path)
    with _open(path) as file:
        stored = np.asarray(file["regions/label"].asstr()[()], dtype=str)
        expected = np.asarray(list(region_labels), dtype=str)
        if stored.shape != expected.shape or not np.array_equal(stored, expected):
            if stored.shape != expected.shape:
                problem = f"made for {stored.size} regions, but the dataset has {expected.size}"
            else:
                first = int(np.flatnonzero(stored != expected)[0])
                problem = (f"made for other regions (region {first} is '{stored[first]}' in the nulls file "
                           f"but '{expected[first]}' in the dataset)")
            raise DatasetError(path, "regions/label", problem, _regenerate(path))
        top = int(file.attrs["top"])
        if isinstance(rank, bool) or not isinstance(rank, int | np.integer) or not 0 <= rank < top:
            raise DatasetError(path, "top", f"null rank {rank!r} is not one of the {top} kept nulls "
                               f"(ranks 0..{top - 1})", f"use a rank below {top}, or keep more nulls "
                               f"({generate_command(path, '--top K --force')})")
        spin = int(file["top"][rank])
        return np.asarray(file["spins/permutation"][spin], dtype=np.int64)


def ensure_nulls(dataset_path: str | Path, num_spins: int = 10_000, top: int = 10, seed: int = 0,
                 output: str | Path | None = None, force: bool = False,
                 progress: Callable[[int], None] | None = None) -> tuple[Path, bool]:
    """Generate a dataset's nulls file, or reuse the existing one when it was made the same way.

    A file is reused when its dataset fingerprint, number of spins, seed and algorithm version match; a
    different ``top`` only re-labels which ranks are kept (ranks do not depend on K), so the file is
    rewritten without recomputing any spin.

    Args:
        dataset_path: The dataset's ``.h5`` file.
        num_spins: Number of spins N.
        top: Number K of lowest-error nulls kept.
        seed: Random seed (non-negative).
        output: Nulls file; defaults to :func:`null_path_for` of the dataset.
        force: Regenerate even when a matching file exists.
        progress: Called with the number of spins finished after each chunk.

    Returns:
        ``(path, reused)``.
    """
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    destination = Path(output) if output is not None else null_path_for(dataset_path)
    dataset = BrainDataset.load(dataset_path, individual=False)
    fingerprint = dataset_fingerprint(dataset)
    if not force and matches(destination, fingerprint, num_spins, seed):
        existing = load_nulls(destination)
        if existing.top == top:
            return destination, True
        if not 1 <= top <= existing.num_spins:
            raise ValueError(f"top must be between 1 and the number of spins ({num_spins}), got {top}")
        existing.top = top
        return save_nulls(existing, destination, dataset.name), True
    nulls = generate_nulls(dataset, num_spins=num_spins, top=top, seed=seed, progress=progress)
    return save_nulls(nulls, destination, dataset.name), False
