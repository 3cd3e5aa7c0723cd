"""The inner validation set is enlarged to a minimum number of edges (capped), with a warning below it."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from ge2conn.data.datamodule import EdgePairDataModule
from ge2conn.data.splits import validation_size
from ge2conn.data.validation import MAX_VALIDATION_SHARE, regions_for_edges, validation_fraction


@pytest.mark.parametrize("edges", [0, 1, 2, 3, 4, 27, 28, 29, 99, 100, 105, 106, 1000])
def test_regions_for_edges_is_the_smallest_sufficient_count(edges: int) -> None:
    counts = [k for k in range(1, 200) if k * (k - 1) // 2 >= edges]
    assert regions_for_edges(edges) == (0 if edges == 0 else counts[0])


@pytest.mark.parametrize(("outer_train", "fraction", "minimum", "expected_regions"), [
    (61, 0.125, 100, 15),   # dk82 fold 0: 8 regions (28 edges) -> 15 regions (105 edges)
    (61, 0.125, 0, 8),      # the rule off
    (61, 0.4, 100, 24),     # a larger requested share is kept
    (300, 0.125, 100, 38),  # Schaefer-400 sized: already 38 regions (703 edges)
    (18, 0.125, 100, 4),    # the cap: at most a quarter of the outer training regions
])
def test_validation_fraction_reaches_the_minimum_within_the_cap(outer_train: int, fraction: float,
                                                                minimum: int, expected_regions: int) -> None:
    share = validation_fraction(outer_train, fraction, minimum)
    assert share >= fraction
    regions = validation_size(outer_train, share)
    assert regions == expected_regions
    assert regions * (regions - 1) // 2 >= minimum or regions <= MAX_VALIDATION_SHARE * outer_train


def test_datamodule_enlarges_validation_warns_below_the_minimum_and_keeps_the_test_set(
        synthetic_path: Path) -> None:
    with pytest.warns(UserWarning, match="4 regions = 6 edges, fewer than data.min_val_edges=100"):
        enlarged = EdgePairDataModule(str(synthetic_path), min_val_edges=100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plain = EdgePairDataModule(str(synthetic_path))  # off by default
        reached = EdgePairDataModule(str(synthetic_path), min_val_edges=6)
    np.testing.assert_array_equal(enlarged.split.test, plain.split.test)
    assert (plain.split.val.size, enlarged.split.val.size, reached.split.val.size) == (2, 4, 4)
    assert len(enlarged.val_edges) == 6
    assert not set(enlarged.split.val) & set(enlarged.split.train)
