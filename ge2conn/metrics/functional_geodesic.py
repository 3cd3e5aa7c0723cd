"""Functional geodesic (affine-invariant) distance between true and predicted test connectomes.

The default computation (method.md §6):

1. Rebuild the test-region matrices from edges by region index (:func:`edges_to_matrices`). Repeated edges
   (for example the padding a ``DistributedSampler`` adds) are averaged per orientation, so identical
   duplicates change nothing; the two orientations (i, j) and (j, i) are then averaged, which symmetrizes the
   predictions.
2. Set a unit diagonal (a region's correlation with itself).
3. Regularize both matrices to SPD (:func:`shrink_to_spd`): ``Σ = (1 − α) P₊(C) + α I`` where ``P₊`` clips
   negative eigenvalues to zero (the nearest positive semidefinite matrix in Frobenius norm) and α is a fixed
   shrinkage [0.1]. For a matrix that is already positive semidefinite (any true correlation matrix) ``P₊`` is
   the identity map and this is plain linear shrinkage towards I; predicted matrices are often indefinite, and
   the clipping keeps them SPD with every eigenvalue ≥ α, so the distance is always finite.
4. ``d(A, B) = sqrt(Σ_k log² λ_k)`` with λ the generalized eigenvalues of ``A v = λ B v``
   (:func:`affine_invariant_distance`), in float64. It is symmetric in (A, B) and zero iff A = B.

The ``legacy`` variant (:func:`legacy_geodesic_distance`) reproduces the computation behind the published
numbers (the reference GeneEx2Conn code, itself adapted from the FC_geodesic project): zero diagonals, no
shrinkage, an SVD of the true matrix with singular values below 1e-3 lifted to 1e-3 to form ``T^{-1/2}``, then
the singular values s of ``M = T^{-1/2} P T^{-1/2}`` and ``sqrt(Σ log² s)``. With zero diagonals the matrices
are indefinite, so this is neither symmetric in its arguments nor a distance between SPD matrices; use it only
to compare with the paper.
"""

from __future__ import annotations

import torch
from torch import Tensor

DEFAULT_SHRINKAGE = 0.1
"""Fixed shrinkage α towards the identity applied to both matrices before the affine-invariant distance."""

LEGACY_EIGENVALUE_THRESHOLD = 1e-3
"""Singular values of the true matrix below this are lifted to it in the legacy computation (as in the
reference)."""


def edges_to_matrices(
    rows: Tensor, cols: Tensor, preds: Tensor, target: Tensor
) -> tuple[Tensor, Tensor, bool]:
    """Rebuild symmetric true and predicted matrices over the regions that the edges touch.

    Args:
        rows: Region index of the first end of each edge, shape ``(E,)``.
        cols: Region index of the second end, shape ``(E,)``.
        preds: Predicted value of each edge, shape ``(E,)``.
        target: True value of each edge, shape ``(E,)``.

    Returns:
        ``(true_matrix, predicted_matrix, complete)``: float64 ``(m, m)`` matrices over the m distinct regions
        (in increasing region index) with a zero diagonal, and whether every unordered pair of those regions
        was seen. Unseen pairs are left at zero. Self-edges (i == i) are ignored.
    """
    rows = rows.reshape(-1).long()
    cols = cols.reshape(-1).long()
    values = torch.stack([target.reshape(-1), preds.reshape(-1)]).to(torch.float64)
    keep = rows != cols
    rows, cols, values = rows[keep], cols[keep], values[:, keep]
    _, inverse = torch.unique(torch.cat([rows, cols]), sorted=True, return_inverse=True)
    num_regions = int(inverse.max().item()) + 1 if inverse.numel() else 0
    local_rows, local_cols = inverse[: rows.numel()], inverse[rows.numel() :]
    flat_index = local_rows * num_regions + local_cols

    sums = torch.zeros(2, num_regions * num_regions, dtype=torch.float64, device=values.device)
    sums.index_add_(1, flat_index, values)
    counts = torch.zeros(num_regions * num_regions, dtype=torch.float64, device=values.device)
    counts.index_add_(0, flat_index, torch.ones_like(values[0]))
    observed = (counts > 0).to(torch.float64).reshape(num_regions, num_regions)
    # Mean over repeats of the same orientation: identical duplicates leave the value unchanged.
    directed = (sums / counts.clamp(min=1.0)).reshape(2, num_regions, num_regions)
    orientation_count = observed + observed.T
    symmetric = (directed + directed.transpose(1, 2)) / orientation_count.clamp(min=1.0)
    off_diagonal = ~torch.eye(num_regions, dtype=torch.bool, device=values.device)
    complete = bool((orientation_count[off_diagonal] > 0).all().item())
    return symmetric[0], symmetric[1], complete


