"""The affine-invariant geodesic metric against pyRiemann's ``distance_riemann`` and ``Shrinkage``.

Relative differences seen when these tests were written (pyRiemann 0.12, float64): ≤ 1.1e-12 on random SPD
pairs up to 68 × 68 with condition numbers to 1e4, 4.6e-10 at 200 × 200 with condition 1e6 (where pyRiemann,
ge2conn and ``scipy.linalg.eigh(A, B)`` all disagree by ~1e-9: the problem's own conditioning), so the
tolerance scales with the condition number.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch

from ge2conn.metrics import affine_invariant_distance, geodesic_distance, shrink_to_spd
from tests.ecosystem.atlases import ENIGMA_DATASETS, import_or_skip

ALPHA = 0.1
RELATIVE_TOLERANCE = 1e-10
"""For the well-conditioned regularized connectomes (eigenvalues in [α, ~m])."""


def riemann_distance() -> ModuleType:
    """pyRiemann's distance module (``geometry`` from 0.12 on, ``utils`` before)."""
    import_or_skip("pyriemann", "the SPD geometry the geodesic metric must match")
    try:
        return import_or_skip("pyriemann.geometry.distance", "pyRiemann ≥ 0.12")
    except pytest.skip.Exception:
        return import_or_skip("pyriemann.utils.distance", "pyRiemann < 0.12")


def random_spd(size: int, condition: float, generator: np.random.Generator) -> np.ndarray:
    basis, _ = np.linalg.qr(generator.standard_normal((size, size)))
    eigenvalues = np.geomspace(1.0, condition, size) * generator.uniform(0.5, 2.0)
    return (basis * eigenvalues) @ basis.T


def hcp_connectome(mirror: Path, name: str) -> np.ndarray:
    path = mirror / ENIGMA_DATASETS / "matrices" / "hcp_connectivity" / f"funcMatrix_{name}.csv"
    matrix = np.loadtxt(path, delimiter=",")
    matrix = (matrix + matrix.T) / 2
    np.fill_diagonal(matrix, 1.0)
    return matrix


@pytest.mark.parametrize(("size", "condition"), [(2, 10.0), (10, 1e3), (68, 1e4), (200, 1e6)])
def test_affine_invariant_distance_equals_distance_riemann(size: int, condition: float) -> None:
    distance = riemann_distance()
    generator = np.random.default_rng(size)
    first, second = random_spd(size, condition, generator), random_spd(size, condition, generator)
    ours = affine_invariant_distance(torch.from_numpy(first), torch.from_numpy(second)).item()
    theirs = float(distance.distance_riemann(first, second))
    tolerance = max(1e-12, 1e-14 * condition)
    assert ours == pytest.approx(theirs, rel=tolerance)
    assert affine_invariant_distance(torch.from_numpy(second), torch.from_numpy(first)).item() == (
        pytest.approx(theirs, rel=tolerance))


def test_shrinkage_of_a_correlation_matrix_equals_pyriemann_shrinkage() -> None:
    """For a positive semidefinite unit-diagonal matrix ge2conn's regularization is pyRiemann's Shrinkage
    ((1 − α) C + α tr(C)/n I, and tr(C)/n = 1)."""
    estimation = import_or_skip("pyriemann.estimation", "the SPD regularization the metric must match")
    data = np.random.default_rng(0).standard_normal((300, 40))
    correlation = np.corrcoef(data, rowvar=False)
    ours = shrink_to_spd(torch.from_numpy(correlation), ALPHA).numpy()
    theirs = estimation.Shrinkage(shrinkage=ALPHA).fit_transform(correlation[None])[0]
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


@pytest.mark.mirror
@pytest.mark.parametrize("name", ["ctx", "ctx_schaefer_100"])
def test_geodesic_metric_on_hcp_connectomes_equals_pyriemann_after_regularization(
        mirror_path: Path, name: str) -> None:
    """The whole metric (edges → matrices → unit diagonal → SPD → distance) on a real connectome and a
    noisy prediction of it equals ``distance_riemann`` of the regularized matrices. Where ge2conn differs
    on purpose: the unit-diagonal HCP matrices are indefinite (negatives zeroed, Fisher z), so
    ``distance_riemann`` of the raw matrices is NaN or raises; ge2conn clips negative eigenvalues before
    shrinking (method.md §6)."""
    distance = riemann_distance()
    true = hcp_connectome(mirror_path, name)
    noise = np.random.default_rng(1).normal(scale=0.05, size=true.shape)
    predicted = true + (noise + noise.T) / 2
    np.fill_diagonal(predicted, 1.0)
    assert np.linalg.eigvalsh(true).min() < 0  # indefinite, as loaded
    with np.errstate(invalid="ignore"):  # log of negative generalized eigenvalues
        try:
            raw = float(distance.distance_riemann(true, predicted))
        except np.linalg.LinAlgError:  # the second matrix is not positive definite
            raw = float("nan")
    assert np.isnan(raw)
    rows, cols = np.triu_indices(true.shape[0], k=1)
    ours = geodesic_distance(torch.from_numpy(predicted[rows, cols]), torch.from_numpy(true[rows, cols]),
                             torch.from_numpy(rows), torch.from_numpy(cols), shrinkage=ALPHA).item()
    regularized = [shrink_to_spd(torch.from_numpy(matrix), ALPHA).numpy() for matrix in (true, predicted)]
    theirs = float(distance.distance_riemann(*regularized))
    assert ours == pytest.approx(theirs, rel=RELATIVE_TOLERANCE)
