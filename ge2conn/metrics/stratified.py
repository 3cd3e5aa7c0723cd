"""``StratifiedPearson``: Pearson r per stratum of edges (distance, strength, hemisphere, network).

Region metadata is given at construction and kept as integer buffers (distance-bin code of every region pair,
hemisphere and network codes) that move with the module and are immune to module-wide float dtype casts. The
state is one float64 ``(S, 6)`` tensor of per-stratum moment sums, reduced by summation across processes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torchmetrics import Metric

from ge2conn.metrics.functional_stratified import (
    DISTANCE_BINS,
    MIN_EDGES,
    NUM_MOMENTS,
    STRENGTH_THRESHOLD,
    _stratified_compute,
    _stratified_update,
    region_pair_distance_bins,
    stratum_names,
)


class StratifiedPearson(Metric):
    """Pearson r within strata of edges; ``compute`` returns ``{"pearson_<stratum>": value}``.

    Strata (see :mod:`ge2conn.metrics.functional_stratified`): distance bins (``short``/``mid``/``long`` with
    the default thresholds), strength of the true value (``strong_positive``/``strong_negative``/``weak``),
    ``intra_hemispheric``/``inter_hemispheric``, and ``intra_<Network>``/``inter_<Network>`` for every
    network.

    Args:
        coordinates: Region centroids ``(R, 3)`` in MNI mm.
        hemisphere: ``(R,)`` integer codes: 0 left, 1 right, −1 midline/unknown (such edges are neither
            intra- nor inter-hemispheric).
        network: ``(R,)`` integer network codes in ``[0, len(network_names))``; negative means no network.
        network_names: Name of each network code (sanitized into metric names).
        distance_bins: Increasing distance thresholds in mm; bins are ``[0, b₀), [b₀, b₁), …, [b_last, ∞)``.
        strength_threshold: Edges with true value > t are strong positive, < −t strong negative.
        min_edges: Strata with fewer edges report NaN rather than a noisy number.
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False
    plot_lower_bound = -1.0
    plot_upper_bound = 1.0

    stratum_sums: Tensor
    distance_bin_table: Tensor
    hemisphere: Tensor
    network: Tensor

    def __init__(
        self,
        coordinates: Tensor,
        hemisphere: Tensor,
        network: Tensor,
        network_names: Sequence[str],
        distance_bins: Sequence[float] = DISTANCE_BINS,
        strength_threshold: float = STRENGTH_THRESHOLD,
        min_edges: int = MIN_EDGES,
    ) -> None:
        super().__init__()
        num_regions = coordinates.shape[0]
        coordinates = torch.as_tensor(coordinates)
        hemisphere = torch.as_tensor(hemisphere).reshape(-1).long()
        network = torch.as_tensor(network).reshape(-1).long()
        if hemisphere.numel() != num_regions or network.numel() != num_regions:
            raise ValueError(
                f"coordinates, hemisphere and network must describe the same regions, got {num_regions}, "
                f"{hemisphere.numel()} and {network.numel()}"
            )
        if network.numel() and int(network.max().item()) >= len(network_names):
            raise ValueError(f"network code {int(network.max().item())} has no name in network_names")
        self.names = [f"pearson_{name}" for name in stratum_names(distance_bins, network_names)]
        self.num_distance_bins = len(distance_bins) + 1
        self.num_networks = len(network_names)
        self.strength_threshold = float(strength_threshold)
        self.min_edges = int(min_edges)
        # Non-persistent: derived from the dataset, so checkpoints stay independent of it.
        self.register_buffer(
            "distance_bin_table", region_pair_distance_bins(coordinates, distance_bins), persistent=False
        )
        self.register_buffer("hemisphere", hemisphere, persistent=False)
        self.register_buffer("network", network, persistent=False)
        self.add_state(
            "stratum_sums",
            default=torch.zeros(len(self.names), NUM_MOMENTS, dtype=torch.float64),
            dist_reduce_fx="sum",
        )

    def update(self, preds: Tensor, target: Tensor, rows: Tensor, cols: Tensor) -> None:
        """Accumulate a batch of edges into its strata.

        Args:
            preds: Predicted values ``(B,)``.
            target: True values ``(B,)``.
            rows: First region index of each edge ``(B,)``.
            cols: Second region index of each edge ``(B,)``.
        """
        batch_sums = _stratified_update(
            preds.detach(),
            target.detach(),
            rows.to(self.distance_bin_table.device),
            cols.to(self.distance_bin_table.device),
            self.distance_bin_table,
            self.num_distance_bins,
            self.hemisphere,
            self.network,
            self.num_networks,
            self.strength_threshold,
        )
        self.stratum_sums = self.stratum_sums.to(torch.float64) + batch_sums.to(self.stratum_sums.device)

    def compute(self) -> dict[str, Tensor]:
        """Return ``{"pearson_<stratum>": float64 scalar}``; NaN for strata under ``min_edges``."""
        values = _stratified_compute(self.stratum_sums, self.min_edges)
        return {name: value for name, value in zip(self.names, values, strict=True)}
