"""Choosing the Connectome Model's λ: checked against a brute-force numpy/sklearn cross-validation."""

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

from ge2conn.nn.connectome import ConnectomeModel
from ge2conn.nn.ridge_selection import RELATIVE_RIDGE_GRID, held_out_groups, mean_eigenvalue


def kronecker_ridge(features, block, ridge):
    """Brute-force masked ridge: vec(Y) = (X ⊗ X) vec(O) on off-diagonal entries, centred by their mean."""
    observed = ~np.eye(len(block), dtype=bool)
    bias = block[observed].mean()
    design = np.kron(features, features)[observed.ravel()]
    values = (block - bias).ravel()[observed.ravel()]
    size = design.shape[1]
    solution = np.linalg.solve(design.T @ design + ridge * np.eye(size), design.T @ values)
    return solution.reshape(features.shape[1], features.shape[1]), bias


def problem(num_regions=18, num_genes=6, noise=0.4, seed=0):
    rng = np.random.default_rng(seed)
    expression = rng.random((num_regions, num_genes))
    truth = rng.normal(size=(num_genes, num_genes))
    connectivity = expression @ (truth + truth.T) @ expression.T / num_genes + 0.2
    connectivity += noise * rng.normal(size=connectivity.shape)
    return expression, (connectivity + connectivity.T) / 2


def fit_auto(expression, connectivity, features="genes"):
    rows, cols = np.triu_indices(len(expression), 1)
    model = ConnectomeModel(expression.shape[1], features=features, ridge=None, pca_variance=0.9)
    model.fit(expression, np.zeros((len(expression), 3)), rows, cols, connectivity[rows, cols])
    assert model.selection is not None
    return model


def brute_force_errors(expression, connectivity, ridges, groups, featurize):
    errors = []
    for ridge in ridges:
        squared, count = 0.0, 0
        for group in groups:
            fitting = np.setdiff1d(np.arange(len(expression)), group)
            features_of = featurize(expression[fitting])
            core, bias = kronecker_ridge(features_of(expression[fitting]),
                                         connectivity[np.ix_(fitting, fitting)], ridge)
            held = features_of(expression[group])
            rows, cols = np.triu_indices(len(group), 1)
            predicted = np.sum((held[rows] @ core) * held[cols], axis=1) + bias
            squared += np.sum((predicted - connectivity[group[rows], group[cols]]) ** 2)
            count += rows.size
        errors.append(squared / count)
    return np.array(errors)


def test_genes_selection_matches_brute_force_cross_validation():
    expression, connectivity = problem()
    model = fit_auto(expression, connectivity)
    selection = model.selection
    expected_groups = np.array_split(np.random.default_rng(0).permutation(18), 4)
    assert [list(g) for g in selection.held_out] == [sorted(g) for g in expected_groups]
    scale = (np.linalg.norm(expression) ** 2 / np.linalg.matrix_rank(expression)) ** 2
    np.testing.assert_allclose(selection.ridges, np.array(RELATIVE_RIDGE_GRID) * scale, rtol=1e-10)
    errors = brute_force_errors(expression, connectivity, selection.ridges, selection.held_out,
                                lambda fit: lambda rows: rows)
    np.testing.assert_allclose(selection.errors, errors, rtol=1e-6)
    assert selection.ridge == selection.ridges[np.argmin(errors)] == model.selected_ridge
    # A noisy target needs real shrinkage: the choice is neither the smallest λ nor unregularized.
    assert selection.ridge > selection.ridges[0]


def test_pca_selection_refits_pca_per_fold_like_sklearn():
    expression, connectivity = problem(num_genes=8, seed=3)
    model = fit_auto(expression, connectivity, features="pca")

    def sklearn_pca(fit):
        pca = PCA(n_components=0.9, svd_solver="full").fit(fit)
        return pca.transform

    errors = brute_force_errors(expression, connectivity, model.selection.ridges, model.selection.held_out,
                                sklearn_pca)
    np.testing.assert_allclose(model.selection.errors, errors, rtol=1e-6)


def test_choice_scales_with_the_features_and_predictions_do_not_change():
    expression, connectivity = problem()
    base = fit_auto(expression, connectivity)
    # Ten times larger values: eigenvalues ×100, λ ×10⁴; duplicated genes: eigenvalues ×2, λ ×4.
    scaled = fit_auto(10 * expression, connectivity)
    doubled = fit_auto(np.hstack([expression, expression]), connectivity)
    assert scaled.selected_ridge == pytest.approx(1e4 * base.selected_ridge, rel=1e-9)
    assert doubled.selected_ridge == pytest.approx(4 * base.selected_ridge, rel=1e-9)
    rows, cols = torch.tensor([0, 3, 5]), torch.tensor([1, 7, 11])
    coordinates = torch.zeros(18, 3)

    def predict(model, values):
        return model(torch.tensor(values, dtype=torch.float32), coordinates, rows, cols).detach().numpy()

    reference = predict(base, expression)
    np.testing.assert_allclose(predict(scaled, 10 * expression), reference, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(predict(doubled, np.hstack([expression, expression])), reference,
                               rtol=1e-4, atol=1e-5)


def test_helpers():
    assert mean_eigenvalue(np.zeros((3, 4))) == 1.0
    assert mean_eigenvalue(np.eye(3) * 2) == pytest.approx(4.0)
    with pytest.raises(ValueError, match="too few"):
        held_out_groups(3)
    fixed = ConnectomeModel(4, ridge=2.5)
    assert fixed.selected_ridge == 2.5 and fixed.selection is None
