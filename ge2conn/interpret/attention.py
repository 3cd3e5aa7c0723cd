"""SMT attention maps (ALiBi bias included), averaged over heads and regions, with the genes of each token.

Token layout (see :class:`ge2conn.nn.smt.SMTEncoder`): position 0 is [CLS] when the model has it; the
other positions are consecutive bins of ``token_size`` genes in reference (TSS) order, the last bin
zero-padded. A token's "received attention" is the mean over query positions of its column in the averaged
map: how much, on average, the other tokens read from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ge2conn.nn.smt import token_count, token_genes  # noqa: E402

CLS_NAME = "[CLS]"


@dataclass(frozen=True)
class TokenLayout:
    """Which genes each token position holds.

    Attributes:
        token_size: Genes per token.
        use_cls: Whether position 0 is the [CLS] token.
        gene_symbols: (G,) symbols in token order.
        gene_chromosomes: (G,) chromosome of each gene ("" when unknown).
    """

    token_size: int
    use_cls: bool
    gene_symbols: np.ndarray
    gene_chromosomes: np.ndarray

    @property
    def offset(self) -> int:
        """Position of the first gene token (1 with [CLS], else 0)."""
        return int(self.use_cls)

    @property
    def num_tokens(self) -> int:
        """Sequence length L, [CLS] included."""
        return token_count(len(self.gene_symbols), self.token_size, self.use_cls)

    def genes(self, position: int) -> np.ndarray:
        """Symbols of the genes at a token position (empty for [CLS])."""
        if position < self.offset:
            return np.asarray([], dtype=str)
        return self.gene_symbols[token_genes(position, self.token_size, self.use_cls)]

    def chromosomes(self, position: int) -> list[str]:
        """Distinct chromosomes of a token's genes, in order ("?" for unknown positions)."""
        if position < self.offset:
            return []
        genes = token_genes(position, self.token_size, self.use_cls)
        names = [name or "?" for name in self.gene_chromosomes[genes].tolist()]
        return list(dict.fromkeys(names))

    def name(self, position: int) -> str:
        """A short label: ``[CLS]`` or ``first_gene..last_gene``."""
        genes = self.genes(position)
        return CLS_NAME if position < self.offset else f"{genes[0]}..{genes[-1]}"

    def chromosome_boundaries(self) -> list[tuple[float, str]]:
        """Token-axis positions where a chromosome starts, with its name.

        Returns:
            ``(position, chromosome)`` pairs; the position is in image coordinates (token i spans
            ``i - 0.5 .. i + 0.5``), so a boundary inside a token falls inside its pixel.
        """
        names = np.asarray([name or "?" for name in self.gene_chromosomes.tolist()])
        starts = np.concatenate([[0], np.flatnonzero(names[1:] != names[:-1]) + 1])
        return [(self.offset + start / self.token_size - 0.5, str(names[start])) for start in starts]


def region_attention(
    network: torch.nn.Module, expression: torch.Tensor, coordinates: torch.Tensor, chunk_size: int = 16
) -> tuple[np.ndarray, np.ndarray]:
    """Head-averaged attention of every region: the last layer per region and every layer over regions.

    Args:
        network: An SMT (anything with ``attention_maps(expression, coordinates, regions)``).
        expression: (R, G) expression.
        coordinates: (R, 3) MNI coordinates.
        chunk_size: Regions encoded at once (bounds the memory of the (N, H, L, L) maps).

    Returns:
        ``last_layer`` (R, L, L) head-averaged last-layer maps, and ``layers`` (num_layers, L, L) head- and
        region-averaged maps of every layer.
    """
    last: list[np.ndarray] = []
    layer_sums: np.ndarray | None = None
    count = expression.shape[0]
    with torch.no_grad():
        for start in range(0, count, chunk_size):
            regions = torch.arange(start, min(start + chunk_size, count), device=expression.device)
            maps = network.attention_maps(expression, coordinates, regions)  # type: ignore[operator]
            heads_averaged = torch.stack([layer.float().mean(dim=1) for layer in maps])  # (layers, N, L, L)
            last.append(heads_averaged[-1].cpu().numpy())
            sums = heads_averaged.sum(dim=1).cpu().numpy().astype(np.float64)
            layer_sums = sums if layer_sums is None else layer_sums + sums
    assert layer_sums is not None
    return np.concatenate(last), layer_sums / count


def received_attention(attention_map: np.ndarray) -> np.ndarray:
    """Mean attention each token receives: the column means of an (L, L) row-stochastic map."""
    return np.asarray(attention_map, dtype=np.float64).mean(axis=0)


def top_tokens(
    attention_map: np.ndarray, layout: TokenLayout, scope: str, count: int
) -> list[dict[str, object]]:
    """The tokens that receive the most attention, with their genes.

    Args:
        attention_map: (L, L) averaged map.
        layout: Token layout.
        scope: Label of the rows (``"global"`` or a network name).
        count: How many tokens to list.

    Returns:
        One row per token, highest first: scope, rank, position, token, attention_received, chromosomes,
        number of genes and the genes (``;``-separated).
    """
    received = received_attention(attention_map)
    order = np.argsort(-received, kind="stable")[:count]
    return [
        {
            "scope": scope,
            "rank": rank + 1,
            "position": int(position),
            "token": layout.name(int(position)),
            "attention_received": float(received[position]),
            "chromosomes": ";".join(layout.chromosomes(int(position))),
            "num_genes": int(layout.genes(int(position)).size),
            "genes": ";".join(layout.genes(int(position)).tolist()),
        }
        for rank, position in enumerate(order)
    ]


