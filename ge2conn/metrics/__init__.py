"""ge2conn.metrics: edge metrics on test edges (method.md §6), torchmetrics style.

Functional forms live in ``functional*.py``; thin ``Metric`` classes in ``regression.py``, ``geodesic.py`` and
``stratified.py``; :func:`build_edge_metrics` assembles the collection every task logs under ``val/`` and
``test/``, and :func:`results_dict` turns it into plain floats for the experiment runner's CSV.
"""

from ge2conn.metrics.collection import (
    GLOBAL_METRIC_NAMES,
    HEADLINE_METRIC_NAMES,
    build_edge_metrics,
    edge_metric_names,
    results_dict,
)
from ge2conn.metrics.functional import (
    mean_absolute_error,
    mean_squared_error,
    pearson_r,
    r_squared,
    spearman_rho,
)
from ge2conn.metrics.functional_geodesic import (
    DEFAULT_SHRINKAGE,
    affine_invariant_distance,
    edges_to_matrices,
    geodesic_distance,
    legacy_geodesic_distance,
    shrink_to_spd,
)
from ge2conn.metrics.functional_stratified import sanitize_name, stratified_pearson, stratum_names
from ge2conn.metrics.geodesic import GeodesicDistance
from ge2conn.metrics.regression import MeanAbsoluteError, MeanSquaredError, PearsonR, RSquared, SpearmanRho
from ge2conn.metrics.stratified import StratifiedPearson

__all__ = [
    "DEFAULT_SHRINKAGE",
    "GLOBAL_METRIC_NAMES",
    "HEADLINE_METRIC_NAMES",
    "GeodesicDistance",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "PearsonR",
    "RSquared",
    "SpearmanRho",
    "StratifiedPearson",
    "affine_invariant_distance",
    "build_edge_metrics",
    "edge_metric_names",
    "edges_to_matrices",
    "geodesic_distance",
    "legacy_geodesic_distance",
    "mean_absolute_error",
    "mean_squared_error",
    "pearson_r",
    "r_squared",
    "results_dict",
    "sanitize_name",
    "shrink_to_spd",
    "spearman_rho",
    "stratified_pearson",
    "stratum_names",
]
