"""The naive baseline: the reference implementation's design, written out plainly for the benchmarks.

The reference GeneEx2Conn pipeline (method §3.1, issue #9) works on pair *features*, not on region indices:

1. ``expand_pairs``: every ordered training pair (i, j) becomes one row ``[x_i ‖ x_j]`` of a host-side matrix
   (E, 2G), with its target ``Y[i, j]`` (the reference builds it with ``np.zeros``, i.e. float64; we keep
   float32, which only makes the baseline faster and smaller);
2. ``PairFeatureDataset``: a map-style Dataset over those rows, one sample per ``__getitem__``;
3. a ``DataLoader`` with the default per-sample collation (``torch.stack`` of B rows per batch);
4. ``ReferenceSMT``: the model splits each row into x_i and x_j and runs the *same* encoder weights on both
   halves, so a batch of B pairs costs 2B region encodings, then decodes ``[z_i ‖ z_j]`` with the MLP.

The encoder is a plain, independent transcription of the SMT architecture (value projection, post-LN layers
with a fused QKV projection, SDPA with a float ALiBi bias, output projection, flatten); its parameter names
match :class:`ge2conn.nn.smt.SMT`, so ``ReferenceSMT.load_state_dict(smt.state_dict())`` gives the same
function — the benchmarks check that before timing. Nothing here is used by ge2conn itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as functional
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, Sampler


def expand_pairs(expression: np.ndarray, connectivity: np.ndarray, pairs: np.ndarray) -> tuple[np.ndarray,
                                                                                                 np.ndarray]:
    """Materialize the feature row ``[x_i ‖ x_j]`` and target of every pair, one pair at a time.

    Args:
        expression: (R, G) float32 expression.
        connectivity: (R, R) float32 connectome.
        pairs: (E, 2) ordered region pairs.

    Returns:
        ``features`` (E, 2G) float32 and ``targets`` (E,) float32.
    """
    num_genes = expression.shape[1]
    features = np.zeros((pairs.shape[0], 2 * num_genes), dtype=np.float32)
    targets = np.zeros(pairs.shape[0], dtype=np.float32)
    for index, (first, second) in enumerate(pairs):  # the reference's per-pair Python loop
        features[index] = np.concatenate([expression[first], expression[second]])
        targets[index] = connectivity[first, second]
    return features, targets


def expanded_bytes(num_pairs: int, num_genes: int, itemsize: int = 4) -> int:
    """Bytes of the expanded (E, 2G) pair-feature matrix (itemsize 8 for the reference's float64)."""
    return num_pairs * 2 * num_genes * itemsize


class PairFeatureDataset(Dataset[tuple[Tensor, Tensor]]):
    """One ``([x_i ‖ x_j], y_ij)`` sample per index, from the expanded host-side matrix.

    Args:
        features: (E, 2G) pair features.
        targets: (E,) targets.
    """

    def __init__(self, features: np.ndarray, targets: np.ndarray) -> None:
        self.features = features
        self.targets = targets

    def __len__(self) -> int:
        return self.features.shape[0]

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return torch.from_numpy(self.features[index]), torch.tensor(self.targets[index])


class FixedOrderSampler(Sampler[int]):
    """Yield given dataset indices in order (so the baseline sees exactly the same batch as ge2conn)."""

    def __init__(self, indices: Sequence[int]) -> None:
        self.indices = list(indices)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def reference_loader(dataset: PairFeatureDataset, batch_size: int, order: Sequence[int] | None = None,
                     num_workers: int = 0) -> DataLoader[tuple[Tensor, Tensor]]:
    """A DataLoader with the default per-sample collation (shuffled unless ``order`` is given).

    The reference uses ``num_workers=2``; on a 2-core machine workers compete with the compute threads, so the
    benchmarks default to 0 (the collation cost is then on the critical path, as it is for any one batch).
    """
    sampler = FixedOrderSampler(order) if order is not None else None
    return DataLoader(dataset, batch_size=batch_size, shuffle=sampler is None, sampler=sampler,
                      num_workers=num_workers)


def _alibi(num_heads: int, length: int) -> Tensor:
    slopes = torch.tensor([2.0 ** (-8.0 * (head + 1) / num_heads) for head in range(num_heads)])
    distance = (torch.arange(length)[:, None] - torch.arange(length)[None, :]).abs().float()
    return (-slopes[:, None, None] * distance)[None]  # (1, H, L, L)


class _Layer(nn.Module):
    def __init__(self, width: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.feedforward = nn.Sequential(nn.Linear(width, 4 * width), nn.ReLU(), nn.Linear(4 * width, width))
        self.attention_norm = nn.LayerNorm(width)
        self.feedforward_norm = nn.LayerNorm(width)
        self.residual_dropout = nn.Dropout(dropout)

    def forward(self, tokens: Tensor, bias: Tensor) -> Tensor:
        batch, length, width = tokens.shape
        qkv = self.qkv(tokens).view(batch, length, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        attended = functional.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=bias)
        attended = attended.transpose(1, 2).reshape(batch, length, width)
        tokens = self.attention_norm(tokens + self.residual_dropout(self.out(attended)))
        return self.feedforward_norm(tokens + self.residual_dropout(self.feedforward(tokens)))


class _Encoder(nn.Module):
    def __init__(self, num_genes: int, token_size: int, width: int, d_out: int, layers: int, heads: int,
                 dropout: float) -> None:
        super().__init__()
        self.token_size = token_size
        self.padding = -num_genes % token_size
        self.value_projection = nn.Linear(token_size, width)
        self.layers = nn.ModuleList(_Layer(width, heads, dropout) for _ in range(layers))
        self.output_projection = nn.Linear(width, d_out)
        self.register_buffer("bias", _alibi(heads, -(-num_genes // token_size)), persistent=False)

    def forward(self, expression: Tensor) -> Tensor:
        tokens = functional.pad(expression, (0, self.padding)).view(expression.shape[0], -1, self.token_size)
        tokens = self.value_projection(tokens)
        for layer in self.layers:
            tokens = layer(tokens, self.bias)
        return self.output_projection(tokens).flatten(start_dim=1)


class ReferenceSMT(nn.Module):
    """SMT in the reference design: both halves of every pair row encoded separately, then the MLP decoder.

    Args:
        num_genes: Genes per region G (rows are 2G wide).
        token_size: Genes per token.
        d_model: Token width.
        d_out: Output width per token.
        num_layers: Transformer layers.
        num_heads: Attention heads.
        dropout: Transformer dropout.
        decoder_hidden_sizes: Hidden widths of the decoder MLP.
        decoder_dropout: Decoder dropout.
    """

    def __init__(self, num_genes: int, token_size: int = 60, d_model: int = 128, d_out: int = 10,
                 num_layers: int = 4, num_heads: int = 4, dropout: float = 0.2,
                 decoder_hidden_sizes: Sequence[int] = (512, 256, 128), decoder_dropout: float = 0.2) -> None:
        super().__init__()
        self.encoder = _Encoder(num_genes, token_size, d_model, d_out, num_layers, num_heads, dropout)
        self.decoder = ReferenceMLPHead(2 * d_out * math.ceil(num_genes / token_size), decoder_hidden_sizes,
                                        decoder_dropout)

    def forward(self, pair_features: Tensor) -> Tensor:
        """(B, 2G) pair rows → (B,) predictions."""
        first, second = torch.chunk(pair_features, 2, dim=1)
        return self.decoder(torch.cat([self.encoder(first), self.encoder(second)], dim=1))


class ReferenceMLPHead(nn.Module):
    """``Linear → ReLU → BatchNorm1d → Dropout`` blocks, then ``Linear → 1`` (names match PairDecoder)."""

    def __init__(self, in_features: int, hidden_sizes: Sequence[int], dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for width in hidden_sizes:
            layers += [nn.Linear(in_features, width), nn.ReLU(), nn.BatchNorm1d(width), nn.Dropout(dropout)]
            in_features = width
        self.mlp = nn.Sequential(*layers, nn.Linear(in_features, 1))

    def forward(self, features: Tensor) -> Tensor:
        """(B, F) → (B,)."""
        return self.mlp(features).squeeze(-1)


class ReferenceMLP(nn.Module):
    """The reference MLP: the decoder head applied to the raw pair row ``[x_i ‖ x_j]``."""

    def __init__(self, num_genes: int, hidden_sizes: Sequence[int] = (512, 256, 128),
                 dropout: float = 0.2) -> None:
        super().__init__()
        self.decoder = ReferenceMLPHead(2 * num_genes, hidden_sizes, dropout)

    def forward(self, pair_features: Tensor) -> Tensor:
        """(B, 2G) pair rows → (B,) predictions."""
        return self.decoder(pair_features)


def load_matching_weights(reference: nn.Module, source: nn.Module) -> None:
    """Copy a ge2conn model's weights into the reference model (names match; extra buffers skipped)."""
    own = reference.state_dict()
    shared = {name: value for name, value in source.state_dict().items() if name in own}
    missing = set(own) - set(shared)
    if missing:
        raise KeyError(f"reference parameters without a ge2conn counterpart: {sorted(missing)}")
    reference.load_state_dict(shared)
