import numpy as np
import pytest
import torch
from sklearn.cross_decomposition import PLSRegression
from sklearn.decomposition import PCA

from ge2conn.nn.base import FittedPairModel
from ge2conn.nn.connectome import ConnectomeModel, PLSBilinear


def all_pairs(regions):
    rows, cols = np.triu_indices(len(regions), k=1)
    return regions[rows], regions[cols]


def masked_kronecker(features, block, observed, ridge):
    design = np.kron(features, features)[observed.ravel()]
    values = block.ravel()[observed.ravel()]
    size = design.shape[1]
    solution = np.linalg.solve(design.T @ design + ridge * np.eye(size), design.T @ values)
    return solution.reshape(features.shape[1], features.shape[1])


def synthetic(num_regions, num_genes, seed=0):
    rng = np.random.default_rng(seed)
    expression = rng.random((num_regions, num_genes))
    coordinates = 40 * rng.normal(size=(num_regions, 3))
    truth = rng.normal(size=(num_genes, num_genes))
    connectivity = expression @ (truth + truth.T) @ expression.T / num_genes + 0.3
    connectivity += 0.05 * rng.normal(size=connectivity.shape)
    connectivity = (connectivity + connectivity.T) / 2
    train = np.sort(rng.choice(num_regions, size=num_regions * 2 // 3, replace=False))
    test = np.setdiff1d(np.arange(num_regions), train)
    return expression, coordinates, connectivity, train, test


def fit_and_predict(model, expression, coordinates, connectivity, train, test):
    rows, cols = all_pairs(train)
    model.fit(expression, coordinates, rows, cols, connectivity[rows, cols])
    test_rows, test_cols = all_pairs(test)
    prediction = model(
        torch.tensor(expression, dtype=torch.float32),
        torch.tensor(coordinates, dtype=torch.float32),
        torch.tensor(test_rows),
        torch.tensor(test_cols),
    )
    assert prediction.dtype == torch.float32
    return prediction.detach().numpy(), test_rows, test_cols


def reference_prediction(train_features, all_features, connectivity, train, ridge, test_rows, test_cols):
    block = connectivity[np.ix_(train, train)]
    observed = ~np.eye(len(train), dtype=bool)
    bias = block[observed].mean()
    bilinear = masked_kronecker(train_features, block - bias, observed, ridge)
    return np.sum((all_features[test_rows] @ bilinear) * all_features[test_cols], axis=1) + bias


@pytest.mark.parametrize("num_genes", [5, 14])  # fewer and more genes than the 9 training regions
def test_genes_model_matches_masked_kronecker(num_genes):
    expression, coordinates, connectivity, train, test = synthetic(14, num_genes)
    model = ConnectomeModel(num_genes, features="genes", ridge=0.5)
    prediction, test_rows, test_cols = fit_and_predict(
        model, expression, coordinates, connectivity, train, test
    )
    expected = reference_prediction(
        expression[train], expression, connectivity, train, 0.5, test_rows, test_cols
    )
    np.testing.assert_allclose(prediction, expected, rtol=1e-5, atol=1e-5)
    assert model.projection.shape[1] <= len(train)  # stored factored


def test_pca_model_matches_masked_kronecker():
    expression, coordinates, connectivity, train, test = synthetic(18, 20, seed=1)
    model = ConnectomeModel(20, features="pca", ridge=0.2, pca_variance=0.9)
    prediction, test_rows, test_cols = fit_and_predict(
        model, expression, coordinates, connectivity, train, test
    )
    pca = PCA(n_components=0.9, svd_solver="full").fit(expression[train])
    features = pca.transform(expression)
    expected = reference_prediction(features[train], features, connectivity, train, 0.2, test_rows, test_cols)
    np.testing.assert_allclose(prediction, expected, rtol=1e-5, atol=1e-5)
    embeddings = model.encode(torch.tensor(expression), torch.tensor(coordinates), torch.arange(18))
    np.testing.assert_allclose(embeddings.numpy(), features, atol=1e-8)


def test_pls_model_embeddings_are_pls_scores():
    expression, coordinates, connectivity, train, test = synthetic(18, 20, seed=2)
    model = PLSBilinear(20, pls_components=3, ridge=0.3)
    assert model.features == "pls"
    prediction, test_rows, test_cols = fit_and_predict(
        model, expression, coordinates, connectivity, train, test
    )
    targets = connectivity[np.ix_(train, train)].copy()
    np.fill_diagonal(targets, np.nan)
    targets = np.where(np.isnan(targets), np.nanmean(targets, axis=0)[None, :], targets)
    pls = PLSRegression(n_components=3).fit(expression[train], targets)
    scores = pls.transform(expression)
    embeddings = model.encode(torch.tensor(expression), torch.tensor(coordinates), torch.arange(18))
    np.testing.assert_allclose(embeddings.numpy(), scores, atol=1e-8)
    expected = reference_prediction(scores[train], scores, connectivity, train, 0.3, test_rows, test_cols)
    np.testing.assert_allclose(prediction, expected, rtol=1e-5, atol=1e-5)


def test_fitted_state_loads_into_a_fresh_model():
    expression, coordinates, connectivity, train, test = synthetic(14, 30, seed=3)
    model = ConnectomeModel(30, features="genes", ridge=1.0, solver="paper")
    prediction, test_rows, test_cols = fit_and_predict(
        model, expression, coordinates, connectivity, train, test
    )
    fresh = ConnectomeModel(30, features="genes", ridge=1.0, solver="paper")
    fresh.load_state_dict(model.state_dict())
    again = fresh(
        torch.tensor(expression), torch.tensor(coordinates), torch.tensor(test_rows), torch.tensor(test_cols)
    )
    np.testing.assert_allclose(again.numpy(), prediction, rtol=1e-6)
    symmetric = fresh.predict_symmetric(
        torch.tensor(expression), torch.tensor(coordinates), torch.tensor(test_cols), torch.tensor(test_rows)
    )
    np.testing.assert_allclose(symmetric.numpy(), again.numpy(), rtol=1e-10)


def test_flags_and_validation():
    model = ConnectomeModel(4)
    assert isinstance(model, FittedPairModel) and model.is_closed_form and model.has_embeddings
    assert list(model.parameters()) == []
    with pytest.raises(ValueError):
        ConnectomeModel(4, features="raw")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ConnectomeModel(4, solver="inverse")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="genes"):
        model.fit(np.zeros((3, 5)), np.zeros((3, 3)), np.array([0]), np.array([1]), np.array([0.5]))
