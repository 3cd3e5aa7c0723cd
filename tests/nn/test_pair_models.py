import pytest
import torch

from ge2conn.nn.base import PairModel, StandardizeCoordinates, symmetric_forward
from ge2conn.nn.bilinear import BilinearLowRank
from ge2conn.nn.decoders import PairDecoder
from ge2conn.nn.mlp import MLP, CoordsMLP
from ge2conn.nn.smt import SMT

NUM_GENES = 25
COORDINATE_MEAN = (1.0, -2.0, 3.0)
COORDINATE_STD = (30.0, 40.0, 35.0)


def learned_models() -> dict[str, PairModel]:
    small_smt = dict(
        token_size=6, d_model=16, d_out=3, num_layers=2, num_heads=2, decoder_hidden_sizes=(16, 8)
    )
    coordinates = dict(coordinate_mean=COORDINATE_MEAN, coordinate_std=COORDINATE_STD)
    return {
        "smt": SMT(NUM_GENES, **small_smt),
        "smt_cls": SMT(NUM_GENES, use_cls=True, **small_smt, **coordinates),
        "smt_no_alibi": SMT(NUM_GENES, use_alibi=False, **small_smt),
        "mlp": MLP(NUM_GENES, hidden_sizes=(16, 8)),
        "mlp_coords": MLP(NUM_GENES, use_coordinates=True, hidden_sizes=(16, 8), **coordinates),
        "coords_mlp": CoordsMLP(NUM_GENES, hidden_sizes=(16, 8), **coordinates),
        "bilinear": BilinearLowRank(NUM_GENES, rank=4),
    }


MODEL_NAMES = list(learned_models())


@pytest.fixture(params=MODEL_NAMES)
def model(request):
    torch.manual_seed(0)
    return learned_models()[request.param]


def test_shapes(model, tiny_problem):
    expression, coordinates, rows, cols = tiny_problem
    assert model(expression, coordinates, rows, cols).shape == (40,)
    assert model.predict_symmetric(expression, coordinates, rows, cols).shape == (40,)
    regions = torch.tensor([0, 3, 3, 7])
    if model.has_embeddings:
        assert model.encode(expression, coordinates, regions).shape[0] == 4
    else:
        with pytest.raises(TypeError, match="no region embedding"):
            model.encode(expression, coordinates, regions)


def test_predict_symmetric_is_symmetric(model, tiny_problem):
    expression, coordinates, rows, cols = tiny_problem
    model.eval()
    forward = model.predict_symmetric(expression, coordinates, rows, cols)
    backward = model.predict_symmetric(expression, coordinates, cols, rows)
    torch.testing.assert_close(forward, backward, atol=1e-6, rtol=1e-6)
    raw = model(expression, coordinates, rows, cols)
    raw_swapped = model(expression, coordinates, cols, rows)
    torch.testing.assert_close(forward, (raw + raw_swapped) / 2, atol=1e-6, rtol=1e-6)


def test_distinct_region_encoding_equals_encoding_each_end(model, tiny_problem):
    expression, coordinates, rows, cols = tiny_problem
    model.eval()
    with torch.no_grad():
        # Independent path: encode both ends of every pair separately (duplicates included), then decode.
        embeddings_i = model.encode_regions(expression[rows], coordinates[rows])
        embeddings_j = model.encode_regions(expression[cols], coordinates[cols])
        expected = model.decode(embeddings_i, embeddings_j)
        torch.testing.assert_close(model(expression, coordinates, rows, cols), expected, atol=1e-6, rtol=1e-6)


def test_encoding_happens_once_per_distinct_region(model, tiny_problem):
    expression, coordinates, rows, cols = tiny_problem
    seen = []
    original = model.encode_regions

    def counting(expression_rows, coordinate_rows):
        seen.append(expression_rows.shape[0])
        return original(expression_rows, coordinate_rows)

    model.encode_regions = counting
    model(expression, coordinates, rows, cols)
    model.predict_symmetric(expression, coordinates, rows, cols)
    assert seen == [len(torch.unique(torch.cat([rows, cols])))] * 2


