import math

import numpy as np
import pytest
import torch

from ge2conn.nn.smt import SMT, SMTEncoder


def count_parameters(module: torch.nn.Module) -> int:
    return sum(parameter.numel() for parameter in module.parameters())


def expected_smt_parameters(genes, token_size, d_model, d_out, layers, hidden, use_cls=False):
    """Parameter count of the architecture written out by hand."""
    tokens = math.ceil(genes / token_size) + int(use_cls)
    value = token_size * d_model + d_model
    cls = 3 * d_model + d_model if use_cls else 0
    attention = 3 * d_model * d_model + 3 * d_model + d_model * d_model + d_model
    feedforward = d_model * 4 * d_model + 4 * d_model + 4 * d_model * d_model + d_model
    norms = 2 * 2 * d_model
    output = d_model * d_out + d_out
    width, decoder = 2 * tokens * d_out, 0
    for size in hidden:
        decoder += width * size + size + 2 * size  # Linear + BatchNorm affine
        width = size
    decoder += width + 1
    return value + cls + layers * (attention + feedforward + norms) + output + decoder


def test_paper_sized_parameter_count():
    model = SMT(7380)
    count = count_parameters(model)
    assert count == expected_smt_parameters(7380, 60, 128, 10, 4, (512, 256, 128)) == 2_228_363
    assert abs(count - 2.2e6) / 2.2e6 < 0.10
    assert model.encoder.num_tokens == 123 and model.encoder.embedding_size == 1230
    cls_model = SMT(7380, use_cls=True)
    assert count_parameters(cls_model) == expected_smt_parameters(7380, 60, 128, 10, 4, (512, 256, 128), True)


def test_tokenization_is_consecutive_bins_with_zero_padding():
    encoder = SMTEncoder(10, token_size=4, d_model=8, d_out=2, num_layers=1, num_heads=2)
    expression = torch.arange(20, dtype=torch.float32).reshape(2, 10) + 1
    tokens = encoder.tokenize(expression)
    assert tokens.shape == (2, 3, 4)
    for region in range(2):
        for token in range(3):
            for position in range(4):
                gene = token * 4 + position
                expected = expression[region, gene].item() if gene < 10 else 0.0
                assert tokens[region, token, position].item() == expected
    assert encoder(expression).shape == (2, 3 * 2)


def test_encoder_validates_inputs():
    with pytest.raises(ValueError, match="multiple"):
        SMTEncoder(10, token_size=5, d_model=10, num_heads=4)
    with pytest.raises(ValueError, match="slopes"):
        SMTEncoder(10, token_size=5, d_model=8, num_heads=2, alibi_slopes=[0.5])
    encoder = SMTEncoder(10, token_size=5, d_model=8, num_heads=2, use_cls=True)
    with pytest.raises(ValueError, match="coordinates"):
        encoder(torch.rand(3, 10))
    with pytest.raises(ValueError, match="genes"):
        encoder(torch.rand(3, 11), torch.rand(3, 3))


def test_alibi_options():
    assert SMTEncoder(10, token_size=5, d_model=8, num_heads=2, use_alibi=False).slopes is None
    custom = SMTEncoder(10, token_size=5, d_model=8, num_heads=2, alibi_slopes=[0.3, 0.1])
    np.testing.assert_allclose(custom.slopes.numpy(), [0.3, 0.1], rtol=1e-6)
    np.testing.assert_allclose(
        SMTEncoder(10, token_size=5, d_model=8, num_heads=4).slopes.numpy(), [1 / 4, 1 / 16, 1 / 64, 1 / 256]
    )


@pytest.mark.parametrize("use_cls", [False, True])
def test_attention_maps_include_alibi_bias(use_cls):
    torch.manual_seed(0)
    genes, token_size, d_model, heads = 23, 4, 8, 2
    encoder = SMTEncoder(
        genes,
        token_size=token_size,
        d_model=d_model,
        d_out=2,
        num_layers=2,
        num_heads=heads,
        use_cls=use_cls,
        coordinate_mean=(1.0, 2.0, 3.0),
        coordinate_std=(10.0, 20.0, 30.0),
    ).eval()
    expression = torch.rand(3, genes)
    coordinates = 30 * torch.randn(3, 3)
    embeddings, maps = encoder(expression, coordinates, return_attention=True)
    length = math.ceil(genes / token_size) + int(use_cls)
    assert embeddings.shape == (3, length * 2)
    assert len(maps) == 2 and all(m.shape == (3, heads, length, length) for m in maps)
    for weights in maps:
        np.testing.assert_allclose(weights.sum(-1).detach().numpy(), 1.0, atol=1e-5)
    torch.testing.assert_close(embeddings, encoder(expression, coordinates))

    # Independent numpy computation of the first layer's weights from the module's parameters.
    padded = np.zeros((3, length * token_size - int(use_cls) * token_size))
    padded[:, :genes] = expression.numpy()
    bins = padded.reshape(3, -1, token_size)
    value_weight = encoder.value_projection.weight.detach().numpy()
    tokens = bins @ value_weight.T + encoder.value_projection.bias.detach().numpy()
    if use_cls:
        standardized = (coordinates.numpy() - [1.0, 2.0, 3.0]) / [10.0, 20.0, 30.0]
        cls = (
            standardized @ encoder.cls_projection.weight.detach().numpy().T
            + encoder.cls_projection.bias.detach().numpy()
        )
        tokens = np.concatenate([cls[:, None, :], tokens], axis=1)
    layer = encoder.layers[0]
    qkv = tokens @ layer.qkv.weight.detach().numpy().T + layer.qkv.bias.detach().numpy()
    query = qkv[..., :d_model].reshape(3, length, heads, -1)
    key = qkv[..., d_model : 2 * d_model].reshape(3, length, heads, -1)
    scores = np.einsum("bihd,bjhd->bhij", query, key) / math.sqrt(d_model // heads)
    positions = np.arange(length)
    slopes = np.array([1 / 16, 1 / 256])
    scores = scores - slopes[None, :, None, None] * np.abs(positions[:, None] - positions[None, :])
    expected = np.exp(scores - scores.max(-1, keepdims=True))
    expected /= expected.sum(-1, keepdims=True)
    np.testing.assert_allclose(maps[0].detach().numpy(), expected, atol=1e-5)


def test_cls_token_uses_coordinates():
    torch.manual_seed(0)
    model = SMT(
        12,
        token_size=4,
        d_model=8,
        d_out=2,
        num_layers=1,
        num_heads=2,
        use_cls=True,
        decoder_hidden_sizes=(4,),
    ).eval()
    expression = torch.rand(5, 12)
    coordinates = torch.randn(5, 3)
    regions = torch.arange(5)
    first = model.encode(expression, coordinates, regions)
    second = model.encode(expression, coordinates + 1.0, regions)
    assert first.shape == (5, 4 * 2)
    assert not torch.allclose(first, second)
    without_cls = SMT(
        12, token_size=4, d_model=8, d_out=2, num_layers=1, num_heads=2, decoder_hidden_sizes=(4,)
    )
    without_cls.eval()
    torch.testing.assert_close(
        without_cls.encode(expression, coordinates, regions),
        without_cls.encode(expression, coordinates + 1, regions),
    )


def test_attention_maps_method():
    model = SMT(
        12, token_size=4, d_model=8, d_out=2, num_layers=3, num_heads=2, decoder_hidden_sizes=(4,)
    ).eval()
    maps = model.attention_maps(torch.rand(6, 12), torch.randn(6, 3), torch.tensor([1, 4]))
    assert len(maps) == 3 and maps[0].shape == (2, 2, 3, 3)
