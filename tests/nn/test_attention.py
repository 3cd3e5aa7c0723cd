import importlib.util
import math

import numpy as np
import pytest
import torch

from ge2conn.nn.attention import alibi_bias, alibi_slopes, attention


def reference_attention(q, k, v, slopes):
    """Numpy float64 softmax attention, (B, L, H, D) layout; returns output and (B, H, L, L) weights."""
    q, k, v = (np.asarray(t, dtype=np.float64) for t in (q, k, v))
    length, head_size = q.shape[1], q.shape[3]
    scores = np.einsum("bihd,bjhd->bhij", q, k) / math.sqrt(head_size)
    if slopes is not None:
        positions = np.arange(length)
        scores = scores - np.asarray(slopes, dtype=np.float64)[None, :, None, None] * np.abs(
            positions[:, None] - positions[None, :]
        )
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights /= weights.sum(axis=-1, keepdims=True)
    return np.einsum("bhij,bjhd->bihd", weights, v), weights


def test_alibi_slopes_powers_of_two():
    np.testing.assert_allclose(alibi_slopes(4).numpy(), [1 / 4, 1 / 16, 1 / 64, 1 / 256])
    np.testing.assert_allclose(alibi_slopes(8).numpy(), [2.0 ** -(h + 1) for h in range(8)])
    np.testing.assert_allclose(alibi_slopes(2).numpy(), [1 / 16, 1 / 256])


def test_alibi_slopes_not_power_of_two():
    # 6 heads: the 4-head slopes, then every other slope of the 8-head sequence (2^-1, 2^-3).
    expected = [2.0**-2, 2.0**-4, 2.0**-6, 2.0**-8, 2.0**-1, 2.0**-3]
    np.testing.assert_allclose(alibi_slopes(6).numpy(), expected)
    assert alibi_slopes(3).shape == (3,)
    with pytest.raises(ValueError):
        alibi_slopes(0)


def test_alibi_bias_values():
    slopes = torch.tensor([0.5, 0.25], dtype=torch.float64)
    bias = alibi_bias(slopes, 4)
    assert bias.shape == (2, 4, 4)
    for head, slope in enumerate([0.5, 0.25]):
        for i in range(4):
            for j in range(4):
                assert bias[head, i, j].item() == pytest.approx(-slope * abs(i - j))


@pytest.mark.parametrize("use_alibi", [True, False])
def test_sdpa_matches_reference(use_alibi):
    generator = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(3, 7, 4, 5, generator=generator, dtype=torch.float64) for _ in range(3))
    slopes = torch.tensor([1.0, 0.5, 0.25, 0.125], dtype=torch.float64) if use_alibi else None
    expected, expected_weights = reference_attention(q, k, v, slopes)
    output = attention(q, k, v, slopes, 0.0)
    assert output.shape == (3, 7, 4, 5)
    np.testing.assert_allclose(output.numpy(), expected, atol=1e-12)
    output, weights = attention(q, k, v, slopes, 0.0, return_weights=True)
    np.testing.assert_allclose(output.numpy(), expected, atol=1e-12)
    np.testing.assert_allclose(weights.numpy(), expected_weights, atol=1e-12)
    np.testing.assert_allclose(weights.sum(-1).numpy(), 1.0, atol=1e-12)


def test_alibi_changes_the_result_in_float32():
    generator = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(2, 9, 4, 8, generator=generator) for _ in range(3))
    expected, _ = reference_attention(q, k, v, alibi_slopes(4))
    output = attention(q, k, v, alibi_slopes(4), 0.0)
    np.testing.assert_allclose(output.numpy(), expected, atol=1e-5)
    assert not torch.allclose(output, attention(q, k, v, None, 0.0), atol=1e-3)


def test_dropout_only_in_effect_when_asked():
    generator = torch.Generator().manual_seed(2)
    q, k, v = (torch.randn(2, 6, 2, 4, generator=generator) for _ in range(3))
    torch.manual_seed(0)
    dropped = attention(q, k, v, alibi_slopes(2), 0.5)
    assert not torch.allclose(dropped, attention(q, k, v, alibi_slopes(2), 0.0))


@pytest.mark.skipif(
    not torch.cuda.is_available() or importlib.util.find_spec("flash_attn") is None,
    reason="needs CUDA and flash-attn",
)
@pytest.mark.parametrize("use_alibi", [True, False])
def test_flash_matches_sdpa(use_alibi):
    generator = torch.Generator(device="cuda").manual_seed(0)
    q, k, v = (
        torch.randn(4, 123, 4, 32, generator=generator, device="cuda", dtype=torch.bfloat16) for _ in range(3)
    )
    slopes = alibi_slopes(4).cuda() if use_alibi else None
    flash = attention(q, k, v, slopes, 0.0)  # flash-attn path: CUDA + bf16
    sdpa = attention(q.float(), k.float(), v.float(), slopes, 0.0)  # fp32 → SDPA path
    torch.testing.assert_close(flash.float(), sdpa, atol=2e-2, rtol=2e-2)
