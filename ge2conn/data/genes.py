"""The shipped gene reference (symbols, aliases, hg38 TSS) and matching of dataset gene symbols to it.

The reference, ``ge2conn/data/resources/gene_reference.tsv.gz``, is built by
``scripts/build_gene_reference.py`` from Bioconductor's org.Hs.eg.db (Entrez Gene 2022-09, UCSC hg38).
A gene's TSS is the smallest 5'-end coordinate over its primary-assembly transcripts (the end coordinate
for minus-strand transcripts); see that script for the full reading of method §1.

Matching (:func:`match_genes`): a symbol matches an official symbol case-sensitively; failing that, it
matches through the alias table when exactly one gene carries that alias (an alias shared by several genes
is ambiguous and the symbol stays unplaced). A gene is *placed* when it matched a reference gene that has a
primary-assembly position.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ge2conn.data.errors import DatasetError
from ge2conn.data.gene_order import UNKNOWN_TSS, reference_order
from ge2conn.data.paths import RESOURCES

REFERENCE_RESOURCE = "gene_reference.tsv.gz"
_COLUMNS = ["symbol", "aliases", "chromosome", "tss", "strand"]
_REBUILD_REFERENCE = "reinstall ge2conn or rebuild the table with scripts/build_gene_reference.py"


@dataclass(frozen=True)
class GeneReference:
    """Reference genes with positions, and a lookup from symbols and aliases.

    Attributes:
        symbols: (n,) official symbols.
        chromosomes: (n,) chromosome names, "" when the gene has no primary-assembly position.
        tss: (n,) transcription start sites (``UNKNOWN_TSS`` when unknown).
        strands: (n,) "+", "-" or "".
        symbol_index: official symbol → row.
        alias_index: alias → rows of every gene carrying it.
    """

    symbols: np.ndarray
    chromosomes: np.ndarray
    tss: np.ndarray
    strands: np.ndarray
    symbol_index: dict[str, int]
    alias_index: dict[str, list[int]]


def read_gene_reference(path: str | Path) -> GeneReference:
    """Read a gene reference table (gzip TSV with columns symbol, aliases, chromosome, tss, strand).

    Args:
        path: The ``.tsv.gz`` file.

    Returns:
        The reference.

    Raises:
        DatasetError: when the table is malformed.
    """
    source = Path(path)
    try:
        with gzip.open(source, "rt", encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, EOFError) as error:
        raise DatasetError(source, "<file>", f"cannot be read ({error})", _REBUILD_REFERENCE) from error
    if not lines or lines[0].split("\t") != _COLUMNS:
        raise DatasetError(source, "<header>", f"expected columns {_COLUMNS}", _REBUILD_REFERENCE)
    symbols, chromosomes, tss, strands = [], [], [], []
    symbol_index: dict[str, int] = {}
    alias_index: dict[str, list[int]] = {}
    for row, line in enumerate(lines[1:]):
        fields = line.split("\t")
        if len(fields) != len(_COLUMNS):
            raise DatasetError(
                source,
                f"line {row + 2}",
                f"expected {len(_COLUMNS)} fields, got {len(fields)}",
                _REBUILD_REFERENCE,
            )
        symbol, aliases, chromosome, position, strand = fields
        symbols.append(symbol)
        chromosomes.append(chromosome)
        tss.append(int(position))
        strands.append(strand)
        # Entrez has a handful of duplicated official symbols; the first (lowest Entrez id) wins.
        symbol_index.setdefault(symbol, row)
        for alias in filter(None, aliases.split("|")):
            alias_index.setdefault(alias, []).append(row)
    return GeneReference(
        np.array(symbols),
        np.array(chromosomes),
        np.array(tss, dtype=np.int64),
        np.array(strands),
        symbol_index,
        alias_index,
    )


@lru_cache(maxsize=1)
def load_gene_reference() -> GeneReference:
    """The reference table shipped with the package (read once per process).

    Returns:
        The reference.
    """
    return read_gene_reference(RESOURCES / REFERENCE_RESOURCE)


@dataclass
class GeneMatch:
    """How a list of dataset gene symbols maps onto the reference.

    Attributes:
        symbols: (g,) the input symbols.
        reference_rows: (g,) matched reference row, -1 when unmatched or ambiguous.
        kind: (g,) "matched" (official symbol), "alias" (renamed through an alias), "ambiguous",
            "unmatched", or "duplicate" (an alias that resolves to a gene already present).
        renamed: input symbol → official symbol, for alias matches.
    """

    symbols: np.ndarray
    reference_rows: np.ndarray
    kind: np.ndarray
    renamed: dict[str, str] = field(default_factory=dict)

    def placed(self, reference: GeneReference) -> np.ndarray:
        """Boolean mask of genes matched to a reference gene with a known position."""
        rows = np.where(self.reference_rows >= 0, self.reference_rows, 0)
        return (self.reference_rows >= 0) & (reference.tss[rows] >= 0)

    def counts(self, reference: GeneReference) -> dict[str, int]:
        """Counts for the build report: matched, renamed (alias), unplaced and their causes.

        Args:
            reference: The reference used for matching.

        Returns:
            ``{"input", "matched", "renamed", "unplaced", "unmatched", "ambiguous", "duplicate",
            "no_position"}``; ``matched`` and ``renamed`` count placed genes only, ``unplaced`` is the rest.
        """
        placed = self.placed(reference)
        found = self.reference_rows >= 0
        return {
            "input": int(len(self.symbols)),
            "matched": int((placed & (self.kind == "matched")).sum()),
            "renamed": int((placed & (self.kind == "alias")).sum()),
            "unplaced": int((~placed).sum()),
            "unmatched": int((self.kind == "unmatched").sum()),
            "ambiguous": int((self.kind == "ambiguous").sum()),
            "duplicate": int((self.kind == "duplicate").sum()),
            "no_position": int((found & ~placed).sum()),
        }


def match_genes(symbols: Sequence[str], reference: GeneReference | None = None) -> GeneMatch:
    """Match gene symbols to the reference: official symbols first, then unambiguous aliases.

    Args:
        symbols: Dataset gene symbols (unique).
        reference: Reference to match against (default: the shipped one).

    Returns:
        The match. An alias whose gene is also present under its official symbol (or reached by an earlier
        alias) is marked "duplicate" so that no reference gene appears twice.
    """
    reference = reference or load_gene_reference()
    names = np.asarray(list(symbols), dtype=str)
    rows = np.full(len(names), -1, dtype=np.int64)
    kind = np.full(len(names), "unmatched", dtype=object)
    for position, name in enumerate(names):
        if name in reference.symbol_index:
            rows[position] = reference.symbol_index[name]
            kind[position] = "matched"
    taken = set(rows[rows >= 0].tolist())
    renamed: dict[str, str] = {}
    for position, name in enumerate(names):
        if kind[position] == "matched":
            continue
        candidates = reference.alias_index.get(name, [])
        if len(candidates) > 1:
            kind[position] = "ambiguous"
        elif len(candidates) == 1:
            if candidates[0] in taken:
                kind[position] = "duplicate"
                continue
            rows[position] = candidates[0]
            kind[position] = "alias"
            taken.add(candidates[0])
            renamed[str(name)] = str(reference.symbols[candidates[0]])
    return GeneMatch(names, rows, kind.astype(str), renamed)


@dataclass(frozen=True)
class PlacedGenes:
    """Genes ready for a dataset: which input columns to keep, in reference order, with their positions.

    Attributes:
        columns: (k,) indices into the input gene columns, in reference order.
        symbols: (k,) official symbols (alias matches renamed; unplaced genes keep their input symbol).
        chromosomes: (k,) chromosome names ("" when unknown).
        tss: (k,) TSS (``UNKNOWN_TSS`` when unknown).
        strands: (k,) strands.
        counts: Matching counts (see :meth:`GeneMatch.counts`).
        renamed: input symbol → official symbol for alias matches that were kept.
    """

    columns: np.ndarray
    symbols: np.ndarray
    chromosomes: np.ndarray
    tss: np.ndarray
    strands: np.ndarray
    counts: dict[str, int]
    renamed: dict[str, str]


def place_genes(
    symbols: Sequence[str], keep_unplaced: bool, reference: GeneReference | None = None
) -> PlacedGenes:
    """Match symbols to the reference and sort them into reference (chromosome, TSS) order.

    Args:
        symbols: Dataset gene symbols (unique).
        keep_unplaced: Keep genes without a position (they go last, in input order); otherwise drop them.
            Duplicates (aliases of genes already present) are always dropped.
        reference: Reference to match against (default: the shipped one).

    Returns:
        The kept genes in reference order.
    """
    reference = reference or load_gene_reference()
    match = match_genes(symbols, reference)
    placed = match.placed(reference)
    keep = placed | (keep_unplaced & (match.kind != "duplicate"))
    columns = np.flatnonzero(keep)
    rows = match.reference_rows[columns]
    has_row = rows >= 0
    safe_rows = np.where(has_row, rows, 0)
    official = np.where(has_row, reference.symbols[safe_rows], match.symbols[columns])
    chromosomes = np.where(placed[columns], reference.chromosomes[safe_rows], "")
    tss = np.where(placed[columns], reference.tss[safe_rows], UNKNOWN_TSS).astype(np.int64)
    strands = np.where(placed[columns], reference.strands[safe_rows], "")
    order = reference_order(list(chromosomes), tss)
    kept_symbols = set(match.symbols[columns].tolist())
    renamed = {alias: name for alias, name in match.renamed.items() if alias in kept_symbols}
    return PlacedGenes(
        columns[order],
        official[order].astype(str),
        chromosomes[order].astype(str),
        tss[order],
        strands[order].astype(str),
        match.counts(reference),
        renamed,
    )


def read_gene_list(path: str | Path) -> list[str]:
    """Read a gene list: one symbol per line (blank lines and ``#`` comments ignored).

    Args:
        path: Text file.

    Returns:
        The symbols, in file order, without duplicates.

    Raises:
        DatasetError: when the file is missing or empty.
    """
    source = Path(path)
    if not source.is_file():
        raise DatasetError(
            source, "<file>", "no such gene list", "give a text file with one gene symbol per line"
        )
    names = [line.split("#", 1)[0].strip() for line in source.read_text(encoding="utf-8").splitlines()]
    unique = list(dict.fromkeys(name for name in names if name))
    if not unique:
        raise DatasetError(source, "<file>", "the gene list is empty", "put one gene symbol per line")
    return unique
