from __future__ import annotations

import gzip
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from ge2conn.data.errors import DatasetError
from ge2conn.data.gene_order import is_reference_ordered
from ge2conn.data.genes import (
    load_gene_reference,
    match_genes,
    place_genes,
    read_gene_list,
    read_gene_reference,
)

RESOURCE = Path(__file__).parents[2] / "ge2conn" / "data" / "resources" / "gene_reference.tsv.gz"
PRIMARY = [str(number) for number in range(1, 23)] + ["X", "Y", "MT"]


def test_shipped_reference_is_small_and_complete() -> None:
    assert RESOURCE.stat().st_size < 1_500_000
    reference = load_gene_reference()
    assert len(reference.symbols) > 70_000
    placed = reference.tss >= 0
    assert 25_000 < placed.sum() < 32_000
    assert set(reference.chromosomes[placed]) <= set(PRIMARY)
    assert set(reference.strands[placed]) == {"+", "-"}
    assert (reference.chromosomes[~placed] == "").all()


def test_known_positions_hg38() -> None:
    # Public hg38 facts (UCSC, 0-based starts): APOE is on + strand at chr19:44,905,795; SRY on - strand of Y
    # ending at 2,787,682; XIST on - strand of X ending at 73,852,753.
    reference = load_gene_reference()
    expected = {"APOE": ("19", 44_905_795, "+"), "SRY": ("Y", 2_787_682, "-"), "XIST": ("X", 73_852_753, "-")}
    for symbol, (chromosome, tss, strand) in expected.items():
        row = reference.symbol_index[symbol]
        assert (reference.chromosomes[row], int(reference.tss[row]), reference.strands[row]) == (
            chromosome,
            tss,
            strand,
        )


@pytest.mark.slow  # extracts the 330 MB gene database once per session (~5 s)
def test_positions_match_the_source_database(org_hs_sqlite: Path) -> None:
    """Independent check: recompute the TSS rule in SQL for a few genes straight from org.Hs.eg.db."""
    reference = load_gene_reference()
    connection = sqlite3.connect(f"file:{org_hs_sqlite}?mode=ro", uri=True)
    query = """SELECT c.seqname,
                      MIN(CASE WHEN c.start_location < 0 THEN -c.end_location ELSE c.start_location END)
               FROM chromosome_locations c JOIN gene_info g ON c._id = g._id
               WHERE g.symbol = ? AND c.seqname NOT LIKE '%\\_%' ESCAPE '\\' GROUP BY c.seqname"""
    for symbol in ("TP53", "GAPDH", "PVALB", "SHANK3", "A1BG", "BDNF", "MECP2", "GRIN2B"):
        rows = connection.execute(query, (symbol,)).fetchall()
        assert len(rows) == 1, symbol
        row = reference.symbol_index[symbol]
        assert (reference.chromosomes[row], int(reference.tss[row])) == (rows[0][0], rows[0][1]), symbol
    total = connection.execute("SELECT COUNT(*) FROM gene_info").fetchone()[0]
    connection.close()
    assert total == len(reference.symbols)


def test_matching_is_case_sensitive_then_alias() -> None:
    reference = load_gene_reference()
    match = match_genes(["TP53", "AARS", "Tp53-not-a-gene", "APOE"], reference)
    assert list(match.kind) == ["matched", "alias", "unmatched", "matched"]
    assert match.renamed == {"AARS": "AARS1"}
    assert "tp53" not in reference.symbol_index  # lower-case is not the official symbol
    assert match_genes(["tp53"], reference).kind[0] != "matched"


def test_ambiguous_alias_stays_unplaced() -> None:
    reference = load_gene_reference()
    ambiguous = next(
        alias
        for alias, rows in reference.alias_index.items()
        if len(rows) > 1 and alias not in reference.symbol_index
    )
    placed = place_genes([ambiguous, "APOE"], keep_unplaced=True, reference=reference)
    assert placed.counts["ambiguous"] == 1 and placed.counts["unplaced"] == 1
    assert list(placed.symbols) == ["APOE", ambiguous]  # unplaced last, input symbol kept
    assert placed.tss[-1] == -1 and placed.chromosomes[-1] == ""


def test_alias_of_a_present_gene_is_a_duplicate() -> None:
    placed = place_genes(["AARS1", "AARS"], keep_unplaced=True)
    assert placed.counts["duplicate"] == 1
    assert list(placed.symbols) == ["AARS1"]


def test_place_genes_sorts_by_chromosome_then_tss() -> None:
    symbols = ["XIST", "SRY", "GAPDH", "APOE", "A1BG", "NOT_A_GENE_1", "TP53", "NOT_A_GENE_0", "BDNF"]
    placed = place_genes(symbols, keep_unplaced=True)
    assert is_reference_ordered(list(placed.chromosomes), placed.tss)
    # Independent expectation from public coordinates:
    # 11p (BDNF) < 12p (GAPDH) < 17p (TP53) < 19q (APOE < A1BG) < X < Y.
    assert list(placed.symbols) == [
        "BDNF",
        "GAPDH",
        "TP53",
        "APOE",
        "A1BG",
        "XIST",
        "SRY",
        "NOT_A_GENE_1",
        "NOT_A_GENE_0",
    ]
    assert [symbols[index] for index in placed.columns] == list(placed.symbols)
    dropped = place_genes(symbols, keep_unplaced=False)
    assert "NOT_A_GENE_0" not in dropped.symbols and len(dropped.symbols) == 7


def test_gene_list_reader(tmp_path: Path) -> None:
    path = tmp_path / "genes.txt"
    path.write_text("APOE\n# comment\n\nTP53  # tumour suppressor\nAPOE\n")
    assert read_gene_list(path) == ["APOE", "TP53"]
    (tmp_path / "empty.txt").write_text("\n# nothing\n")
    with pytest.raises(DatasetError, match="empty"):
        read_gene_list(tmp_path / "empty.txt")
    with pytest.raises(DatasetError, match="no such"):
        read_gene_list(tmp_path / "absent.txt")


def test_malformed_reference_table(tmp_path: Path) -> None:
    path = tmp_path / "ref.tsv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("symbol\taliases\tchromosome\ttss\tstrand\nA\t\t1\t5\t+\nB\t1\n")
    with pytest.raises(DatasetError, match="line 3"):
        read_gene_reference(path)
    with gzip.open(path, "wt") as handle:
        handle.write("name\tchromosome\n")
    with pytest.raises(DatasetError, match="expected columns"):
        read_gene_reference(path)
    good = tmp_path / "good.tsv.gz"
    with gzip.open(good, "wt") as handle:
        handle.write("symbol\taliases\tchromosome\ttss\tstrand\nB\tOLD|X1\t2\t10\t-\nA\tX1\t1\t5\t+\n")
    reference = read_gene_reference(good)
    assert reference.alias_index["X1"] == [0, 1]
    np.testing.assert_array_equal(reference.tss, [10, 5])
    assert list(place_genes(["B", "OLD", "A"], keep_unplaced=True, reference=reference).symbols) == ["A", "B"]