def test_two_adam_steps_reduce_loss(model, tiny_problem):
    expression, coordinates, rows, cols = tiny_problem
    targets = torch.randn(40, generator=torch.Generator().manual_seed(1))
    # Evaluation mode makes the loss deterministic (no dropout, fixed BatchNorm statistics); gradients flow.
    model.eval()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def loss() -> torch.Tensor:
        value = torch.nn.functional.mse_loss(model(expression, coordinates, rows, cols), targets)
        if isinstance(model, BilinearLowRank):
            value = value + 1e-3 * model.regularization()
        return value

    losses = []
    for _ in range(2):
        optimizer.zero_grad()
        value = loss()
        value.backward()
        optimizer.step()
        losses.append(value.item())
    losses.append(loss().item())
    assert losses[2] < losses[1] < losses[0]


def test_coordinates_mlp_ignores_expression(tiny_problem):
    expression, coordinates, rows, cols = tiny_problem
    model = CoordsMLP(NUM_GENES, hidden_sizes=(8,)).eval()
    torch.testing.assert_close(
        model(expression, coordinates, rows, cols),
        model(torch.rand_like(expression), coordinates, rows, cols),
    )


def test_mlp_input_is_expression_and_standardized_coordinates(tiny_problem):
    expression, coordinates, _, _ = tiny_problem
    model = MLP(
        NUM_GENES, use_coordinates=True, coordinate_mean=COORDINATE_MEAN, coordinate_std=COORDINATE_STD
    )
    features = model.encode_regions(expression, coordinates)
    standardized = (coordinates - torch.tensor(COORDINATE_MEAN)) / torch.tensor(COORDINATE_STD)
    torch.testing.assert_close(features, torch.cat([expression, standardized], dim=1))
    assert model.decoder.mlp[0].in_features == 2 * (NUM_GENES + 3)


def test_standardize_coordinates_validates():
    with pytest.raises(ValueError):
        StandardizeCoordinates((0.0, 0.0), (1.0, 1.0))
    with pytest.raises(ValueError):
        StandardizeCoordinates((0.0, 0.0, 0.0), (1.0, 0.0, 1.0))


def test_bilinear_low_rank_matches_formula(tiny_problem):
    expression, coordinates, rows, cols = tiny_problem
    model = BilinearLowRank(NUM_GENES, rank=3)
    with torch.no_grad():
        model.bias.fill_(0.25)
    weight = model.projection.weight.detach()
    expected = ((expression[rows] @ weight.T) * (expression[cols] @ weight.T)).sum(1) + 0.25
    torch.testing.assert_close(model(expression, coordinates, rows, cols), expected)
    torch.testing.assert_close(model.regularization(), (weight**2).sum())


def test_pair_decoder_layers():
    decoder = PairDecoder(7, hidden_sizes=(5, 4), dropout=0.1)
    kinds = [type(layer).__name__ for layer in decoder.mlp]
    assert kinds == ["Linear", "ReLU", "BatchNorm1d", "Dropout"] * 2 + ["Linear"]
    assert decoder.mlp[0].in_features == 14
    assert decoder(torch.randn(6, 7), torch.randn(6, 7)).shape == (6,)


def test_symmetric_forward_helper(tiny_problem):
    expression, coordinates, rows, cols = tiny_problem
    model = BilinearLowRank(NUM_GENES, rank=3)
    # A bilinear inner product is symmetric already, so the helper must equal the raw forward.
    torch.testing.assert_close(
        symmetric_forward(model, expression, coordinates, rows, cols),
        model(expression, coordinates, rows, cols),
    )


def test_low_rank_encodes_centered_expression():
    torch.manual_seed(0)
    model = BilinearLowRank(num_genes=7, rank=3)
    expression = torch.rand(5, 7)
    center = expression[:3].mean(dim=0)
    model.set_center(center)
    expected = (expression - center) @ model.projection.weight.T
    torch.testing.assert_close(model.encode_regions(expression, torch.zeros(5, 3)), expected)
    assert "center" in model.state_dict()
    with pytest.raises(ValueError, match="center must have shape"):
        model.set_center(torch.zeros(6))
