"""Aligning one gene table to the genes a model (or another dataset) expects.

Two uses share this module:

- Applying a trained model to new expression data (:func:`align_genes`): the input's gene symbols are
  matched to the model's genes — case-sensitively, then through the gene reference's official symbols and
  unambiguous aliases (:func:`ge2conn.data.genes.match_genes`) — and the input's columns are put in the
  model's (reference TSS) order. Genes the input lacks are reported; :meth:`GeneAlignment.apply` fills them
  with a value per gene (e.g. the training mean) when the caller allows it.
- Transfer between two built datasets (:func:`shared_genes`): both files hold official symbols in reference
  order already, so their shared genes are an exact symbol intersection in the source's order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ge2conn.data.genes import GeneReference, load_gene_reference, match_genes

DEFAULT_MIN_SHARED_GENES = 100
"""Fewest shared genes a transfer accepts (fewer would make the source model a different model)."""


class TooFewSharedGenesError(ValueError):
    """Two datasets share too few genes for a model trained on one to be applied to the other."""


def shared_genes(source_symbols: np.ndarray, target_symbols: np.ndarray) -> np.ndarray:
    """Gene symbols present in both datasets, in the source's (reference) order.

    Args:
        source_symbols: (g_s,) the source's gene symbols, in reference order.
        target_symbols: (g_t,) the target's gene symbols.

    Returns:
        (g,) shared symbols, case-sensitive match.
    """
    source = np.asarray(source_symbols, dtype=str)
    return source[np.isin(source, np.asarray(target_symbols, dtype=str))]


def check_shared_genes(source: str, target: str, shared: np.ndarray, min_genes: int) -> None:
    """Refuse a transfer whose datasets share fewer than ``min_genes`` genes.

    Args:
        source: Source dataset name (for the message).
        target: Target dataset name.
        shared: The shared symbols.
        min_genes: Threshold.

    Raises:
        TooFewSharedGenesError: when ``shared.size < min_genes``.
    """
    if shared.size < min_genes:
        raise TooFewSharedGenesError(
            f"{source} → {target}: only {shared.size} shared gene symbols (need at least {min_genes}); the "
            "datasets' expression tables cover different genes. Lower --min-genes only if a model on so few "
            "genes is what you mean to test"
        )


@dataclass(frozen=True)
class GeneAlignment:
    """Where each of a model's genes is found in an input gene table.

    Attributes:
        model_genes: (G,) the model's gene symbols, in the model's order.
        input_columns: (G,) int64 column of the input table holding each model gene, -1 when missing.
        status: (G,) ``"matched"`` (same symbol), ``"renamed"`` (found under another symbol that the gene
            reference maps to the same gene: an alias or a different case of an official symbol) or
            ``"missing"``.
        input_symbols: (G,) the input symbol used for each model gene ("" when missing).
        num_input_genes: Number of gene columns in the input.
    """

    model_genes: np.ndarray
    input_columns: np.ndarray
    status: np.ndarray
    input_symbols: np.ndarray
    num_input_genes: int

    @property
    def missing_genes(self) -> list[str]:
        """Model genes absent from the input, in the model's order."""
        return self.model_genes[self.status == "missing"].tolist()

    @property
    def renamed(self) -> dict[str, str]:
        """Input symbol → model symbol, for genes found under another symbol."""
        rows = np.flatnonzero(self.status == "renamed")
        return {str(self.input_symbols[row]): str(self.model_genes[row]) for row in rows}

    @property
    def missing_fraction(self) -> float:
        """Share of the model's genes that the input lacks."""
        return float((self.status == "missing").mean()) if self.status.size else 0.0

    def counts(self) -> dict[str, int]:
        """Counts for the gene-matching report.

        Returns:
            ``{"model_genes", "matched", "renamed", "missing", "input_genes", "input_unused"}``; unused input
            genes are columns the model does not read.
        """
        found = int((self.status != "missing").sum())
        return {
            "model_genes": int(self.model_genes.size),
            "matched": int((self.status == "matched").sum()),
            "renamed": int((self.status == "renamed").sum()),
            "missing": int((self.status == "missing").sum()),
            "input_genes": self.num_input_genes,
            "input_unused": self.num_input_genes - found,
        }

    def apply(self, expression: np.ndarray, fill_values: np.ndarray | None = None) -> np.ndarray:
        """Reorder input expression columns to the model's genes, filling missing genes.

        Args:
            expression: (R, num_input_genes) input expression.
            fill_values: (G,) value per model gene used for missing genes (e.g. the training mean); required
                when any gene is missing.

        Returns:
            (R, G) float32 expression in the model's gene order.

        Raises:
            ValueError: when genes are missing and no fill values are given, or shapes disagree.
        """
        values = np.asarray(expression)
        if values.ndim != 2 or values.shape[1] != self.num_input_genes:
            raise ValueError(
                f"expected expression of shape (regions, {self.num_input_genes}), got {values.shape}"
            )
        missing = self.input_columns < 0
        if missing.any() and fill_values is None:
            raise ValueError(f"{int(missing.sum())} model genes are missing and no fill values were given")
        aligned = np.empty((values.shape[0], self.model_genes.size), dtype=np.float32)
        aligned[:, ~missing] = values[:, self.input_columns[~missing]]
        if missing.any():
            fill = np.asarray(fill_values, dtype=np.float32)
            if fill.shape != (self.model_genes.size,):
                raise ValueError(f"fill_values must have shape ({self.model_genes.size},), got {fill.shape}")
            aligned[:, missing] = fill[missing]
        return aligned


def align_genes(
    input_symbols: Sequence[str] | np.ndarray,
    model_genes: Sequence[str] | np.ndarray,
    reference: GeneReference | None = None,
) -> GeneAlignment:
    """Find each model gene among the input's gene columns.

    A model gene is found under its own symbol first (case-sensitive). Otherwise, the input symbols are
    mapped to official symbols of the gene reference (official symbols case-sensitively, then unambiguous
    aliases; see :func:`match_genes`), and a model gene is found through the official symbol both share.

    Args:
        input_symbols: (g,) gene symbols of the input table (unique).
        model_genes: (G,) gene symbols the model expects, in its order.
        reference: Gene reference (default: the shipped one).

    Returns:
        The alignment.

    Raises:
        ValueError: when the input has duplicated symbols.
    """
    names = [str(name) for name in input_symbols]
    duplicated = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicated:
        raise ValueError(f"duplicated gene symbols in the input: {duplicated[:5]}")
    reference = reference or load_gene_reference()
    exact = {name: column for column, name in enumerate(names)}
    input_match = match_genes(names, reference)
    by_official: dict[str, int] = {}
    for column, row in enumerate(input_match.reference_rows.tolist()):
        if row >= 0:
            by_official.setdefault(str(reference.symbols[row]), column)
    wanted = [str(name) for name in model_genes]
    model_match = match_genes(wanted, reference)
    columns = np.full(len(wanted), -1, dtype=np.int64)
    status = np.full(len(wanted), "missing", dtype=object)
    used: set[int] = set()
    for position, name in enumerate(wanted):
        if name in exact:
            columns[position], status[position] = exact[name], "matched"
            used.add(exact[name])
    for position, row in enumerate(model_match.reference_rows.tolist()):
        if status[position] != "missing" or row < 0:
            continue
        found = by_official.get(str(reference.symbols[row]))
        if found is not None and found not in used:
            columns[position], status[position] = found, "renamed"
            used.add(found)
    symbols = np.array([names[column] if column >= 0 else "" for column in columns.tolist()], dtype=str)
    return GeneAlignment(np.array(wanted, dtype=str), columns, status.astype(str), symbols, len(names))
