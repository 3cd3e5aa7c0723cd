"""A trained model applied to new data: ``load_model(path_or_name).predict(expression, coordinates)``.

Prediction needs no FC. The input genes are aligned to the model's genes (:func:`ge2conn.data.alignment.
align_genes`), missing ones filled by the recorded policy (:mod:`ge2conn.inference.genes`); coordinates are
given in MNI mm and standardized inside the model with the statistics it was trained with. Every unordered
pair of regions is predicted once, symmetrically ((f(i, j) + f(j, i)) / 2), with each region encoded once
(the region cache).

Diagonal convention: self-connections are not predicted; the diagonal is 0, as in the ENIGMA HCP matrices
the shipped models were trained on and as nilearn's ``plot_matrix``/``plot_connectome`` expect (a finite,
symmetric matrix; they would draw or reject NaN).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ge2conn.data.alignment import GeneAlignment, align_genes
from ge2conn.data.edges import pairs_within
from ge2conn.data.errors import DatasetError
from ge2conn.data.sources import sha256_of
from ge2conn.inference.checkpoint import CARD_ENTRY, load_checkpoint
from ge2conn.inference.genes import DEFAULT_MAX_MISSING_FRACTION, FILL_POLICY, TrainingGenes, training_genes
from ge2conn.inference.inputs import RegionInputs, prepare_inputs
from ge2conn.inference.registry import resolve_model
from ge2conn.models.base import EdgeRegressionTask
from ge2conn.utils.version import __version__

PAIRS_PER_BATCH = 16384
"""Region pairs decoded per forward pass (bounds memory; every region is still encoded once)."""


@dataclass
class Prediction:
    """A predicted connectome with what it was predicted from.

    Attributes:
        connectivity: (R, R) float32 symmetric prediction, diagonal 0.
        labels: (R,) region labels (regions without expression are left out).
        coordinates: (R, 3) MNI centroids in mm.
        alignment: How the input genes were matched to the model's.
        dropped_regions: Labels of input regions without expression (not predicted).
        provenance: Checkpoint path and sha256, model name and class, ge2conn version.
    """

    connectivity: np.ndarray
    labels: np.ndarray
    coordinates: np.ndarray
    alignment: GeneAlignment
    dropped_regions: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The prediction as a labelled R × R table (labels as index and columns)."""
        index = pd.Index(self.labels, name="label")
        return pd.DataFrame(self.connectivity, index=index, columns=index.rename(None))

    def gene_report(self) -> dict[str, Any]:
        """The gene-matching report: counts, renamed and missing genes, fill policy (JSON-serializable)."""
        return {
            **self.alignment.counts(),
            "renamed_genes": self.alignment.renamed,
            "missing_genes": self.alignment.missing_genes,
            "fill_policy": FILL_POLICY if self.alignment.missing_genes else "none needed",
            "dropped_regions": self.dropped_regions,
        }


