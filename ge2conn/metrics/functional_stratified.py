"""Functional Pearson r per stratum of edges (distance, strength, hemisphere, network).

Strata, in the order of :func:`stratum_names` (an edge belongs to several):

- distance between the two region centroids (MNI mm), bins ``[0, b₀), [b₀, b₁), …, [b_last, ∞)``; with the
  default thresholds (60, 120) they are named ``short`` (< 60 mm), ``mid`` (60–120 mm) and ``long``
  (≥ 120 mm);
- strength of the TRUE value y: ``strong_positive`` (y > t), ``strong_negative`` (y < −t), ``weak``
  (otherwise);
- ``intra_hemispheric`` / ``inter_hemispheric``; an edge with an end of unknown hemisphere (code −1, e.g.
  midline structures) belongs to neither;
- for every network k: ``intra_<k>`` (both ends in k) and ``inter_<k>`` (exactly one end in k). Regions with a
  negative network code belong to no network.

Each stratum keeps float64 moment sums ``[n, Σx, Σy, Σx², Σy², Σxy]`` (see :mod:`ge2conn.metrics.functional`
for the cancellation bound); a stratum with fewer than ``min_edges`` edges reports NaN.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch
from torch import Tensor

from ge2conn.metrics.functional import _as_float64_vector, _pearson_from_sums

STRENGTH_NAMES = ("strong_positive", "strong_negative", "weak")
HEMISPHERE_NAMES = ("intra_hemispheric", "inter_hemispheric")
NUM_MOMENTS = 6
# Defaults of the stratified metric, shared by the functional form, the Metric class and the collection.
DISTANCE_BINS = (60.0, 120.0)
"""Distance thresholds in mm between the short, medium and long strata."""
STRENGTH_THRESHOLD = 0.3
"""|true value| above which an edge is strong positive / strong negative."""
MIN_EDGES = 50
"""Strata with fewer edges report NaN."""


def sanitize_name(name: str) -> str:
    """Make a label safe for a metric name: runs of characters other than letters and digits become ``_``.

    Args:
        name: A free-text label such as ``"Dorsal Attention"``.

    Returns:
        The sanitized label, e.g. ``"Dorsal_Attention"``.
    """
    cleaned = re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_")
    return cleaned or "unnamed"


def distance_bin_names(distance_bins: Sequence[float]) -> list[str]:
    """Names of the distance strata: short/mid/long for two thresholds, ``distance_<lo>_<hi>`` otherwise.

    Args:
        distance_bins: Increasing thresholds in mm.

    Returns:
        One name per bin (``len(distance_bins) + 1`` names).
    """
    thresholds = [float(value) for value in distance_bins]
    if any(later <= earlier for earlier, later in zip(thresholds, thresholds[1:], strict=False)):
        raise ValueError(f"distance_bins must be strictly increasing, got {distance_bins}")
    if len(thresholds) == 2:
        return ["short", "mid", "long"]
    edges = [0.0, *thresholds, float("inf")]
    return [sanitize_name(f"distance_{low:g}_{high:g}") for low, high in zip(edges, edges[1:], strict=False)]


def stratum_names(distance_bins: Sequence[float], network_names: Sequence[str]) -> list[str]:
    """All stratum names in state order (without the ``pearson_`` prefix).

    Args:
        distance_bins: Increasing distance thresholds in mm.
        network_names: Name of each network code 0..K−1.

    Returns:
        The names; network names are sanitized and must stay distinct.
    """
    networks = [sanitize_name(name) for name in network_names]
    if len(set(networks)) != len(networks):
        raise ValueError(f"network names are not distinct after sanitizing: {networks}")
    return [
        *distance_bin_names(distance_bins),
        *STRENGTH_NAMES,
        *HEMISPHERE_NAMES,
        *(f"intra_{name}" for name in networks),
        *(f"inter_{name}" for name in networks),
    ]


def region_pair_distance_bins(coordinates: Tensor, distance_bins: Sequence[float]) -> Tensor:
    """Distance-bin code of every region pair, precomputed once in float64.

    Args:
        coordinates: Region centroids ``(R, 3)`` in MNI mm.
        distance_bins: Increasing thresholds in mm; bin k holds distances in ``[b_{k−1}, b_k)``.

    Returns:
        An ``int32`` ``(R, R)`` table of bin codes (an integer table is immune to the dtype casts that
        Lightning applies to modules, unlike float coordinates).
    """
    if coordinates.ndim != 2 or coordinates.shape[1] != 3:
        raise ValueError(f"coordinates must have shape (R, 3), got {tuple(coordinates.shape)}")
    points = coordinates.to(torch.float64)
    distances = torch.cdist(points, points)
    thresholds = torch.tensor(
        [float(value) for value in distance_bins], dtype=torch.float64, device=points.device
    )
    # int32, not int16: gloo (DDP on CPU) cannot broadcast int16 buffers.
    return torch.bucketize(distances, thresholds, right=True).to(torch.int32)


def _stratified_update(
    preds: Tensor,
    target: Tensor,
    rows: Tensor,
    cols: Tensor,
    distance_bin_table: Tensor,
    num_distance_bins: int,
    hemisphere: Tensor,
    network: Tensor,
    num_networks: int,
    strength_threshold: float,
) -> Tensor:
    """Per-stratum moment sums of one batch.

    Args:
        preds: Predicted edge values ``(B,)``.
        target: True edge values ``(B,)``.
        rows: First region index of each edge ``(B,)``.
        cols: Second region index of each edge ``(B,)``.
        distance_bin_table: ``(R, R)`` distance-bin codes from :func:`region_pair_distance_bins`.
        num_distance_bins: D, the number of distance bins (thresholds + 1).
        hemisphere: ``(R,)`` codes, 0 left, 1 right, negative unknown.
        network: ``(R,)`` network codes in ``[0, num_networks)``, negative for none.
        num_networks: K, the number of networks.
        strength_threshold: t of the strength strata.

    Returns:
        A float64 ``(S, 6)`` tensor of ``[n, Σx, Σy, Σx², Σy², Σxy]`` per stratum, S = D + 5 + 2K.
    """
    x = _as_float64_vector(preds)
    y = _as_float64_vector(target)
    if x.numel() != y.numel():
        raise ValueError(
            f"preds and target must have the same number of elements, got {x.numel()} and {y.numel()}"
        )
    rows = rows.reshape(-1).long()
    cols = cols.reshape(-1).long()
    strength_offset = num_distance_bins
    hemisphere_offset = strength_offset + len(STRENGTH_NAMES)
    intra_network_offset = hemisphere_offset + len(HEMISPHERE_NAMES)
    inter_network_offset = intra_network_offset + num_networks
    num_strata = inter_network_offset + num_networks

    edge_index = torch.arange(x.numel(), device=x.device)
    member_edges: list[Tensor] = []
    member_strata: list[Tensor] = []

    def add(mask: Tensor, stratum: Tensor) -> None:
        member_edges.append(edge_index[mask])
        member_strata.append(stratum[mask])

    everything = torch.ones_like(edge_index, dtype=torch.bool)
    add(everything, distance_bin_table[rows, cols].long())
    strength = torch.full_like(edge_index, strength_offset + 2)
    strength = torch.where(y > strength_threshold, strength_offset, strength)
    strength = torch.where(y < -strength_threshold, strength_offset + 1, strength)
    add(everything, strength)

    row_hemisphere, col_hemisphere = hemisphere[rows], hemisphere[cols]
    known_hemispheres = (row_hemisphere >= 0) & (col_hemisphere >= 0)
    add(known_hemispheres, hemisphere_offset + (row_hemisphere != col_hemisphere).long())

    row_network, col_network = network[rows].long(), network[cols].long()
    different = row_network != col_network
    add(~different & (row_network >= 0), intra_network_offset + row_network)
    add(different & (row_network >= 0), inter_network_offset + row_network)
    add(different & (col_network >= 0), inter_network_offset + col_network)

    moments = torch.stack([torch.ones_like(x), x, y, x * x, y * y, x * y], dim=1)
    sums = torch.zeros(num_strata, NUM_MOMENTS, dtype=torch.float64, device=x.device)
    sums.index_add_(0, torch.cat(member_strata), moments[torch.cat(member_edges)])
    return sums


def _stratified_compute(sums: Tensor, min_edges: int) -> Tensor:
    """Pearson r per stratum; NaN where a stratum has fewer than ``min_edges`` edges or zero variance.

    Args:
        sums: ``(S, 6)`` summed moments.
        min_edges: Smallest edge count that yields a number.

    Returns:
        A float64 ``(S,)`` tensor.
    """
    r = _pearson_from_sums(sums)
    too_small = sums[:, 0] < max(min_edges, 2)
    return torch.where(too_small, torch.full_like(r, float("nan")), r)


def stratified_pearson(
    preds: Tensor,
    target: Tensor,
    rows: Tensor,
    cols: Tensor,
    coordinates: Tensor,
    hemisphere: Tensor,
    network: Tensor,
    network_names: Sequence[str],
    distance_bins: Sequence[float] = DISTANCE_BINS,
    strength_threshold: float = STRENGTH_THRESHOLD,
    min_edges: int = MIN_EDGES,
) -> dict[str, Tensor]:
    """One-shot stratified Pearson r (see the module docstring for the strata).

    Args:
        preds: Predicted edge values ``(E,)``.
        target: True edge values ``(E,)``.
        rows: First region index of each edge.
        cols: Second region index of each edge.
        coordinates: Region centroids ``(R, 3)`` in MNI mm.
        hemisphere: ``(R,)`` hemisphere codes (0 left, 1 right, −1 unknown).
        network: ``(R,)`` network codes.
        network_names: Name of each network code.
        distance_bins: Increasing distance thresholds in mm.
        strength_threshold: |y| above which an edge is strong.
        min_edges: Strata with fewer edges report NaN.

    Returns:
        ``{"pearson_<stratum>": float64 scalar}`` in :func:`stratum_names` order.
    """
    names = stratum_names(distance_bins, network_names)
    table = region_pair_distance_bins(coordinates, distance_bins)
    sums = _stratified_update(
        preds,
        target,
        rows,
        cols,
        table,
        len(distance_bins) + 1,
        hemisphere,
        network,
        len(network_names),
        strength_threshold,
    )
    values = _stratified_compute(sums, min_edges)
    return {f"pearson_{name}": value for name, value in zip(names, values, strict=True)}
