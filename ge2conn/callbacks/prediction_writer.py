"""Write the full predicted connectome (and optionally embeddings and attention maps) after ``predict``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from torch import Tensor

from ge2conn.callbacks.edge_predictions import gather_uneven
from ge2conn.callbacks.figures import describe_run
from ge2conn.data.protocol import require_edge_data
from ge2conn.data.region_table import RegionMetadata
from ge2conn.figures import connectome_figure, save_figure
from ge2conn.utils.atomic import atomic_output
from ge2conn.utils.labelled_output import region_table_path, write_labelled_matrix, write_region_table


def atomic_save_array(path: Path, array: np.ndarray) -> None:
    """Save a ``.npy`` file atomically (temporary file in the same folder, then rename).

    Args:
        path: Destination.
        array: The array.
    """
    with atomic_output(path) as temporary, temporary.open("wb") as file:
        np.save(file, array)


class ConnectomeWriter(Callback):
    """Assemble ``predict`` outputs into an (R, R) matrix; write .npy, .h5, .tsv or .csv (labelled).

    ``.tsv``/``.csv`` hold the matrix with region labels as header row and index column; beside a ``.npy``,
    ``.tsv`` or ``.csv`` a node table ``<stem>_regions.tsv`` gives each region's label, MNI coordinates,
    hemisphere, structure and network (:mod:`ge2conn.utils.labelled_output`); an ``.h5`` holds the same
    ``labels`` and ``coordinates``.

    Args:
        output: Destination file (``.npy``, ``.h5``, ``.tsv`` or ``.csv``); nothing is written when None.
        embeddings: Also write region embeddings (``<stem>_embeddings.npy``) for models that have them.
        attention: Also write head-averaged attention maps per layer (``<stem>_attention.npy``; SMT only).
        plot: Also draw the predicted vs true connectome of every region pair (``<stem>.png``; see
            :func:`ge2conn.figures.connectome_figure`).
    """

    def __init__(self, output: str | None = None, embeddings: bool = False, attention: bool = False,
                 plot: bool = False) -> None:
        self.output = output
        self.embeddings = embeddings
        self.attention = attention
        self.plot = plot
        self._parts: list[dict[str, Tensor]] = []

    def on_predict_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Forget earlier predictions."""
        self._parts = []

    def on_predict_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        """Keep this batch's (rows, cols, prediction)."""
        if self.output is not None and isinstance(outputs, dict):
            self._parts.append({key: outputs[key].detach() for key in ("rows", "cols", "prediction")})

    def on_predict_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Gather predictions from every rank and write the matrix on rank zero."""
        if self.output is None:
            return
        dtypes = {"rows": torch.long, "cols": torch.long, "prediction": torch.float32}
        # Every rank joins the gathers, also one whose shard of pairs was empty.
        columns = {
            key: gather_uneven(
                pl_module,
                torch.cat([part[key] for part in self._parts])
                if self._parts
                else torch.zeros(0, dtype=dtype, device=pl_module.device),
            )
            for key, dtype in dtypes.items()
        }
        datamodule = require_edge_data(trainer, "ConnectomeWriter")
        regions = datamodule.region_tensors(pl_module.device)
        extras: dict[str, np.ndarray] = {}
        if self.embeddings:
            with torch.no_grad():
                extras["embeddings"] = (
                    pl_module.region_embeddings(  # type: ignore[operator]
                        regions["expression"], regions["coordinates"]
                    )
                    .float()
                    .cpu()
                    .numpy()
                )
        network: Any = getattr(pl_module, "network", None)
        if self.attention and hasattr(network, "attention_maps"):
            with torch.no_grad():
                index = torch.arange(regions["expression"].shape[0], device=pl_module.device)
                maps = network.attention_maps(regions["expression"], regions["coordinates"], index)
                extras["attention"] = (
                    torch.stack([layer.float().mean(dim=(0, 1)) for layer in maps]).cpu().numpy()
                )
        if not trainer.is_global_zero:
            return
        size = int(regions["expression"].shape[0])
        matrix = np.full((size, size), np.nan, dtype=np.float32)
        rows = columns["rows"].cpu().numpy()
        cols = columns["cols"].cpu().numpy()
        values = columns["prediction"].float().cpu().numpy()
        matrix[rows, cols] = values
        matrix[cols, rows] = values
        metadata = datamodule.region_metadata
        labels = np.asarray(metadata.labels, dtype=str)
        path = Path(self.output)
        if path.suffix in {".h5", ".hdf5"}:
            extras["coordinates"] = np.asarray(metadata.centroids, dtype=np.float64)
        self.write(path, matrix, labels, extras)
        if path.suffix not in {".h5", ".hdf5"}:
            write_regions(path, metadata)
        if self.plot:
            layout, quantity, title = describe_run(trainer, pl_module, "predict")
            target = regions["connectivity"].float().cpu().numpy()[rows, cols]
            figure = connectome_figure(rows, cols, values, target, layout=layout, title=title,
                                       quantity=quantity)
            save_figure(figure, path.with_suffix(".png"))

    @staticmethod
    def write(path: Path, matrix: np.ndarray, labels: np.ndarray, extras: dict[str, np.ndarray]) -> None:
        """Write the matrix (and extras) atomically.

        Args:
            path: ``.npy``, ``.tsv`` or ``.csv`` (extras go beside it as ``<stem>_<name>.npy``) or ``.h5``
                (one file).
            matrix: (R, R) predicted connectome, NaN where no prediction was made (the diagonal).
            labels: (R,) region labels.
            extras: Named extra arrays (embeddings, attention).
        """
        if path.suffix in {".h5", ".hdf5"}:
            with atomic_output(path) as temporary, h5py.File(temporary, "w") as file:
                file.create_dataset("prediction", data=matrix)
                file.create_dataset("labels", data=labels.astype(object), dtype=h5py.string_dtype())
                for name, array in extras.items():
                    file.create_dataset(name, data=array)
            return
        if path.suffix.lower() in {".tsv", ".csv"}:
            write_labelled_matrix(path, matrix, labels.tolist())
            path = path.with_suffix(".npy")  # extras stay arrays: <stem>_<name>.npy
        else:
            atomic_save_array(path, matrix)
        for name, array in extras.items():
            atomic_save_array(path.with_name(f"{path.stem}_{name}.npy"), array)


def write_regions(path: Path, metadata: RegionMetadata) -> Path:
    """The node table beside a written connectome: ``<stem>_regions.tsv`` with coordinates and metadata.

    Args:
        path: The connectome file just written (``.npy``, ``.tsv`` or ``.csv``).
        metadata: The datamodule's region metadata (labels, centroids, hemisphere, structure, network).

    Returns:
        The node table's path.
    """
    hemisphere = np.array(["M", "L", "R"])[np.asarray(metadata.hemisphere_codes) + 1]
    network = np.asarray(metadata.network_names, dtype=object)[np.asarray(metadata.network_codes)]
    columns = {"hemisphere": hemisphere.tolist(), "structure": [str(value) for value in metadata.structure],
               "network": [str(value) for value in network]}
    return write_region_table(region_table_path(path), [str(label) for label in metadata.labels],
                              metadata.centroids, columns)
