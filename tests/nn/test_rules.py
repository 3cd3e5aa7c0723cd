import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

from ge2conn.nn.rules import CGE, ExpDecay, GaussianKernel


def region_pairs(num_regions, seed=0):
    rng = np.random.default_rng(seed)
    coordinates = rng.uniform(-70, 70, size=(num_regions, 3))
    rows, cols = np.triu_indices(num_regions, k=1)
    distance = np.linalg.norm(coordinates[rows] - coordinates[cols], axis=1)
    return rng, coordinates, rows, cols, distance


def predict(model, expression, coordinates, rows, cols):
    return (
        model(torch.tensor(expression), torch.tensor(coordinates), torch.tensor(rows), torch.tensor(cols))
        .detach()
        .numpy()
    )


def test_exponential_decay_recovers_parameters():
    rng, coordinates, rows, cols, distance = region_pairs(60)
    targets = 0.12 + 0.88 * np.exp(-distance / 25.0) + 0.01 * rng.normal(size=distance.shape)
    expression = np.zeros((60, 4))
    model = ExpDecay()
    model.fit(expression, coordinates, rows, cols, targets)
    assert model.offset.item() == pytest.approx(0.12, abs=0.01)
    assert model.length.item() == pytest.approx(25.0, rel=0.05)
    expected = model.offset.item() + (1 - model.offset.item()) * np.exp(-distance / model.length.item())
    np.testing.assert_allclose(predict(model, expression, coordinates, rows, cols), expected, rtol=1e-10)
    assert not model.has_embeddings and model.is_closed_form


def test_gaussian_kernel_recovers_parameters():
    rng, coordinates, rows, cols, distance = region_pairs(60, seed=1)
    targets = 0.7 * np.exp(-(distance**2) / (2 * 30.0**2)) + 0.05 + 0.01 * rng.normal(size=distance.shape)
    expression = np.zeros((60, 4))
    model = GaussianKernel()
    model.fit(expression, coordinates, rows, cols, targets)
    assert model.width.item() == pytest.approx(30.0, rel=0.05)
    assert model.gain.item() == pytest.approx(0.7, abs=0.03)
    assert model.intercept.item() == pytest.approx(0.05, abs=0.02)
    width, gain, intercept = model.width.item(), model.gain.item(), model.intercept.item()
    expected = gain * np.exp(-(distance**2) / (2 * width**2)) + intercept
    np.testing.assert_allclose(predict(model, expression, coordinates, rows, cols), expected, rtol=1e-10)


def test_gaussian_kernel_never_inverts_into_a_growing_parabola():
    # Short-range-only training edges whose values rise slightly with distance: an unconstrained fit takes
    # a huge σ with a negative gain (a parabola that explodes on long held-out edges). The fit must stay a
    # decaying kernel within the documented σ bounds.
    rng, coordinates, rows, cols, distance = region_pairs(60, seed=2)
    targets = 0.3 + 0.001 * distance + 0.01 * rng.normal(size=distance.shape)
    model = GaussianKernel()
    model.fit(np.zeros((60, 4)), coordinates, rows, cols, targets)
    assert model.gain.item() >= 0.0
    assert 1.0 <= model.width.item() <= 500.0
    two_regions = np.array([[0.0, 0, 0], [1000.0, 0, 0]])
    far = predict(model, np.zeros((2, 4)), two_regions, np.array([0]), np.array([1]))
    assert abs(far[0] - model.intercept.item()) < 1e-6  # bounded far away, no explosion


def test_cge_recovers_calibration_and_uses_training_pca():
    rng, coordinates, rows, cols, _ = region_pairs(40, seed=2)
    expression = rng.normal(size=(40, 6)) @ rng.normal(size=(6, 50))
    train = np.arange(30)
    in_train = (rows < 30) & (cols < 30)
    pca = PCA(n_components=0.95, svd_solver="full").fit(expression[train])
    scores = pca.transform(expression)
    correlation = np.array([np.corrcoef(scores[i], scores[j])[0, 1] for i, j in zip(rows, cols, strict=True)])
    targets = 0.4 * correlation + 0.1 + 0.005 * rng.normal(size=correlation.shape)
    model = CGE(50)
    model.fit(expression, coordinates, rows[in_train], cols[in_train], targets[in_train])
    assert model.pca_components.shape[0] == pca.n_components_
    assert model.gain.item() == pytest.approx(0.4, abs=0.01)
    assert model.intercept.item() == pytest.approx(0.1, abs=0.01)
    expected = model.gain.item() * correlation + model.intercept.item()
    np.testing.assert_allclose(
        predict(model, expression, coordinates, rows, cols), expected, rtol=1e-8, atol=1e-10
    )
    fresh = CGE(50)
    fresh.load_state_dict(model.state_dict())
    np.testing.assert_allclose(
        predict(fresh, expression, coordinates, rows, cols), expected, rtol=1e-8, atol=1e-10
    )