def _mark_tokens(axis: Axes, layout: TokenLayout, both_axes: bool) -> None:
    boundaries = layout.chromosome_boundaries()
    for position, _ in boundaries[1:]:
        axis.axvline(position, color="white" if both_axes else "grey", linewidth=0.5, alpha=0.8)
        if both_axes:
            axis.axhline(position, color="white", linewidth=0.5, alpha=0.8)
    if layout.use_cls:
        axis.axvline(0.5, color="red", linewidth=0.8)
        if both_axes:
            axis.axhline(0.5, color="red", linewidth=0.8)
    # Chromosome names on the top axis, at the middle of each chromosome's span (thinned when crowded).
    edges = [position for position, _ in boundaries] + [layout.num_tokens - 0.5]
    middles = [(edges[index] + edges[index + 1]) / 2 for index in range(len(boundaries))]
    step = max(1, len(boundaries) // 24)
    top = axis.secondary_xaxis("top")
    top.set_xticks(middles[::step], [name for _, name in boundaries][::step], fontsize=6)
    ticks = [0] if layout.use_cls else []
    axis.set_xticks(ticks, [CLS_NAME] * len(ticks), fontsize=7, color="red")
    if both_axes:
        axis.set_yticks(ticks, [CLS_NAME] * len(ticks), fontsize=7, color="red")


def _draw_map(
    axis: Axes, attention_map: np.ndarray, layout: TokenLayout, title: str, difference: bool = False
) -> None:
    if difference:
        # Symmetric scale around 0: where a network reads more (red) or less (blue) than all regions do.
        span = float(np.quantile(np.abs(attention_map), 0.995)) or 1e-12
        image = axis.imshow(attention_map, cmap="RdBu_r", vmin=-span, vmax=span, interpolation="nearest")
    else:
        # The 99th percentile caps the colour scale: a few self-attention peaks would otherwise wash it out.
        ceiling = float(np.quantile(attention_map, 0.99)) or float(attention_map.max())
        image = axis.imshow(attention_map, cmap="magma", vmin=0.0, vmax=ceiling, interpolation="nearest")
    plt.colorbar(image, ax=axis, fraction=0.046, pad=0.04)
    _mark_tokens(axis, layout, both_axes=True)
    axis.set_title(title, fontsize=9)
    axis.set_xlabel("key token (chromosomes on top)", fontsize=8)
    axis.set_ylabel("query token", fontsize=8)


def global_attention_figure(attention_map: np.ndarray, layout: TokenLayout, title: str) -> Figure:
    """The averaged last-layer map beside the attention each token receives.

    Args:
        attention_map: (L, L) map averaged over heads and regions.
        layout: Token layout (chromosome boundaries, [CLS]).
        title: Figure title.

    Returns:
        The figure.
    """
    figure, axes = plt.subplots(
        1, 2, figsize=(13, 5.6), constrained_layout=True, gridspec_kw={"width_ratios": [1.1, 1.4]}
    )
    _draw_map(axes[0], attention_map, layout, "last layer, mean over heads and regions (ALiBi included)")
    received = received_attention(attention_map)
    colours = ["red" if position < layout.offset else "tab:blue" for position in range(received.size)]
    axes[1].bar(np.arange(received.size), received, width=1.0, color=colours)
    axes[1].axhline(1.0 / received.size, color="black", linestyle="--", linewidth=0.8, label="uniform 1/L")
    _mark_tokens(axes[1], layout, both_axes=False)
    axes[1].set_xlim(-0.5, received.size - 0.5)
    axes[1].set_title("attention received per token (column mean); grey lines: chromosome starts", fontsize=9)
    axes[1].set_ylabel("mean attention received", fontsize=8)
    axes[1].legend(fontsize=8)
    figure.suptitle(title)
    return figure


def network_attention_figure(
    maps: np.ndarray, names: list[str], layout: TokenLayout, title: str, reference: np.ndarray | None = None
) -> Figure:
    """One averaged last-layer map per network, or its difference from a reference map.

    The ALiBi bias makes every map mostly diagonal, so the maps of different networks look alike; drawing
    ``map - reference`` (the global map) shows where a network's regions attend differently.

    Args:
        maps: (K, L, L) maps, one per network.
        names: The K network names (with region counts, if wanted).
        layout: Token layout.
        title: Figure title.
        reference: (L, L) map subtracted from each network's (None: draw the maps themselves).

    Returns:
        The figure.
    """
    columns = min(3, len(names))
    rows = -(-len(names) // columns)
    figure, axes = plt.subplots(
        rows, columns, figsize=(4.8 * columns, 4.4 * rows), squeeze=False, constrained_layout=True
    )
    for axis, attention_map, name in zip(axes.flat, maps, names, strict=False):
        if reference is None:
            _draw_map(axis, attention_map, layout, name)
        else:
            _draw_map(axis, attention_map - reference, layout, f"{name} − global", difference=True)
    for axis in list(axes.flat)[len(names) :]:
        axis.set_visible(False)
    figure.suptitle(title)
    return figure
