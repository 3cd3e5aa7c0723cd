"""The Connectome Model ``Y ≈ φ(X) O φ(X)ᵀ + b`` on genes, PCA or PLS features, fitted in closed form."""

from collections.abc import Callable
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from ge2conn.nn.base import FittedPairModel
from ge2conn.nn.bilinear import FixedBilinear
from ge2conn.nn.closed_form import (
    FloatArray,
    Solver,
    edges_to_block,
    fit_connectome_model,
    pca_features,
    pls_features,
)
from ge2conn.nn.ridge_selection import RidgeSelection, select_ridge

FeatureKind = Literal["genes", "pca", "pls"]


class ConnectomeModel(FixedBilinear, FittedPairModel):
    """Connectome Model fitted by the SVD closed form of :mod:`ge2conn.nn.closed_form`.

    ``fit`` assembles the training edges into the symmetric r_train × r_train block (diagonal missing), maps
    the training regions to features, sets the bias to the mean training target and solves for O on the
    rest, imputing missing entries self-consistently. Storage:

    - ``"genes"``: O = V C Vᵀ is kept factored; ``projection`` is V (G × k, k ≤ r_train) and ``core`` is C,
      so a 15,000 × 15,000 matrix is never formed. Embeddings are Vᵀ x, the coordinates of x in the
      training row space (all that O sees of x).
    - ``"pca"`` / ``"pls"``: O is small and kept whole; embeddings are the PCA scores / PLS x-scores.

    Args:
        num_genes: Number of genes G.
        features: Feature map: raw ``"genes"``, ``"pca"`` or ``"pls"``.
        ridge: Ridge strength λ, or None [default] to choose it on every fit by leave-regions-out
            cross-validation over the training regions, from a grid scaled to the features
            (:mod:`ge2conn.nn.ridge_selection`); the chosen value is :attr:`selected_ridge`.
        solver: ``"exact"`` ridge minimizer, or ``"paper"`` for the paper's (A + λI)⁻¹ M (A + λI)⁻¹.
        pca_variance: Variance kept by the PCA features [0.95].
        pls_components: Number of PLS components [10].
    """

    def __init__(
        self,
        num_genes: int,
        features: FeatureKind = "genes",
        ridge: float | None = None,
        solver: Solver = "exact",
        pca_variance: float = 0.95,
        pls_components: int = 10,
    ) -> None:
        super().__init__(num_genes)
        if features not in ("genes", "pca", "pls"):
            raise ValueError(f"unknown features {features!r}; use 'genes', 'pca' or 'pls'")
        if solver not in ("exact", "paper"):
            raise ValueError(f"unknown solver {solver!r}; use 'exact' or 'paper'")
        self.features = features
        self.ridge = ridge
        self.solver: Solver = solver
        self.pca_variance = pca_variance
        self.pls_components = pls_components
        self.selection: RidgeSelection | None = None
        self.selected_ridge: float | None = ridge

    def _fitted_feature_map(
        self, x_fit: FloatArray, block: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """PCA or PLS map fitted on ``x_fit``: (mean, scale, P) with features ((x − mean) / scale) P."""
        if self.features == "pca":
            mean, components = pca_features(x_fit, self.pca_variance)
            return mean, np.ones(x_fit.shape[1]), components.T
        if self.features == "pls":
            return pls_features(x_fit, block, self.pls_components)
        raise ValueError("raw genes have no fitted feature map (O is kept factored instead)")

    def _choose_ridge(self, x_train: FloatArray, block: FloatArray, observed: np.ndarray) -> float:
        if self.ridge is not None:
            return float(self.ridge)

        def features_of(x_fit: FloatArray, fit_block: FloatArray) -> Callable[[FloatArray], FloatArray]:
            if self.features == "genes":
                return lambda rows: rows
            mean, scale, projection = self._fitted_feature_map(x_fit, fit_block)
            return lambda rows: ((rows - mean) / scale) @ projection

        self.selection = select_ridge(x_train, block, observed, features_of, self.solver)
        return self.selection.ridge

    def fit(
        self,
        expression: NDArray[np.floating],
        coordinates: NDArray[np.floating],
        rows: NDArray[np.integer],
        cols: NDArray[np.integer],
        targets: NDArray[np.floating],
    ) -> None:
        """Fit on training edges (see :meth:`FittedPairModel.fit`); coordinates are not used."""
        all_expression: NDArray[np.float64] = np.asarray(expression, dtype=np.float64)
        if all_expression.shape[1] != self.num_genes:
            raise ValueError(f"expected {self.num_genes} genes, got {all_expression.shape[1]}")
        regions, block, observed = edges_to_block(np.asarray(rows), np.asarray(cols), np.asarray(targets))
        x_train = all_expression[regions]
        ridge = self._choose_ridge(x_train, block, observed)
        self.selected_ridge = ridge
        if self.features == "genes":
            fit = fit_connectome_model(x_train, block, observed, ridge, self.solver)
            identity_mean, identity_scale = np.zeros(self.num_genes), np.ones(self.num_genes)
            self.set_parameters(identity_mean, identity_scale, fit.basis, fit.core, fit.bias)
            return
        mean, scale, projection = self._fitted_feature_map(x_train, block)
        train_features = ((x_train - mean) / scale) @ projection
        fit = fit_connectome_model(train_features, block, observed, ridge, self.solver)
        self.set_parameters(mean, scale, projection, fit.basis @ fit.core @ fit.basis.T, fit.bias)


class PLSBilinear(ConnectomeModel):
    """PLS encoder–decoder: PLS x-scores as region embeddings, decoded by the Connectome Model closed form.

    Args:
        num_genes: Number of genes G.
        pls_components: Number of PLS components [10].
        ridge: Ridge strength λ of the decoder, or None [default] to choose it by cross-validation.
        solver: ``"exact"`` or ``"paper"`` closed form.
    """

    def __init__(
        self, num_genes: int, pls_components: int = 10, ridge: float | None = None, solver: Solver = "exact"
    ) -> None:
        super().__init__(num_genes, features="pls", ridge=ridge, solver=solver, pls_components=pls_components)
