"""Gene alignment of an input table to a model's genes (official symbols, aliases, missing genes)."""

from __future__ import annotations

import numpy as np
import pytest

from ge2conn.data.alignment import align_genes
from ge2conn.data.genes import load_gene_reference


def unique_aliases(count: int) -> list[tuple[str, str]]:
    """(alias, official symbol) pairs whose alias names exactly one gene and is no official symbol."""
    reference = load_gene_reference()
    pairs = []
    for alias, rows in sorted(reference.alias_index.items()):
        if (
            len(rows) == 1
            and alias not in reference.symbol_index
            and alias.upper() == alias
            and alias.isalnum()
        ):
            pairs.append((alias, str(reference.symbols[rows[0]])))
        if len(pairs) == count:
            break
    return pairs


def test_exact_renamed_and_missing_genes() -> None:
    (alias_a, official_a), (alias_b, official_b) = unique_aliases(2)
    model = np.array(["GAPDH", official_a, "ACTB", official_b, "MADE_UP_GENE"])
    inputs = ["ACTB", alias_a, "GAPDH", "UNRELATED", "MADE_UP_GENE"]
    alignment = align_genes(inputs, model)
    assert alignment.status.tolist() == ["matched", "renamed", "matched", "missing", "matched"]
    assert alignment.input_columns.tolist() == [2, 1, 0, -1, 4]
    assert alignment.renamed == {alias_a: official_a}
    assert alignment.missing_genes == [official_b]
    assert alignment.counts() == {
        "model_genes": 5,
        "matched": 3,
        "renamed": 1,
        "missing": 1,
        "input_genes": 5,
        "input_unused": 1,
    }
    values = np.arange(15, dtype=float).reshape(3, 5)
    fill = np.array([-1.0, -2.0, -3.0, -4.0, -5.0])
    expected = np.stack([values[:, 2], values[:, 1], values[:, 0], np.full(3, -4.0), values[:, 4]], axis=1)
    np.testing.assert_array_equal(alignment.apply(values, fill), expected)
    with pytest.raises(ValueError, match="no fill values"):
        alignment.apply(values)


def test_official_symbol_wins_over_an_alias_of_the_same_gene() -> None:
    ((alias, official),) = unique_aliases(1)
    alignment = align_genes([alias, official], [official])
    assert alignment.status.tolist() == ["matched"] and alignment.input_columns.tolist() == [1]
    assert alignment.counts()["input_unused"] == 1


def test_duplicated_input_symbols_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicated"):
        align_genes(["A1BG", "A1BG"], ["A1BG"])
