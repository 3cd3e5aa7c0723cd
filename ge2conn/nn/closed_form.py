"""Closed-form bilinear connectome models ``Y ≈ X O Xᵀ + b`` and their feature maps (numpy, float64).

Ridge Connectome Model. With the thin SVD of the training features ``X = U S Vᵀ`` (rank k, l_a = s_a²),
every O splits as ``V C Vᵀ + O⊥`` where O⊥ does not change ``X O Xᵀ`` but adds to ``‖O‖²``, so the optimum
has O⊥ = 0 and the loss becomes ``‖Y − U S C S Uᵀ‖² + λ‖C‖²``. In the orthonormal basis ``U_a U_bᵀ`` it
separates entry by entry: with ``Ỹ = Uᵀ Y U``,

    C_ab = s_a s_b Ỹ_ab / (l_a l_b + λ),    O = V C Vᵀ.

This is the spec's ``O = V[(VᵀMV)_ab / (l_a l_b + λ)]Vᵀ`` (M = XᵀYX, VᵀMV = S Ỹ S) computed in the
k ≤ min(r, p) dimensional row space, so no p×p matrix is ever inverted (p = 15,000 genes is fine).
The paper's ``(A + λI)⁻¹ M (A + λI)⁻¹`` (A = XᵀX) is, in the same basis,
``C_ab = s_a s_b Ỹ_ab / ((l_a + λ)(l_b + λ))``: a different regularizer that coincides with the ridge
solution only at λ = 0. At λ = 0 both are the minimum-norm least-squares solution ``X⁺ Y (X⁺)ᵀ``
(singular values below numpy's pinv tolerance are dropped).

Missing entries (the diagonal, which says nothing about connectivity, and any unobserved pair). The exact
closed form needs a complete Y. We solve the masked problem by imputation: fill each missing entry with
the model's own prediction and refit, i.e. the fixed point of EM-style imputation. Both solvers are a
linear filter ``Ŷ = P(Y) = U (F ∘ (UᵀYU)) Uᵀ`` with ``F_ab = s_a s_b × (the C_ab coefficient)`` in
[0, 1), so the fixed point solves the linear system ``(I − K) y = P(Y_observed)_missing`` for the n
missing values, with ``K[e, e'] = P(E_e')_e``. We form K (n² k² flops: about a second for n = k = 400)
and solve it directly instead of iterating EM, which would crawl when λ is small next to l_a l_b (its
contraction factor is max F ≈ 1). For the ridge solver this fixed point is exactly the minimizer of the
loss restricted to observed entries.

Bias: b is the mean of the observed training targets, subtracted before solving (not penalized, not
refitted jointly with O), so a model with no signal predicts the training mean.
"""

from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.linalg
from numpy.typing import NDArray
from sklearn.cross_decomposition import PLSRegression
from sklearn.decomposition import PCA

FloatArray = NDArray[np.float64]
Solver = Literal["exact", "paper"]


@dataclass(frozen=True)
class ConnectomeFit:
    """A fitted bilinear model ``ŷ_ij = (φ_iᵀ V) core (Vᵀ φ_j) + bias``, with O = V core Vᵀ kept factored.

    Attributes:
        basis: (p, k) orthonormal basis V of the training features' row space.
        core: (k, k) core matrix C.
        bias: Additive bias b.
    """

    basis: FloatArray
    core: FloatArray
    bias: float


def edges_to_block(
    rows: NDArray[np.integer], cols: NDArray[np.integer], targets: NDArray[np.floating]
) -> tuple[NDArray[np.int64], FloatArray, NDArray[np.bool_]]:
    """Assemble training edges into a symmetric target block over the regions they touch.

    Args:
        rows: (E,) first region of each edge.
        cols: (E,) second region of each edge.
        targets: (E,) connectivity of each edge; an edge given in both orientations is averaged.

    Returns:
        ``regions`` (r,) sorted region indices, ``block`` (r, r) symmetric targets (NaN where missing) and
        ``observed`` (r, r) boolean mask of entries that count; the diagonal never counts.
    """
    regions, inverse = np.unique(np.concatenate([rows, cols]), return_inverse=True)
    local_rows, local_cols = inverse[: len(rows)], inverse[len(rows) :]
    size = len(regions)
    total = np.zeros((size, size))
    count = np.zeros((size, size))
    values = np.asarray(targets, dtype=np.float64)
    np.add.at(total, (local_rows, local_cols), values)
    np.add.at(total, (local_cols, local_rows), values)
    np.add.at(count, (local_rows, local_cols), 1.0)
    np.add.at(count, (local_cols, local_rows), 1.0)
    observed = count > 0
    np.fill_diagonal(observed, False)
    block = np.full((size, size), np.nan)
    block[observed] = total[observed] / count[observed]
    return regions, block, observed