def shrink_to_spd(matrix: Tensor, shrinkage: float = DEFAULT_SHRINKAGE) -> Tensor:
    """Regularize a symmetric matrix to SPD: ``(1 − α) P₊(C) + α I`` (see the module docstring).

    Args:
        matrix: Symmetric ``(m, m)`` matrix, normally with a unit diagonal.
        shrinkage: α in (0, 1]; every eigenvalue of the result is at least α.

    Returns:
        The float64 SPD matrix.
    """
    if not 0.0 < shrinkage <= 1.0:
        raise ValueError(f"shrinkage must be in (0, 1], got {shrinkage}")
    matrix = matrix.to(torch.float64)
    eigenvalues, eigenvectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    shrunk = (1.0 - shrinkage) * eigenvalues.clamp(min=0.0) + shrinkage
    result = (eigenvectors * shrunk) @ eigenvectors.T
    return (result + result.T) / 2


def affine_invariant_distance(first: Tensor, second: Tensor) -> Tensor:
    """Affine-invariant Riemannian distance ``sqrt(Σ log² λ)`` between two SPD matrices.

    λ are the generalized eigenvalues of ``first v = λ second v``, obtained from the symmetric matrix
    ``L⁻¹ first L⁻ᵀ`` with ``second = L Lᵀ`` (Cholesky), in float64.

    Args:
        first: SPD ``(m, m)`` matrix.
        second: SPD ``(m, m)`` matrix.

    Returns:
        A float64 scalar.
    """
    first = first.to(torch.float64)
    second = second.to(torch.float64)
    cholesky_factor = torch.linalg.cholesky(second)
    half_solved = torch.linalg.solve_triangular(cholesky_factor, first, upper=False)
    whitened = torch.linalg.solve_triangular(cholesky_factor, half_solved.T, upper=False)
    eigenvalues = torch.linalg.eigvalsh((whitened + whitened.T) / 2)
    return torch.sqrt(torch.sum(torch.log(eigenvalues) ** 2))


def legacy_geodesic_distance(
    true_matrix: Tensor, predicted_matrix: Tensor, eigenvalue_threshold: float = LEGACY_EIGENVALUE_THRESHOLD
) -> Tensor:
    """The published reference computation; for comparison with the paper only (see the module docstring).

    Args:
        true_matrix: Symmetric true matrix; its diagonal is set to zero as in the reference.
        predicted_matrix: Symmetric predicted matrix; its diagonal is set to zero as well.
        eigenvalue_threshold: Singular values of the true matrix below this are lifted to it.

    Returns:
        A float64 scalar (``inf`` if the whitened prediction is singular).
    """
    true_matrix = true_matrix.to(torch.float64).clone()
    predicted_matrix = predicted_matrix.to(torch.float64).clone()
    true_matrix.fill_diagonal_(0.0)
    predicted_matrix.fill_diagonal_(0.0)
    true_matrix = (true_matrix + true_matrix.T) / 2
    predicted_matrix = (predicted_matrix + predicted_matrix.T) / 2
    left_vectors, singular_values, _ = torch.linalg.svd(true_matrix)
    lifted = singular_values.clamp(min=eigenvalue_threshold)
    inverse_root = (left_vectors * lifted.rsqrt()) @ left_vectors.T
    whitened = inverse_root @ predicted_matrix @ inverse_root
    return torch.sqrt(torch.sum(torch.log(torch.linalg.svdvals(whitened)) ** 2))


def geodesic_distance(
    preds: Tensor,
    target: Tensor,
    rows: Tensor,
    cols: Tensor,
    shrinkage: float = DEFAULT_SHRINKAGE,
    legacy: bool = False,
) -> Tensor:
    """Geodesic distance between the true and predicted connectomes of the regions that the edges cover.

    Args:
        preds: Predicted edge values, shape ``(E,)``.
        target: True edge values, shape ``(E,)``.
        rows: First region index of each edge.
        cols: Second region index of each edge.
        shrinkage: α of :func:`shrink_to_spd` (ignored when ``legacy``).
        legacy: Use the published reference formula instead (zero diagonal, SVD, no shrinkage).

    Returns:
        A float64 scalar; NaN if fewer than two regions are covered or some pair of covered regions has no
        edge.
    """
    true_matrix, predicted_matrix, complete = edges_to_matrices(rows, cols, preds, target)
    if true_matrix.shape[0] < 2 or not complete:
        return torch.tensor(float("nan"), dtype=torch.float64, device=true_matrix.device)
    if legacy:
        return legacy_geodesic_distance(true_matrix, predicted_matrix)
    true_matrix.fill_diagonal_(1.0)
    predicted_matrix.fill_diagonal_(1.0)
    return affine_invariant_distance(
        shrink_to_spd(true_matrix, shrinkage), shrink_to_spd(predicted_matrix, shrinkage)
    )
