"""Factorized pair decoding and the evaluation-only region cache of PairModel."""

import pytest
import torch

from ge2conn.nn.decoders import PairDecoder
from ge2conn.nn.mlp import MLP
from ge2conn.nn.smt import SMT

NUM_GENES = 25


def small_smt() -> SMT:
    torch.manual_seed(0)
    return SMT(NUM_GENES, token_size=6, d_model=16, d_out=3, num_layers=2, num_heads=2,
               decoder_hidden_sizes=(16, 8))


def concatenated_decode(decoder: PairDecoder, embeddings_i: torch.Tensor, embeddings_j: torch.Tensor):
    # Independent path: run the MLP layer by layer on explicit [z_i ‖ z_j] rows.
    features = torch.cat([embeddings_i, embeddings_j], dim=1)
    for layer in decoder.mlp:
        features = layer(features)
    return features[:, 0]


@pytest.mark.parametrize("num_pairs", [3, 64])  # fewer pairs than regions (gather) and more (factorized)
@pytest.mark.parametrize("training", [False, True])
def test_forward_indexed_matches_concatenation(num_pairs, training):
    torch.manual_seed(0)
    decoder = PairDecoder(7, hidden_sizes=(12, 5), dropout=0.0).train(training)
    encoded = torch.randn(10, 7, requires_grad=True)
    index_i = torch.randint(0, 10, (num_pairs,))
    index_j = torch.randint(0, 10, (num_pairs,))
    result = decoder.forward_indexed(encoded, index_i, index_j)
    gradient = torch.autograd.grad(result.square().sum(), [encoded, decoder.mlp[0].weight])

    reference_encoded = encoded.detach().clone().requires_grad_(True)
    expected = concatenated_decode(decoder, reference_encoded[index_i], reference_encoded[index_j])
    expected_gradient = torch.autograd.grad(expected.square().sum(),
                                            [reference_encoded, decoder.mlp[0].weight])
    torch.testing.assert_close(result, expected, atol=1e-5, rtol=1e-5)
    for actual, wanted in zip(gradient, expected_gradient, strict=True):
        torch.testing.assert_close(actual, wanted, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("factory", [small_smt, lambda: MLP(NUM_GENES, hidden_sizes=(16, 8))])
def test_factorized_decoding_matches_pairwise_encoding(factory, tiny_problem):
    expression, coordinates, rows, cols = tiny_problem  # 40 pairs over 11 regions: the factorized branch
    model = factory().eval()
    with torch.no_grad():
        embeddings_i = model.encode_regions(expression[rows], coordinates[rows])
        embeddings_j = model.encode_regions(expression[cols], coordinates[cols])
        expected = concatenated_decode(model.decoder, embeddings_i, embeddings_j)
        torch.testing.assert_close(model(expression, coordinates, rows, cols), expected, atol=1e-5, rtol=1e-5)


def count_encodings(model: SMT) -> list[int]:
    seen: list[int] = []
    original = model.encode_regions

    def counting(expression_rows: torch.Tensor, coordinate_rows: torch.Tensor) -> torch.Tensor:
        seen.append(expression_rows.shape[0])
        return original(expression_rows, coordinate_rows)

    model.encode_regions = counting  # type: ignore[method-assign]
    return seen


def test_cache_encodes_each_region_once_and_matches_uncached(tiny_problem):
    expression, coordinates, _, _ = tiny_problem
    model = small_smt().eval()
    rows, cols = torch.triu_indices(11, 11, offset=1)
    with torch.no_grad():
        expected = model.predict_symmetric(expression, coordinates, rows, cols)
        seen = count_encodings(model)
        with model.region_cache():
            batches = [model.predict_symmetric(expression, coordinates, rows[start:start + 7],
                                               cols[start:start + 7]) for start in range(0, rows.numel(), 7)]
    torch.testing.assert_close(torch.cat(batches), expected, atol=1e-5, rtol=1e-5)
    assert sum(seen) == 11  # every region encoded exactly once over all batches
    assert len(seen) < len(batches)  # later batches found all their regions in the cache
    assert model._region_cache is None  # freed when the context ends


def test_cache_is_invalidated_by_weight_and_input_changes(tiny_problem):
    expression, coordinates, rows, cols = tiny_problem
    model = small_smt().eval()
    seen = count_encodings(model)
    with torch.no_grad(), model.region_cache():
        first = model(expression, coordinates, rows, cols)
        model(expression, coordinates, rows, cols)
        assert len(seen) == 1
        state = {name: value + 0.5 if name == "encoder.value_projection.weight" else value
                 for name, value in model.state_dict().items()}
        model.load_state_dict(state)  # new weights (a checkpoint, restored best weights): recomputed
        changed = model(expression, coordinates, rows, cols)
        assert len(seen) == 2 and not torch.allclose(changed, first)
        other = expression.clone()
        model(other, coordinates, rows, cols)  # another tensor object: recomputed
        assert len(seen) == 3
        model.double()  # a cast replaces the parameters' storage: recomputed in the new dtype
        doubled = model(other.double(), coordinates.double(), rows, cols)
        assert len(seen) == 4 and doubled.dtype == torch.float64
        model(other.double(), coordinates.double(), rows, cols)  # new input objects again: recomputed
        assert len(seen) == 5
        inputs = other.double(), coordinates.double()
        model(*inputs, rows, cols)
        model(*inputs, rows, cols)
        assert len(seen) == 6  # the same objects: cached
        inputs[0].mul_(2.0)  # an in-place edit inside the context is not seen until the cache is cleared
        model.clear_region_cache()
        scaled = model(*inputs, rows, cols)
        assert len(seen) == 7
    with torch.no_grad():
        torch.testing.assert_close(scaled, model(other.double() * 2.0, coordinates.double(), rows, cols))


def test_cache_is_not_used_in_training_or_with_gradients(tiny_problem):
    expression, coordinates, rows, cols = tiny_problem
    model = small_smt()
    seen = count_encodings(model)
    with model.region_cache():
        model.eval()
        model(expression, coordinates, rows, cols)  # gradients on: no cache
        model(expression, coordinates, rows, cols)
        assert len(seen) == 2 and model._region_cache is None
        with torch.no_grad():
            model(expression, coordinates, rows, cols)
            assert model._region_cache is not None
            model.train()  # training mode frees the cache and bypasses it
            assert model._region_cache is None
            model(expression, coordinates, rows, cols)
            model(expression, coordinates, rows, cols)
        assert len(seen) == 5