def _row_space(features: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    regions, size = features.shape
    if size > 2 * regions:
        # Wide X (genes ≫ regions): QR of Xᵀ first, then the SVD of the small r × r factor; several times
        # faster than a direct thin SVD and just as accurate.
        orthonormal, triangular = np.linalg.qr(features.T)
        left, singular, inner_t = np.linalg.svd(triangular.T)
        right_t = inner_t @ orthonormal.T
    else:
        left, singular, right_t = np.linalg.svd(features, full_matrices=False)
    # The same cutoff as numpy's pinv, so λ = 0 gives the minimum-norm least-squares solution.
    keep = singular > max(features.shape) * np.finfo(np.float64).eps * (singular[0] if singular.size else 0.0)
    return left[:, keep], singular[keep], right_t[keep].T


def _core_coefficients(singular: FloatArray, ridge: float, solver: Solver) -> FloatArray:
    eigen = singular**2
    outer_singular = np.outer(singular, singular)
    if solver == "exact":
        return outer_singular / (np.outer(eigen, eigen) + ridge)
    if solver == "paper":
        return outer_singular / np.outer(eigen + ridge, eigen + ridge)
    raise ValueError(f"unknown solver {solver!r}; use 'exact' or 'paper'")


def _impute_missing(
    left: FloatArray, fit_filter: FloatArray, target: FloatArray, observed: NDArray[np.bool_]
) -> FloatArray:
    """Fill the unobserved entries of ``target`` with the fixed point of self-prediction (see module doc)."""
    completed = np.where(observed, target, 0.0)
    missing_rows, missing_cols = np.nonzero(~observed)
    if missing_rows.size == 0:
        return completed
    prediction = left @ (fit_filter * (left.T @ completed @ left)) @ left.T
    left_rows, left_cols = left[missing_rows], left[missing_cols]
    count, rank = missing_rows.size, left.shape[1]
    coupling = np.zeros((count, count))
    # K[e, e'] = Σ_ab W[e, ab] F_ab W[e', ab] with W[e, ab] = U[i_e, a] U[j_e, b]: one large GEMM per chunk of
    # a values, the chunk sized to keep W's slice near 64 MB.
    chunk = max(1, (8 * 2**20) // max(1, count * rank))
    for start in range(0, rank, chunk):
        stop = min(start + chunk, rank)
        products = (left_rows[:, start:stop, None] * left_cols[:, None, :]).reshape(count, -1)
        coupling += (products * fit_filter[start:stop].reshape(-1)) @ products.T
    system = np.eye(missing_rows.size) - coupling
    right_side = prediction[missing_rows, missing_cols]
    try:
        values = scipy.linalg.solve(system, right_side, assume_a="sym")
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgWarning):
        # Singular only when λ = 0 and the features fit every entry: take the minimum-norm imputation.
        values = np.linalg.lstsq(system, right_side, rcond=None)[0]
    completed[missing_rows, missing_cols] = values
    return completed


def connectome_model_factored(
    features_train: FloatArray,
    target_train: FloatArray,
    ridge: float,
    solver: Solver = "exact",
    observed: NDArray[np.bool_] | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Solve for O = V C Vᵀ without forming it (see the module docstring for the derivation).

    Args:
        features_train: (r, p) training features X.
        target_train: (r, r) training targets Y (entries outside ``observed`` are ignored and may be NaN).
        ridge: Ridge strength λ ≥ 0.
        solver: ``"exact"`` for the ridge minimizer, ``"paper"`` for ``(A+λI)⁻¹ M (A+λI)⁻¹``.
        observed: (r, r) mask of entries that count; None means all of them.

    Returns:
        ``basis`` V (p, k) and ``core`` C (k, k).
    """
    if ridge < 0:
        raise ValueError(f"ridge must be non-negative, got {ridge}")
    features = np.asarray(features_train, dtype=np.float64)
    target = np.asarray(target_train, dtype=np.float64)
    mask = np.ones(target.shape, dtype=bool) if observed is None else np.asarray(observed, dtype=bool)
    if not np.all(np.isfinite(target[mask])):
        raise ValueError("observed training targets contain NaN or infinite values")
    left, singular, basis = _row_space(features)
    coefficients = _core_coefficients(singular, ridge, solver)
    completed = _impute_missing(left, coefficients * np.outer(singular, singular), target, mask)
    return basis, coefficients * (left.T @ completed @ left)


def connectome_model_ridge(
    features_train: FloatArray,
    target_train: FloatArray,
    ridge: float,
    observed: NDArray[np.bool_] | None = None,
) -> FloatArray:
    """The exact ridge solution ``argmin_O ‖Y − X O Xᵀ‖²_F + λ‖O‖²_F`` (over observed entries), shape (p, p).

    Args:
        features_train: (r, p) training features X.
        target_train: (r, r) training targets Y.
        ridge: Ridge strength λ ≥ 0.
        observed: (r, r) mask of entries that count; None means all of them.

    Returns:
        (p, p) O. Prefer :func:`connectome_model_factored` when p is large.
    """
    basis, core = connectome_model_factored(features_train, target_train, ridge, "exact", observed)
    return basis @ core @ basis.T


def connectome_model_paper(
    features_train: FloatArray,
    target_train: FloatArray,
    ridge: float,
    observed: NDArray[np.bool_] | None = None,
) -> FloatArray:
    """The paper's regularized solution ``(A + λI)⁻¹ M (A + λI)⁻¹`` with A = XᵀX, M = XᵀYX, shape (p, p).

    Missing entries are imputed by the same self-consistent rule as the exact solver (module docstring).

    Args:
        features_train: (r, p) training features X.
        target_train: (r, r) training targets Y.
        ridge: Ridge strength λ ≥ 0.
        observed: (r, r) mask of entries that count; None means all of them.

    Returns:
        (p, p) O.
    """
    basis, core = connectome_model_factored(features_train, target_train, ridge, "paper", observed)
    return basis @ core @ basis.T


def fit_connectome_model(
    features_train: FloatArray,
    target_train: FloatArray,
    observed: NDArray[np.bool_],
    ridge: float,
    solver: Solver = "exact",
) -> ConnectomeFit:
    """Fit ``ŷ = φ_iᵀ O φ_j + b``: b = mean observed target, then O on the centred targets.

    Args:
        features_train: (r, p) training features.
        target_train: (r, r) training targets (NaN allowed where not observed).
        observed: (r, r) mask of entries that count (diagonal excluded by the caller).
        ridge: Ridge strength λ ≥ 0.
        solver: ``"exact"`` or ``"paper"``.

    Returns:
        The factored fit.
    """
    if not observed.any():
        raise ValueError("no observed training targets")
    bias = float(np.mean(target_train[observed]))
    basis, core = connectome_model_factored(features_train, target_train - bias, ridge, solver, observed)
    return ConnectomeFit(basis=basis, core=core, bias=bias)


def pca_features(x_train: FloatArray, variance: float = 0.95) -> tuple[FloatArray, FloatArray]:
    """PCA of the training regions keeping the components that explain ``variance`` of the variance.

    Args:
        x_train: (r, g) training expression.
        variance: Fraction of variance to keep, in (0, 1]; 1 keeps every component.

    Returns:
        ``mean`` (g,) and ``components`` (q, g); features are ``(x - mean) @ components.T``.
    """
    if not 0 < variance <= 1:
        raise ValueError(f"variance must be in (0, 1], got {variance}")
    pca = PCA(n_components=variance if variance < 1 else None, svd_solver="full")
    pca.fit(np.asarray(x_train, dtype=np.float64))
    return pca.mean_.astype(np.float64), pca.components_.astype(np.float64)


def pls_features(
    x_train: FloatArray, y_train_rows: FloatArray, n_components: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """PLS regression of training-region FC rows on expression; the x-scores are the region embeddings.

    Missing targets (NaN, e.g. the diagonal) are filled with their column's mean observed value, a neutral
    value after PLS centring, because ``PLSRegression`` needs complete targets.

    Args:
        x_train: (r, g) training expression.
        y_train_rows: (r, r) FC rows of the training regions restricted to training columns.
        n_components: Number of PLS components (clipped to r − 1 and g).

    Returns:
        ``mean`` (g,), ``scale`` (g,) and ``rotations`` (g, q) such that ``((x - mean) / scale) @ rotations``
        equals ``PLSRegression.transform(x)``.
    """
    features = np.asarray(x_train, dtype=np.float64)
    targets = np.array(y_train_rows, dtype=np.float64)
    column_means = np.nanmean(targets, axis=0)
    if not np.all(np.isfinite(column_means)):
        raise ValueError("a target column has no observed value")
    targets = np.where(np.isnan(targets), column_means[None, :], targets)
    components = max(1, min(n_components, features.shape[0] - 1, features.shape[1]))
    pls = PLSRegression(n_components=components, scale=True)
    pls.fit(features, targets)
    # PLSRegression centres by the mean and scales by the ddof=1 standard deviation (1 where it is 0).
    mean = features.mean(axis=0)
    scale = features.std(axis=0, ddof=1)
    scale[scale == 0] = 1.0
    return mean, scale, np.asarray(pls.x_rotations_, dtype=np.float64)
