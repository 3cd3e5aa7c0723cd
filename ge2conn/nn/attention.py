"""Bidirectional multi-head attention with optional ALiBi biases, on flash-attn or PyTorch SDPA.

ALiBi sign convention: the bias added to the score of query i and key j in head h is
``B[h, i, j] = -m_h * |i - j|`` with positive slopes m_h. flash-attn's ``flash_attn_func(...,
alibi_slopes=...)`` documents its bias as ``-alibi_slope * |i + seqlen_k - seqlen_q - j|``; for
self-attention (seqlen_q == seqlen_k) with ``causal=False`` that is the same ``-m_h * |i - j|``, so the same
positive slopes go to both backends (checked by ``test_flash_matches_sdpa`` on CUDA machines).
"""

import math
from typing import Literal, overload

import torch
import torch.nn.functional as functional
from torch import Tensor

try:  # flash-attn is an optional CUDA-only extra (``pip install ge2conn[flash]``).
    from flash_attn import flash_attn_func
except ImportError:  # pragma: no cover - depends on the environment
    flash_attn_func = None


def _power_of_two_slopes(num_heads: int) -> list[float]:
    start = 2.0 ** (-8.0 / num_heads)
    return [start ** (head + 1) for head in range(num_heads)]


def alibi_slopes(num_heads: int) -> Tensor:
    """The standard ALiBi slopes: a geometric sequence ending at 2^-8.

    For a power of two n the slopes are ``2^(-8 (h + 1) / n)``, h = 0..n-1 (4 heads: 1/4, 1/16, 1/64, 1/256).
    Otherwise, as in the ALiBi paper, take the slopes of the largest power of two p below n, then every
    other slope of 2p until n slopes are reached.

    Args:
        num_heads: Number of attention heads, at least 1.

    Returns:
        (num_heads,) float32 slopes, all positive.
    """
    if num_heads < 1:
        raise ValueError(f"num_heads must be at least 1, got {num_heads}")
    if num_heads & (num_heads - 1) == 0:
        return torch.tensor(_power_of_two_slopes(num_heads), dtype=torch.float32)
    closest_power = 2 ** math.floor(math.log2(num_heads))
    slopes = _power_of_two_slopes(closest_power)
    slopes += _power_of_two_slopes(2 * closest_power)[0::2][: num_heads - closest_power]
    return torch.tensor(slopes, dtype=torch.float32)


def alibi_bias(slopes: Tensor, seq_len: int) -> Tensor:
    """The additive ALiBi bias ``B[h, i, j] = -slopes[h] * |i - j|``.

    Args:
        slopes: (H,) positive slopes.
        seq_len: Sequence length L.

    Returns:
        (H, L, L) bias, same dtype and device as ``slopes``.
    """
    positions = torch.arange(seq_len, device=slopes.device, dtype=slopes.dtype)
    distance = (positions[:, None] - positions[None, :]).abs()
    return -slopes[:, None, None] * distance


def _use_flash(query: Tensor, return_weights: bool) -> bool:
    return (
        flash_attn_func is not None
        and query.is_cuda
        and query.dtype in (torch.float16, torch.bfloat16)
        and not return_weights
    )


CPU_ATTENTION_IN_FLOAT32 = True
"""Run CPU attention in float32 under bf16/fp16 autocast (faster on CPU; see :func:`attention`)."""


@overload
def attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    alibi_slopes: Tensor | None,
    dropout_p: float = ...,
    return_weights: Literal[False] = ...,
) -> Tensor: ...


@overload
def attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    alibi_slopes: Tensor | None,
    dropout_p: float,
    return_weights: Literal[True],
) -> tuple[Tensor, Tensor]: ...


def attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    alibi_slopes: Tensor | None,
    dropout_p: float = 0.0,
    return_weights: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Non-causal scaled dot-product attention ``softmax(Q Kᵀ / √d_h + B) V`` with optional ALiBi bias B.

    Backend: flash-attn when it is importable, the tensors are on CUDA in fp16/bf16 and no weights are
    requested; otherwise PyTorch's ``scaled_dot_product_attention`` with a float additive bias (a fused kernel
    on CPU and GPU); with ``return_weights`` an explicit softmax, so the weights can be returned.

    Args:
        query: (B, L, H, D_h) queries.
        key: (B, L, H, D_h) keys.
        value: (B, L, H, D_h) values.
        alibi_slopes: (H,) positive ALiBi slopes, or None for no positional bias.
        dropout_p: Dropout probability on the attention weights (pass 0 in evaluation).
        return_weights: Also return the attention weights.

    Returns:
        (B, L, H, D_h) attended values; with ``return_weights`` also the (B, H, L, L) weights
        ``softmax(Q Kᵀ / √d_h + B)`` (before dropout, ALiBi bias included).
    """
    seq_len, head_size = query.shape[1], query.shape[3]
    if _use_flash(query, return_weights):
        slopes = None if alibi_slopes is None else alibi_slopes.to(device=query.device, dtype=torch.float32)
        assert flash_attn_func is not None  # narrowed by _use_flash, for the type checker
        output: Tensor = flash_attn_func(
            query,
            key,
            value,
            dropout_p,
            softmax_scale=1.0 / math.sqrt(head_size),
            causal=False,
            alibi_slopes=slopes,
            # flash-attn's backward adds into dQ with atomics unless asked not to (at some speed cost).
            deterministic=torch.are_deterministic_algorithms_enabled(),
        )
        return output

    # SDPA and the explicit path work in (B, H, L, D_h); this is the only place the layout changes.
    query, key, value = (tensor.transpose(1, 2) for tensor in (query, key, value))
    bias = None
    if alibi_slopes is not None:
        # A leading batch axis: torch 2.13's fused CPU kernel takes a 4-D float mask, a 3-D one falls back to
        # the unfused math path.
        bias = alibi_bias(alibi_slopes.to(device=query.device, dtype=query.dtype), seq_len)[None]

    if not return_weights:
        half = query.dtype in (torch.bfloat16, torch.float16)
        if query.device.type == "cpu" and half and CPU_ATTENTION_IN_FLOAT32:
            # CPU bf16 autocast: the fused CPU SDPA kernel is ~2x slower in bf16 than in float32 (forward +
            # backward at 123 tokens, benchmarks/README.md), so the attention itself runs in float32.
            with torch.autocast("cpu", enabled=False):
                output = functional.scaled_dot_product_attention(
                    query.float(), key.float(), value.float(),
                    attn_mask=None if bias is None else bias.float(), dropout_p=dropout_p,
                )
            return output.to(query.dtype).transpose(1, 2)
        output = functional.scaled_dot_product_attention(
            query, key, value, attn_mask=bias, dropout_p=dropout_p
        )
        return output.transpose(1, 2)

    scores = query @ key.transpose(-2, -1) / math.sqrt(head_size)
    if bias is not None:
        scores = scores + bias
    weights = scores.softmax(dim=-1)
    dropped = functional.dropout(weights, p=dropout_p) if dropout_p > 0 else weights
    return (dropped @ value).transpose(1, 2), weights
