"""SMT attention maps (ALiBi bias included), averaged over heads and regions, with the genes of each token.

Token layout (see :class:`ge2conn.nn.smt.SMTEncoder`): position 0 is [CLS] when the model has it; the
other positions are consecutive bins of ``token_size`` genes in reference (TSS) order, the last bin
zero-padded. A token's "received attention" is the mean over query positions of its column in the averaged
map: how much, on average, the other tokens read from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

from ge2conn.figures import new_figure
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


@dataclass(frozen=True)
class AttentionSummary:
    """Attention of an SMT over all regions (ALiBi bias included).

    Attributes:
        last_layer: (R, L, L) head-averaged last-layer map of each region.
        layers: (num_layers, L, L) head- and region-averaged map of every layer.
        last_layer_heads: (H, L, L) region-averaged last-layer map of each head.
    """

    last_layer: np.ndarray
    layers: np.ndarray
    last_layer_heads: np.ndarray


def attention_summary(
    network: torch.nn.Module, expression: torch.Tensor, coordinates: torch.Tensor, chunk_size: int = 16
) -> AttentionSummary:
    """Average the attention maps of every region, per layer, per region and per head.

    Args:
        network: An SMT (anything with ``attention_maps(expression, coordinates, regions)``).
        expression: (R, G) expression.
        coordinates: (R, 3) MNI coordinates.
        chunk_size: Regions encoded at once (bounds the memory of the (N, H, L, L) maps).

    Returns:
        The summary.
    """
    last: list[np.ndarray] = []
    layer_sums: np.ndarray | None = None
    head_sums: np.ndarray | None = None
    count = expression.shape[0]
    with torch.no_grad():
        for start in range(0, count, chunk_size):
            regions = torch.arange(start, min(start + chunk_size, count), device=expression.device)
            maps = network.attention_maps(expression, coordinates, regions)  # type: ignore[operator]
            heads_averaged = torch.stack([layer.float().mean(dim=1) for layer in maps])  # (layers, N, L, L)
            last.append(heads_averaged[-1].cpu().numpy())
            sums = heads_averaged.sum(dim=1).cpu().numpy().astype(np.float64)
            layer_sums = sums if layer_sums is None else layer_sums + sums
            heads = maps[-1].float().sum(dim=0).cpu().numpy().astype(np.float64)  # (H, L, L)
            head_sums = heads if head_sums is None else head_sums + heads
    assert layer_sums is not None and head_sums is not None
    return AttentionSummary(np.concatenate(last), layer_sums / count, head_sums / count)


def region_attention(
    network: torch.nn.Module, expression: torch.Tensor, coordinates: torch.Tensor, chunk_size: int = 16
) -> tuple[np.ndarray, np.ndarray]:
    """``(last_layer, layers)`` of :func:`attention_summary` (same arguments), without the per-head maps."""
    summary = attention_summary(network, expression, coordinates, chunk_size)
    return summary.last_layer, summary.layers


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


ATTENTION_LABEL = "attention weight (each query row sums to 1)"
DIFFERENCE_LABEL = "attention difference from the global map"


def _readable_labels(
    middles: list[float], names: list[str], num_tokens: int
) -> tuple[list[float], list[str]]:
    """Keep chromosome labels at least ~1/26 of the axis apart (short chromosomes lose theirs)."""
    spacing = num_tokens / 26
    kept_middles: list[float] = []
    kept_names: list[str] = []
    for middle, name in zip(middles, names, strict=True):
        if not kept_middles or middle - kept_middles[-1] >= spacing:
            kept_middles.append(middle)
            kept_names.append(name)
    return kept_middles, kept_names


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
    # Chromosome names on the top axis, at the middle of each chromosome's span (crowded ones dropped).
    edges = [position for position, _ in boundaries] + [layout.num_tokens - 0.5]
    middles = [(edges[index] + edges[index + 1]) / 2 for index in range(len(boundaries))]
    shown, names = _readable_labels(middles, [name for _, name in boundaries], layout.num_tokens)
    top = axis.secondary_xaxis("top")
    top.set_xticks(shown, names, fontsize=6)
    top.tick_params(length=2, pad=1)
    ticks = [0] if layout.use_cls else []
    axis.set_xticks(ticks, [CLS_NAME] * len(ticks), fontsize=7, color="red")
    if both_axes:
        axis.set_yticks(ticks, [CLS_NAME] * len(ticks), fontsize=7, color="red")


def attention_limit(maps: np.ndarray, difference: bool) -> float:
    """A colour limit shared by several maps: the 99.5th percentile of |difference|, or the 99th of the maps.

    The percentile keeps a few self-attention peaks from washing out the scale.
    """
    values = np.abs(maps) if difference else np.asarray(maps)
    limit = float(np.quantile(values, 0.995 if difference else 0.99))
    return limit if limit > 0 else float(np.max(values)) or 1e-12


def _draw_map(axis: Axes, attention_map: np.ndarray, layout: TokenLayout, title: str, limit: float,
              difference: bool = False) -> AxesImage:
    if difference:  # symmetric around 0: where a network reads more (red) or less (blue) than all regions
        image = axis.imshow(attention_map, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
    else:
        image = axis.imshow(attention_map, cmap="magma", vmin=0.0, vmax=limit, interpolation="nearest")
    _mark_tokens(axis, layout, both_axes=True)
    axis.set_title(title, fontsize=9)
    axis.set_xlabel("key token (gene bins in TSS order; chromosomes on top)", fontsize=7)
    axis.set_ylabel("query token", fontsize=7)
    return image


def global_attention_figure(attention_map: np.ndarray, layout: TokenLayout, title: str) -> Figure:
    """The averaged last-layer map beside the attention each token receives.

    Args:
        attention_map: (L, L) map averaged over heads and regions.
        layout: Token layout (chromosome boundaries, [CLS]).
        title: Figure title.

    Returns:
        The figure.
    """
    figure = new_figure(13.0, 5.6)
    axes = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1.4]})
    limit = attention_limit(attention_map, difference=False)
    image = _draw_map(axes[0], attention_map, layout,
                      "last layer, mean over heads and regions (ALiBi included)", limit)
    figure.colorbar(image, ax=axes[0], fraction=0.046, pad=0.04, label=ATTENTION_LABEL, extend="max")
    received = received_attention(attention_map)
    colours = ["red" if position < layout.offset else "tab:blue" for position in range(received.size)]
    axes[1].bar(np.arange(received.size), received, width=1.0, color=colours)
    axes[1].axhline(1.0 / received.size, color="black", linestyle="--", linewidth=0.8, label="uniform 1/L")
    _mark_tokens(axes[1], layout, both_axes=False)
    axes[1].set_xlim(-0.5, received.size - 0.5)
    axes[1].set_title("attention received per token (column mean); grey lines: chromosome starts", fontsize=9)
    axes[1].set_ylabel("mean attention received", fontsize=8)
    axes[1].set_xlabel("key token", fontsize=8)
    axes[1].legend(fontsize=8)
    figure.suptitle(title)
    return figure


def attention_grid_figure(
    maps: np.ndarray, names: list[str], layout: TokenLayout, title: str, reference: np.ndarray | None = None
) -> Figure:
    """One map per panel (a network, a head, ...) on one shared colour scale, or each minus a reference.

    The ALiBi bias makes every map mostly diagonal, so the maps of different networks look alike; drawing
    ``map - reference`` (the global map) shows where a network's regions attend differently.

    Args:
        maps: (K, L, L) maps.
        names: The K panel names (with region counts, if wanted).
        layout: Token layout.
        title: Figure title.
        reference: (L, L) map subtracted from each (None: draw the maps themselves).

    Returns:
        The figure.
    """
    difference = reference is not None
    drawn = np.asarray(maps) - reference if reference is not None else np.asarray(maps)
    limit = attention_limit(drawn, difference)
    columns = min(4, len(names))
    rows = -(-len(names) // columns)
    figure = new_figure(3.4 * columns + 0.8, 3.3 * rows + 0.5, dpi=90)
    axes = figure.subplots(rows, columns, squeeze=False)
    image: AxesImage | None = None
    for axis, attention_map, name in zip(axes.flat, drawn, names, strict=False):
        image = _draw_map(axis, attention_map, layout, f"{name} − global" if difference else name, limit,
                          difference)
        axis.set_xlabel("key token", fontsize=7)
    for axis in list(axes.flat)[len(names) :]:
        axis.set_visible(False)
    assert image is not None
    figure.colorbar(image, ax=axes, shrink=0.6, extend="both" if difference else "max",
                    label=DIFFERENCE_LABEL if difference else ATTENTION_LABEL)
    figure.suptitle(f"{title}\none colour scale for all panels", fontsize=10)
    return figure

