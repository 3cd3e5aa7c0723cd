"""The metric table printed by ``ge2conn test`` / ``validate`` and the demo: grouped, 4 significant digits.

Rows are grouped as global (Pearson r, Spearman ρ, R², MSE, MAE, geodesic), distance, strength, hemisphere
and network strata (see :mod:`ge2conn.metrics.functional_stratified`); network strata are one row per network
with its intra- and inter-network r. A NaN stratum is explained once, in a footnote under the table. The loss
is left out when it equals the MSE (the default criterion), so no number is printed twice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from rich.console import Console
from rich.table import Table

from ge2conn.metrics.functional_stratified import HEMISPHERE_NAMES, MIN_EDGES, STRENGTH_NAMES

GLOBAL_NAMES = ("pearson", "spearman", "r2", "mse", "mae", "geodesic", "geodesic_legacy", "loss")
"""Whole-split metrics, in printing order."""
GROUP_TITLES = ("global", "distance", "strength", "hemisphere", "network")
"""The groups of the table, in printing order."""


def format_value(value: float) -> str:
    """A metric value with 4 significant digits (``nan`` for NaN)."""
    return "nan" if math.isnan(value) else f"{value:.4g}"


def group_metrics(metrics: Mapping[str, float], stage: str) -> dict[str, list[tuple[str, str]]]:
    """Split ``{"<stage>/<name>": value}`` into the table's groups of ``(row name, formatted value)``.

    Args:
        metrics: Logged metrics; names of other stages are ignored.
        stage: The split prefix, e.g. ``"test"`` or ``"val"``.

    Returns:
        ``{group: rows}`` for the groups that have rows, in :data:`GROUP_TITLES` order. A network row's value
        is ``"<intra> | <inter>"``.
    """
    prefix = f"{stage}/"
    values = {name.removeprefix(prefix): float(value) for name, value in metrics.items()
              if name.startswith(prefix)}
    if "loss" in values and "mse" in values and math.isclose(values["loss"], values["mse"], rel_tol=1e-6):
        del values["loss"]
    groups: dict[str, list[tuple[str, str]]] = {title: [] for title in GROUP_TITLES}
    for name in GLOBAL_NAMES:
        if name in values:
            groups["global"].append((name, format_value(values.pop(name))))
    strata = {name.removeprefix("pearson_"): value for name, value in values.items()
              if name.startswith("pearson_")}
    networks = sorted({name.split("_", 1)[1] for name in strata
                       if name.startswith(("intra_", "inter_")) and name not in HEMISPHERE_NAMES})
    for name in networks:
        intra, inter = strata.pop(f"intra_{name}", math.nan), strata.pop(f"inter_{name}", math.nan)
        groups["network"].append((name, f"{format_value(intra)} | {format_value(inter)}"))
    for name in HEMISPHERE_NAMES:
        if name in strata:
            groups["hemisphere"].append((name.removesuffix("_hemispheric"), format_value(strata.pop(name))))
    for name in STRENGTH_NAMES:
        if name in strata:
            groups["strength"].append((name, format_value(strata.pop(name))))
    # What is left of the strata are the distance bins (short/mid/long or distance_<lo>_<hi>).
    groups["distance"] = [(name, format_value(value)) for name, value in strata.items()]
    groups["global"] += [(name, format_value(value)) for name, value in values.items()
                         if not name.startswith("pearson_")]
    return {title: rows for title, rows in groups.items() if rows}


def metric_table(metrics: Mapping[str, float], stage: str, title: str | None = None,
                 min_edges: int | None = MIN_EDGES) -> tuple[Table, list[str]]:
    """The grouped metric table of one split and its notes (the NaN footnote when a stratum is NaN).

    Args:
        metrics: Logged metrics (``{"test/pearson": 0.62, ...}``).
        stage: The split prefix, ``"test"`` or ``"val"``.
        title: Table title (default: ``"<stage> metrics"``).
        min_edges: The strata's smallest edge count (``StratifiedPearson.min_edges``), named in the footnote.

    Returns:
        A rich :class:`~rich.table.Table` and the lines to print under it.
    """
    groups = group_metrics(metrics, stage)
    table = Table(title=(f"{stage} metrics" if title is None else title) or None, title_justify="left")
    table.add_column("group", style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for index, (group, rows) in enumerate(groups.items()):
        if index:
            table.add_section()
        for row, (name, value) in enumerate(rows):
            table.add_row(group if row == 0 else "", name, value)
    notes = []
    if {"distance", "strength", "hemisphere", "network"} & set(groups):
        notes.append("strata: Pearson r among the edges of each stratum; network: intra | inter "
                     "(both ends / one end in the network)")
    if any("nan" in value for rows in groups.values() for _, value in rows):
        edges = f"fewer than {min_edges} {stage} edges" if min_edges else "too few edges"
        notes.append(f"nan: {edges} in the stratum (or constant predictions)")
    return table, notes


def print_metric_table(console: Console, metrics: Mapping[str, float], stage: str, title: str | None = None,
                       min_edges: int | None = MIN_EDGES) -> None:
    """Print :func:`metric_table` and its notes on a rich console.

    Args:
        console: Where to print.
        metrics: Logged metrics.
        stage: The split prefix.
        title: Table title.
        min_edges: The strata's smallest edge count.
    """
    table, notes = metric_table(metrics, stage, title="", min_edges=min_edges)
    console.print(title or f"{stage} metrics", soft_wrap=True, highlight=False, style="bold")
    console.print(table)
    for note in notes:
        console.print(note, soft_wrap=True, highlight=False, style="dim")
