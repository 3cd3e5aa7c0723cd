from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import stats
from scipy.spatial.distance import pdist

from benchmarks.make_synthetic_s456 import main, make_synthetic_s456
from ge2conn.data.format import BrainDataset


def test_layout_and_statistics(s456: BrainDataset) -> None:
    assert s456.expression.shape == (456, 7380)
    cortex = s456.structure == "cortex"
    assert cortex.sum() == 400 and (s456.hemisphere[cortex] == "L").sum() == 200
    assert (s456.structure == "subcortex").sum() == 46 and (s456.structure == "cerebellum").sum() == 10
    np.testing.assert_allclose(np.linalg.norm(s456.sphere[cortex], axis=1), 1.0)
    assert np.isnan(s456.sphere[~cortex]).all()
    left = cortex & (s456.hemisphere == "L")
    assert (s456.centroids[left, 0] < 0).all() and (s456.centroids[cortex & ~left, 0] > 0).all()
    assert 0.0 <= s456.expression.min() and s456.expression.max() <= 1.0
    first, second = np.triu_indices(456, k=1)
    fc = s456.connectivity[first, second]
    assert fc.min() >= -0.2 and fc.max() <= 1.4 and 0.05 < fc.mean() < 0.3
    # Spatially smooth expression: correlated gene expression falls with distance.
    distance = pdist(s456.centroids)
    coexpression = np.corrcoef(s456.expression)[first, second]
    assert stats.spearmanr(distance, coexpression).statistic < -0.2
    assert coexpression[distance < 15].mean() > coexpression[distance > 60].mean() + 0.3
    # FC decays with distance and is higher within networks.
    assert stats.spearmanr(distance, fc).statistic < -0.2
    same_network = (s456.network[first] == s456.network[second]) & cortex[first] & cortex[second]
    assert fc[same_network].mean() > fc[~same_network & cortex[first] & cortex[second]].mean()


def test_deterministic_and_written_by_the_command_line(s456: BrainDataset, tmp_path: Path) -> None:
    assert main([str(tmp_path / "s456.h5")]) == 0
    loaded = BrainDataset.load(tmp_path / "s456.h5")
    np.testing.assert_array_equal(loaded.expression, s456.expression)
    np.testing.assert_array_equal(loaded.connectivity, s456.connectivity)
    np.testing.assert_array_equal(loaded.region_labels, s456.region_labels)
    other = make_synthetic_s456(seed=1)
    assert not np.array_equal(other.expression, s456.expression)