class PretrainedModel:
    """A trained ge2conn model that predicts connectomes from expression and coordinates alone.

    Build it with :func:`load_model`.

    Args:
        task: The trained task (eval mode).
        genes: The genes it reads and their fill values.
        checkpoint: Path of the checkpoint it came from.
        name: Short name (the checkpoint's stem).
        card: The checkpoint's model card entry (empty when it has none).
    """

    def __init__(
        self,
        task: EdgeRegressionTask,
        genes: TrainingGenes,
        checkpoint: Path,
        name: str,
        card: dict[str, Any] | None = None,
    ) -> None:
        self.task = task.eval()
        self.genes = genes
        self.checkpoint = checkpoint
        self.name = name
        self.card = dict(card or {})

    def __repr__(self) -> str:
        return (
            f"PretrainedModel(name={self.name!r}, task={type(self.task).__name__}, "
            f"genes={self.genes.symbols.size}, trained_on={self.genes.dataset!r})"
        )

    @property
    def gene_symbols(self) -> list[str]:
        """The model's genes, in the order it reads them."""
        return self.genes.symbols.tolist()

    def align(
        self,
        gene_symbols: Sequence[str],
        max_missing_fraction: float = DEFAULT_MAX_MISSING_FRACTION,
        source: str = "expression",
    ) -> GeneAlignment:
        """Match an input's gene symbols to the model's genes, enforcing the missing-gene limit.

        Args:
            gene_symbols: The input's gene symbols (its expression columns).
            max_missing_fraction: Largest share of the model's genes that may be missing (then filled with
                their training mean).
            source: Name of the expression input in messages.

        Returns:
            The alignment.

        Raises:
            DatasetError: when more than ``max_missing_fraction`` of the model's genes are missing.
        """
        alignment = align_genes(gene_symbols, self.genes.symbols)
        if alignment.missing_fraction > max_missing_fraction:
            counts = alignment.counts()
            raise DatasetError(
                source,
                "<genes>",
                f"{counts['missing']} of the {counts['model_genes']} genes of model '{self.name}' are "
                f"missing "
                f"({alignment.missing_fraction:.0%} > the {max_missing_fraction:.0%} allowed; first missing: "
                f"{alignment.missing_genes[:5]}; {counts['matched']} matched, {counts['renamed']} renamed)",
                "use a model trained on genes you have (`ge2conn models list`), or raise --max-missing "
                "knowing that missing genes are filled with their training mean",
            )
        return alignment

    def _tensors(self, inputs: RegionInputs, alignment: GeneAlignment) -> tuple[torch.Tensor, torch.Tensor]:
        expression = alignment.apply(inputs.expression, self.genes.fill_values)
        return torch.from_numpy(expression), torch.from_numpy(inputs.coordinates.astype(np.float32))

    def predict_connectome(
        self,
        expression: pd.DataFrame,
        coordinates: pd.DataFrame,
        max_missing_fraction: float = DEFAULT_MAX_MISSING_FRACTION,
        sources: tuple[str, str] = ("expression", "coordinates"),
    ) -> Prediction:
        """Predict the whole connectome and keep the gene report and provenance (what the CLI writes).

        Args:
            expression: Regions × genes, indexed by region label.
            coordinates: Columns x, y, z in MNI mm, indexed by region label.
            max_missing_fraction: Largest share of the model's genes that may be missing.
            sources: Names of the two inputs in messages (file names).

        Returns:
            The prediction.
        """
        inputs = prepare_inputs(expression, coordinates, *sources)
        alignment = self.align(inputs.gene_symbols.tolist(), max_missing_fraction, sources[0])
        expression_tensor, coordinate_tensor = self._tensors(inputs, alignment)
        pairs = torch.from_numpy(pairs_within(np.arange(inputs.labels.size)))
        values = []
        with torch.no_grad(), self.task.network.region_cache():
            for batch in torch.split(pairs, PAIRS_PER_BATCH):
                values.append(
                    self.task(expression_tensor, coordinate_tensor, batch[:, 0], batch[:, 1]).float()
                )
        matrix = np.zeros((inputs.labels.size, inputs.labels.size), dtype=np.float32)
        rows, cols = pairs[:, 0].numpy(), pairs[:, 1].numpy()
        predicted = torch.cat(values).numpy() if values else np.zeros(0, dtype=np.float32)
        matrix[rows, cols] = predicted
        matrix[cols, rows] = predicted
        return Prediction(
            matrix, inputs.labels, inputs.coordinates, alignment, inputs.dropped, self.provenance()
        )

    def predict(
        self,
        expression: pd.DataFrame,
        coordinates: pd.DataFrame,
        max_missing_fraction: float = DEFAULT_MAX_MISSING_FRACTION,
    ) -> pd.DataFrame:
        """Predict the functional connectome of any parcellation from its expression and coordinates.

        Args:
            expression: Regions × genes, indexed by region label (e.g. abagen's ``get_expression_data``
                output; genes are matched by symbol, aliases included).
            coordinates: Columns x, y, z (MNI mm), indexed by the same labels; sets the region order.
            max_missing_fraction: Largest share of the model's genes that may be missing (filled with their
                training mean); more is an error.

        Returns:
            Labelled R × R predicted FC (symmetric, diagonal 0); regions without expression are left out.
        """
        return self.predict_connectome(expression, coordinates, max_missing_fraction).to_frame()

    def embed(
        self,
        expression: pd.DataFrame,
        coordinates: pd.DataFrame,
        max_missing_fraction: float = DEFAULT_MAX_MISSING_FRACTION,
    ) -> pd.DataFrame:
        """Region embeddings z_i (SMT, bilinear and PLS models; MLPs and distance rules have none).

        Args:
            expression: Regions × genes, indexed by region label.
            coordinates: Columns x, y, z (MNI mm), indexed by the same labels.
            max_missing_fraction: Largest share of the model's genes that may be missing.

        Returns:
            Regions × embedding dimensions, indexed by label.

        Raises:
            TypeError: when the model has no region embedding.
        """
        inputs = prepare_inputs(expression, coordinates)
        alignment = self.align(inputs.gene_symbols.tolist(), max_missing_fraction)
        expression_tensor, coordinate_tensor = self._tensors(inputs, alignment)
        with torch.no_grad():
            embeddings = self.task.region_embeddings(expression_tensor, coordinate_tensor).float().numpy()
        return pd.DataFrame(embeddings, index=pd.Index(inputs.labels, name="label"))

    def provenance(self) -> dict[str, Any]:
        """Checkpoint path and sha256, model name and class, training dataset, ge2conn version."""
        return {
            "checkpoint": str(self.checkpoint),
            "checkpoint_sha256": sha256_of(self.checkpoint),
            "model": self.name,
            "task": type(self.task).__name__,
            "trained_on": self.genes.dataset,
            "ge2conn_version": __version__,
        }


def load_model(path_or_name: str | Path) -> PretrainedModel:
    """Load a trained model for prediction on new data.

    Args:
        path_or_name: A checkpoint file, or the name of a shipped model (``ge2conn models list``).

    Returns:
        The model, on the CPU in evaluation mode.

    Raises:
        CheckpointError: when the checkpoint cannot be read.
        DatasetError: when its genes are unknown (see :mod:`ge2conn.inference.genes`).
    """
    path = resolve_model(path_or_name)
    loaded = load_checkpoint(path)
    num_genes = int(loaded.task.hparams.get("num_genes", 0))
    genes = training_genes(loaded.entries, loaded.datamodule_hparams, path, num_genes)
    return PretrainedModel(loaded.task, genes, path, path.stem, loaded.entries.get(CARD_ENTRY))
