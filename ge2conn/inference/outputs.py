"""Write a predicted connectome with its region labels, atomically.

Formats, chosen by the output's suffix:

- ``.csv`` / ``.tsv``: the R × R matrix with region labels as header row and index column.
- ``.h5``: ``/prediction`` (R × R float32), ``/labels``, ``/coordinates`` (R × 3, MNI mm), and attributes
  ``gene_report`` and ``provenance`` (JSON: gene-matching counts, renamed and missing genes, fill policy;
  checkpoint path and sha256, ge2conn version).
- ``.npy``: the bare float32 matrix (what nilearn's ``plot_matrix`` / ``plot_connectome`` take), with the
  labels beside it in ``<stem>_labels.txt`` (one per line, in matrix order).

Every format keeps the diagonal convention of :mod:`ge2conn.inference.model`: self-connections are 0.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from ge2conn.inference.model import Prediction
from ge2conn.utils.atomic import atomic_output

OUTPUT_SUFFIXES = (".csv", ".tsv", ".h5", ".hdf5", ".npy")


def write_prediction(path: str | Path, prediction: Prediction) -> list[Path]:
    """Write a prediction in the format named by the file's suffix.

    Args:
        path: Destination (``.csv``, ``.tsv``, ``.h5``/``.hdf5`` or ``.npy``).
        prediction: The prediction.

    Returns:
        The files written.

    Raises:
        ValueError: for another suffix.
    """
    destination = Path(path)
    suffix = destination.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise ValueError(f"{destination}: unknown output format '{suffix}'; use one of {OUTPUT_SUFFIXES}")
    if suffix in {".csv", ".tsv"}:
        with atomic_output(destination) as temporary:
            prediction.to_frame().to_csv(
                temporary, sep="\t" if suffix == ".tsv" else ",", float_format="%.6g"
            )
        return [destination]
    if suffix in {".h5", ".hdf5"}:
        with atomic_output(destination) as temporary, h5py.File(temporary, "w") as file:
            file.create_dataset("prediction", data=prediction.connectivity.astype(np.float32))
            file.create_dataset("labels", data=prediction.labels.astype(object), dtype=h5py.string_dtype())
            file.create_dataset("coordinates", data=prediction.coordinates.astype(np.float64))
            file.attrs["gene_report"] = json.dumps(prediction.gene_report())
            file.attrs["provenance"] = json.dumps(prediction.provenance)
            file.attrs["diagonal"] = "0 (self-connections are not predicted)"
        return [destination]
    labels_path = destination.with_name(f"{destination.stem}_labels.txt")
    with atomic_output(destination) as temporary, temporary.open("wb") as handle:
        np.save(handle, prediction.connectivity.astype(np.float32))
    with atomic_output(labels_path) as temporary:
        temporary.write_text("\n".join(prediction.labels.tolist()) + "\n", encoding="utf-8")
    return [destination, labels_path]
