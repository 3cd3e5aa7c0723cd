"""The edge-metric collection every task uses, and the plain-float results dict the experiment runner writes.

Usage in a task (one collection per split)::

    self.val_metrics = build_edge_metrics("val", coordinates, hemisphere, network, network_names)
    # validation_step:
    self.val_metrics.update(preds=preds, target=target, rows=rows, cols=cols)
    # on_validation_epoch_end:
    self.log_dict(self.val_metrics.compute())
    self.val_metrics.reset()

Call ``update`` + ``compute`` rather than logging the collection object itself: ``log_dict(collection)`` would
call each metric's ``forward`` per step (a geodesic distance on a partial matrix) and cannot log the
stratified metric, whose ``compute`` returns a dict. ``compute`` synchronizes the states across processes
under DDP.

Logged names (``{prefix}`` is ``val`` or ``test``): ``{prefix}/pearson``, ``/spearman``, ``/r2``, ``/mse``,
``/mae``, ``/geodesic`` (and ``/geodesic_legacy`` on request), and from the stratified metric
``{prefix}/pearson_<stratum>`` (see :func:`edge_metric_names`).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor
from torchmetrics import Metric, MetricCollection

from ge2conn.metrics.functional_geodesic import DEFAULT_SHRINKAGE
from ge2conn.metrics.functional_stratified import DISTANCE_BINS, MIN_EDGES, STRENGTH_THRESHOLD, stratum_names
from ge2conn.metrics.geodesic import GeodesicDistance
from ge2conn.metrics.regression import MeanAbsoluteError, MeanSquaredError, PearsonR, RSquared, SpearmanRho
from ge2conn.metrics.stratified import StratifiedPearson

GLOBAL_METRIC_NAMES = ("pearson", "spearman", "r2", "mse", "mae")
HEADLINE_METRIC_NAMES = (
    *GLOBAL_METRIC_NAMES,
    "geodesic",
    "pearson_short",
    "pearson_long",
    "pearson_inter_hemispheric",
    "pearson_strong_positive",
)
"""The test metrics shown in summaries (the demo's table, the shipped checkpoint's README), in that order."""


def _normalized_prefix(prefix: str) -> str:
    cleaned = prefix.strip("/")
    if not cleaned:
        raise ValueError("prefix must be a non-empty split name such as 'val' or 'test'")
    return f"{cleaned}/"


def build_edge_metrics(
    prefix: str,
    coordinates: Tensor,
    hemisphere: Tensor,
    network: Tensor,
    network_names: Sequence[str],
    distance_bins: Sequence[float] = DISTANCE_BINS,
    strength_threshold: float = STRENGTH_THRESHOLD,
    min_edges: int = MIN_EDGES,
    geodesic_shrinkage: float = DEFAULT_SHRINKAGE,
    include_stratified: bool = True,
    include_geodesic: bool = True,
    include_legacy_geodesic: bool = False,
) -> MetricCollection:
    """Build the standard edge-metric collection of one split.

    Args:
        prefix: Split name, e.g. ``"val"`` or ``"test"``; metric names become ``"{prefix}/<name>"``.
        coordinates: Region centroids ``(R, 3)`` in MNI mm.
        hemisphere: ``(R,)`` integer codes (0 left, 1 right, −1 unknown).
        network: ``(R,)`` integer network codes (negative: none).
        network_names: Name of each network code.
        distance_bins: Distance thresholds in mm of the distance strata.
        strength_threshold: |true value| above which an edge is a strong positive/negative edge.
        min_edges: Strata with fewer edges report NaN.
        geodesic_shrinkage: Shrinkage α of the geodesic distance.
        include_stratified: Add the stratified Pearson r values.
        include_geodesic: Add the geodesic distance.
        include_legacy_geodesic: Also add ``geodesic_legacy``, the paper's reference formula.

    Returns:
        A ``MetricCollection``; ``collection.update(preds=..., target=..., rows=..., cols=...)`` feeds every
        metric.
    """
    metrics: dict[str, Metric | MetricCollection] = {
        "pearson": PearsonR(warn_near_flat=_normalized_prefix(prefix) == "test/"),
        "spearman": SpearmanRho(),
        "r2": RSquared(),
        "mse": MeanSquaredError(),
        "mae": MeanAbsoluteError(),
    }
    if include_geodesic:
        metrics["geodesic"] = GeodesicDistance(shrinkage=geodesic_shrinkage)
    if include_legacy_geodesic:
        metrics["geodesic_legacy"] = GeodesicDistance(shrinkage=geodesic_shrinkage, legacy=True)
    if include_stratified:
        # Its compute() returns a dict; MetricCollection flattens it to "{prefix}/pearson_<stratum>".
        metrics["stratified"] = StratifiedPearson(
            coordinates=coordinates,
            hemisphere=hemisphere,
            network=network,
            network_names=network_names,
            distance_bins=distance_bins,
            strength_threshold=strength_threshold,
            min_edges=min_edges,
        )
    return MetricCollection(metrics, prefix=_normalized_prefix(prefix))


def edge_metric_names(
    prefix: str,
    network_names: Sequence[str],
    distance_bins: Sequence[float] = DISTANCE_BINS,
    include_stratified: bool = True,
    include_geodesic: bool = True,
    include_legacy_geodesic: bool = False,
) -> list[str]:
    """The names :func:`build_edge_metrics` logs, in a stable order (useful for CSV columns).

    Args:
        prefix: Split name.
        network_names: Name of each network code.
        distance_bins: Distance thresholds in mm.
        include_stratified: Whether the stratified values are included.
        include_geodesic: Whether the geodesic distance is included.
        include_legacy_geodesic: Whether the legacy geodesic distance is included.

    Returns:
        The full metric names.
    """
    split = _normalized_prefix(prefix)
    names = list(GLOBAL_METRIC_NAMES)
    if include_geodesic:
        names.append("geodesic")
    if include_legacy_geodesic:
        names.append("geodesic_legacy")
    if include_stratified:
        names.extend(f"pearson_{name}" for name in stratum_names(distance_bins, network_names))
    return [f"{split}{name}" for name in names]


def results_dict(collection: MetricCollection) -> dict[str, float]:
    """Compute a collection and return plain Python floats (NaN stays NaN), for the runner's CSV.

    Args:
        collection: A collection from :func:`build_edge_metrics` that has seen its edges.

    Returns:
        ``{"{prefix}/<name>": float}`` sorted by name.
    """
    values = collection.compute()
    result: dict[str, float] = {}
    for name, value in values.items():
        result[str(name)] = float(value.item()) if isinstance(value, Tensor) else float(value)
    return dict(sorted(result.items()))
