import numpy as np
import pytest
from sklearn.cross_decomposition import PLSRegression
from sklearn.decomposition import PCA

from ge2conn.nn.closed_form import (
    connectome_model_factored,
    connectome_model_paper,
    connectome_model_ridge,
    edges_to_block,
    fit_connectome_model,
    pca_features,
    pls_features,
)


def kronecker_ridge(features, target, ridge, observed=None):
    """Reference: vec(X O Xᵀ) = (X ⊗ X) vec(O) (row-major vec), ridge on the observed rows of that system."""
    design = np.kron(features, features)
    values = target.ravel()
    if observed is not None:
        design, values = design[observed.ravel()], values[observed.ravel()]
    size = design.shape[1]
    solution = np.linalg.solve(design.T @ design + ridge * np.eye(size), design.T @ values)
    side = features.shape[1]
    return solution.reshape(side, side)


def symmetric(rng, size):
    matrix = rng.normal(size=(size, size))
    return (matrix + matrix.T) / 2


@pytest.mark.parametrize(("regions", "features"), [(9, 4), (5, 8)])
@pytest.mark.parametrize("ridge", [0.3, 2.0])
def test_ridge_matches_kronecker(regions, features, ridge):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(regions, features))
    y = rng.normal(size=(regions, regions))  # the exact form does not need a symmetric target
    expected = kronecker_ridge(x, y, ridge)
    np.testing.assert_allclose(connectome_model_ridge(x, y, ridge), expected, atol=1e-8, rtol=1e-8)


@pytest.mark.parametrize(("regions", "features"), [(9, 4), (5, 8)])
@pytest.mark.parametrize("ridge", [0.05, 1.0])
def test_masked_ridge_matches_masked_kronecker(regions, features, ridge):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(regions, features))
    y = symmetric(rng, regions)
    observed = ~np.eye(regions, dtype=bool)
    observed[0, 2] = observed[2, 0] = False  # an unobserved pair besides the diagonal
    y_with_gaps = np.where(observed, y, np.nan)
    expected = kronecker_ridge(x, y, ridge, observed)
    result = connectome_model_ridge(x, y_with_gaps, ridge, observed)
    np.testing.assert_allclose(result, expected, atol=1e-6, rtol=1e-6)


def test_masked_ridge_asymmetric_mask():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(6, 10))
    y = rng.normal(size=(6, 6))
    observed = rng.random((6, 6)) > 0.3
    expected = kronecker_ridge(x, y, 0.5, observed)
    np.testing.assert_allclose(connectome_model_ridge(x, y, 0.5, observed), expected, atol=1e-6, rtol=1e-6)


def test_paper_matches_its_formula_and_exact_at_zero_ridge():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(10, 4))
    y = symmetric(rng, 10)
    ridge = 0.7
    gram = x.T @ x
    inverse = np.linalg.inv(gram + ridge * np.eye(4))
    np.testing.assert_allclose(
        connectome_model_paper(x, y, ridge), inverse @ x.T @ y @ x @ inverse, atol=1e-10
    )
    # At λ = 0 both are the least-squares solution X⁺ Y (X⁺)ᵀ.
    pinv = np.linalg.pinv(x)
    np.testing.assert_allclose(connectome_model_paper(x, y, 0.0), pinv @ y @ pinv.T, atol=1e-8)
    np.testing.assert_allclose(connectome_model_ridge(x, y, 0.0), pinv @ y @ pinv.T, atol=1e-8)
    # And they differ for λ > 0.
    assert not np.allclose(connectome_model_paper(x, y, ridge), connectome_model_ridge(x, y, ridge))


def test_factored_form_never_needs_feature_square():
    rng = np.random.default_rng(4)
    x = rng.random((12, 3000))
    y = symmetric(rng, 12)
    basis, core = connectome_model_factored(x, y, 1.0)
    assert basis.shape == (3000, 12) and core.shape == (12, 12)
    np.testing.assert_allclose(basis.T @ basis, np.eye(12), atol=1e-10)


def test_edges_to_block_and_bias():
    rows = np.array([3, 5, 7, 7])
    cols = np.array([5, 7, 3, 5])
    targets = np.array([0.1, 0.2, 0.3, 0.4])  # (5, 7) and (7, 5) are both given: averaged
    regions, block, observed = edges_to_block(rows, cols, targets)
    np.testing.assert_array_equal(regions, [3, 5, 7])
    expected = np.array([[np.nan, 0.1, 0.3], [0.1, np.nan, 0.3], [0.3, 0.3, np.nan]])
    np.testing.assert_allclose(block, expected)
    np.testing.assert_array_equal(observed, ~np.eye(3, dtype=bool))
    fit = fit_connectome_model(np.eye(3), block, observed, ridge=1.0)
    assert fit.bias == pytest.approx(np.mean([0.1, 0.3, 0.3]))


def test_pca_features_match_sklearn():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(30, 8)) @ rng.normal(size=(8, 20))
    mean, components = pca_features(x, 0.9)
    reference = PCA(n_components=0.9, svd_solver="full").fit(x)
    np.testing.assert_allclose((x - mean) @ components.T, reference.transform(x), atol=1e-10)


def test_pls_features_match_sklearn_transform():
    rng = np.random.default_rng(6)
    x = rng.random((25, 40))
    x[:, 3] = 0.5  # a constant gene: sklearn scales it by 1
    y = symmetric(rng, 25)
    mean, scale, rotations = pls_features(x, y, 4)
    reference = PLSRegression(n_components=4).fit(x, y)
    np.testing.assert_allclose(((x - mean) / scale) @ rotations, reference.transform(x), atol=1e-8)
    # NaN targets (the missing diagonal) are filled with the column mean of observed values.
    y_gaps = y.copy()
    np.fill_diagonal(y_gaps, np.nan)
    filled = np.where(np.eye(25, dtype=bool), np.nanmean(y_gaps, axis=0)[None, :], y_gaps)
    _, _, rotations_gaps = pls_features(x, y_gaps, 4)
    np.testing.assert_allclose(
        rotations_gaps, PLSRegression(n_components=4).fit(x, filled).x_rotations_, atol=1e-8
    )
