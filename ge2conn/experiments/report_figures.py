"""Figures of an experiment report (written to ``figures/`` beside ``table1.md``).

- ``true_vs_null_<dataset>_<split>.png``: mean test Pearson r per model with 95% confidence intervals over the
  outer splits, true beside null expression, each split a dot, the paired Wilcoxon p above (paper Fig. 2C);
- ``network_gain_<dataset>_<split>.png``: per model and Yeo network, the intra-network test r of true minus
  null expression (paper Fig. 5B; the r itself when a model has no null runs);
- ``parameters_<dataset>_<split>.png``: trainable parameter count against test r (paper Fig. 5C; runs that
  recorded ``num_parameters``);
- ``reconstruction_<dataset>_<model>.png``: true | predicted | residual test connectome of one run per model
  (:func:`ge2conn.figures.connectome_figure`).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from scipy import stats

from ge2conn.data.catalog import resolve_dataset
from ge2conn.data.region_table import RegionTable
from ge2conn.experiments.storage import PREDICTIONS_FILE
from ge2conn.figures import RegionLayout, connectome_figure, new_figure, save_figure
from ge2conn.figures.connectome import YEO7_ORDER
from ge2conn.figures.names import dataset_quantity, run_title

COLOURS = {"true": "tab:blue", "null": "0.6"}


def safe_name(text: str) -> str:
    """``text`` with every run of characters other than letters, digits, ``_ . -`` replaced by ``_``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def confidence_interval(values: list[float], level: float = 0.95) -> tuple[float, float]:
    """Mean and half-width of the t confidence interval of the mean (half-width NaN for < 2 values)."""
    finite = np.asarray([value for value in values if value is not None and math.isfinite(value)],
                        dtype=float)
    if finite.size == 0:
        return math.nan, math.nan
    if finite.size < 2:
        return float(finite.mean()), math.nan
    half = stats.t.ppf(0.5 + level / 2, finite.size - 1) * finite.std(ddof=1) / math.sqrt(finite.size)
    return float(finite.mean()), float(half)


def _values(records: list[dict[str, Any]], row: dict[str, Any], variant: str, metric: str) -> list[float]:
    found = [record["metrics"].get(metric) for record in records
             if (record["dataset"], record["split"], record["model"], record["variant"])
             == (row["dataset"], row["split"], row["model"], variant)]
    return [float(value) for value in found if value is not None and math.isfinite(float(value))]


def true_vs_null_figure(rows: list[dict[str, Any]], records: list[dict[str, Any]], title: str) -> Figure:
    """Bars of mean test Pearson r per model (95% CI over splits), true beside null, each split a dot.

    Args:
        rows: Table 1 rows of one dataset and split (see :func:`ge2conn.experiments.report.table_rows`).
        records: The runs (for the per-split dots and the intervals).
        title: Figure title.

    Returns:
        The figure.
    """
    figure = new_figure(max(6.5, 0.85 * len(rows) + 2.5), 4.6)
    axis = figure.add_subplot()
    positions = np.arange(len(rows))
    width = 0.38
    splits = 0
    for offset, variant in ((-width / 2, "true"), (width / 2, "null")):
        for index, row in enumerate(rows):
            values = _values(records, row, variant, "test/pearson")
            splits = max(splits, len(values))
            if not values:
                continue
            mean, half = confidence_interval(values)
            axis.bar(index + offset, mean, width, color=COLOURS[variant], alpha=0.85,
                     yerr=None if math.isnan(half) else half, capsize=3,
                     label=f"{variant} expression" if index == 0 or variant == "null" else None)
            axis.scatter(np.full(len(values), index + offset), values, s=9, color="black", zorder=3,
                         label="one outer split" if index == 0 and variant == "true" else None)
        handles, labels = axis.get_legend_handles_labels()
        unique = dict(zip(labels, handles, strict=True))
        axis.legend(unique.values(), unique.keys(), frameon=False, fontsize=8, loc="lower right")
    low, high = axis.get_ylim()
    axis.set_ylim(low, high + 0.08 * (high - low))
    for index, row in enumerate(rows):
        p = row.get("wilcoxon_p", math.nan)
        if p is not None and math.isfinite(p):
            axis.text(index, high, f"p={p:.2g}", ha="center", va="bottom", fontsize=7)
    axis.set_xticks(positions, [row["model_name"] for row in rows], rotation=35, ha="right")
    axis.set_ylabel("test Pearson r (held-out regions' edges)")
    axis.axhline(0.0, color="black", linewidth=0.6)
    axis.set_title(f"{title}\nbars: mean with 95% CI over {splits} outer splits; p: paired Wilcoxon, "
                   "true vs null", fontsize=9)
    return figure


def network_correlations(record: dict[str, Any], networks: list[str]) -> np.ndarray:
    """Test Pearson r of one run over the edges touching each network (NaN below 10 edges or no data).

    Computed from the run's ``predictions.npz`` and its regions' networks: an edge counts for a network
    when either end is in it, so every network has enough held-out edges even with few test regions.
    """
    layout = region_layout(record)
    path = Path(record["folder"]) / PREDICTIONS_FILE
    result = np.full(len(networks), np.nan)
    if layout is None or not path.exists():
        return result
    with np.load(path) as arrays:
        rows, cols = arrays["rows"], arrays["cols"]
        prediction, target = arrays["prediction"], arrays["target"]
    if max(rows.max(initial=0), cols.max(initial=0)) >= layout.network.size:
        return result
    for index, name in enumerate(networks):
        chosen = (layout.network[rows] == name) | (layout.network[cols] == name)
        if chosen.sum() >= 10 and np.std(target[chosen]) > 0 and np.std(prediction[chosen]) > 0:
            result[index] = float(np.corrcoef(target[chosen], prediction[chosen])[0, 1])
    return result


def network_gain_figure(
    rows: list[dict[str, Any]], records: list[dict[str, Any]], title: str
) -> Figure | None:
    """Heatmap per model and network of the test r gain of true over null expression (None: no data).

    Each cell is the mean over outer splits of r on the test edges touching the network
    (:func:`network_correlations`), true minus null; models without null runs show their r instead.
    """
    cells = {(row["dataset"], row["split"], row["model"]) for row in rows}
    selected = [record for record in records
                if (record["dataset"], record["split"], record["model"]) in cells]
    layouts = [region_layout(record) for record in selected[:1]]
    if not selected or layouts[0] is None:
        return None
    present = set(layouts[0].network.tolist())
    networks = [name for name in YEO7_ORDER if name in present] + sorted(present - set(YEO7_ORDER))
    gains = np.full((len(rows), len(networks)), np.nan)
    raw = np.zeros(len(rows), dtype=bool)
    for row_index, row in enumerate(rows):
        means = {}
        for variant in ("true", "null"):
            runs = [record for record in selected
                    if (record["model"], record["variant"]) == (row["model"], variant)]
            stack = np.asarray([network_correlations(record, networks) for record in runs])
            stack = stack.reshape(-1, len(networks))
            counts = np.isfinite(stack).sum(axis=0)
            means[variant] = np.where(counts > 0, np.nansum(stack, axis=0) / np.maximum(counts, 1), np.nan)
        raw[row_index] = not np.isfinite(means["null"]).any()
        gains[row_index] = means["true"] if raw[row_index] else means["true"] - means["null"]
    if not np.isfinite(gains).any():
        return None
    limit = float(np.nanmax(np.abs(gains)))
    figure = new_figure(0.95 * len(networks) + 3.6, 0.42 * len(rows) + 1.9)
    axis = figure.add_subplot()
    colours = colormaps["RdBu_r"].with_extremes(bad="0.85")
    image = axis.imshow(np.ma.masked_invalid(gains), cmap=colours, vmin=-limit, vmax=limit, aspect="auto")
    for (row_index, column), value in np.ndenumerate(gains):
        if math.isfinite(value):
            axis.text(column, row_index, f"{value:+.2f}", ha="center", va="center", fontsize=7,
                      color="white" if abs(value) > 0.6 * limit else "black")
    axis.set_xticks(range(len(networks)), networks, rotation=30, ha="right", fontsize=8)
    axis.set_yticks(range(len(rows)), [row["model_name"] + (" (r; no null)" if flag else "")
                                       for row, flag in zip(rows, raw, strict=True)], fontsize=8)
    figure.colorbar(image, ax=axis, label="Δ test r, true − null")
    axis.set_title(f"{title}\ntest edges touching each network, mean over outer splits", fontsize=9)
    return figure


def parameters_figure(
    rows: list[dict[str, Any]], records: list[dict[str, Any]], title: str
) -> Figure | None:
    """Trainable parameters (log) against mean test r with 95% CIs, one point per model (paper Fig. 5C).

    Models without trainable parameters (closed-form fits and distance rules, ``num_parameters`` 0) are
    dotted horizontal lines at their mean r: the level a trained model has to beat.

    Returns:
        The figure; None when no model has trainable parameters (or no run recorded its count).
    """
    points, levels = [], []
    for row in rows:
        counts = [int(record["num_parameters"]) for record in records
                  if (record["dataset"], record["split"], record["model"], record["variant"])
                  == (row["dataset"], row["split"], row["model"], "true")
                  and record.get("num_parameters") is not None]
        if not counts:
            continue
        mean, half = confidence_interval(_values(records, row, "true", "test/pearson"))
        if max(counts) == 0:
            levels.append((row["model_name"], mean))
        else:
            points.append((row["model_name"], float(np.median(counts)), mean, half))
    if not points:
        return None
    figure = new_figure(6.4, 4.4)
    axis = figure.add_subplot()
    for name, count, mean, half in points:
        axis.errorbar(count, mean, yerr=None if math.isnan(half) else half, fmt="o", capsize=3,
                      color="tab:blue")
        axis.annotate(name, (count, mean), textcoords="offset points", xytext=(5, 4), fontsize=8)
    axis.set_xscale("log")
    low, high = axis.get_xlim()
    axis.set_xlim(low / 3, high * 3)  # room for the labels
    for name, mean in levels:
        if math.isfinite(mean):
            axis.axhline(mean, color="0.5", linestyle=":", linewidth=1)
            axis.annotate(f"{name} (no trainable parameters)", (0.01, mean),
                          xycoords=("axes fraction", "data"), textcoords="offset points", xytext=(0, 2),
                          fontsize=7, color="0.35")
    axis.set_xlabel("trainable parameters (log scale)")
    axis.set_ylabel("test Pearson r (mean, 95% CI over outer splits)")
    axis.set_title(title, fontsize=9)
    return figure


def run_regions(record: dict[str, Any]) -> tuple[RegionTable, np.ndarray] | None:
    """A run's dataset table and the mask of the regions the datamodule kept (None when unavailable).

    Prediction indices (``predictions.npz``) count the kept regions: those with expression, of the chosen
    structures.
    """
    settings = (record.get("config") or {}).get("settings") or {}
    try:
        table = RegionTable.read(resolve_dataset(settings.get("data.dataset", record["dataset"])))
    except Exception:  # noqa: BLE001 - a figure without network labels beats no figure
        return None
    keep = table.has_expression.copy()
    if settings.get("data.structures"):
        keep &= np.isin(table.structure, settings["data.structures"])
    return table, keep


def region_layout(record: dict[str, Any]) -> RegionLayout | None:
    """Networks and hemispheres of a run's regions, in the datamodule's order (None when unavailable)."""
    found = run_regions(record)
    if found is None:
        return None
    table, keep = found
    return RegionLayout(np.asarray(table.network)[keep], np.asarray(table.hemisphere)[keep])


def run_quantity(record: dict[str, Any]) -> str:
    """The colour-bar label of a run's connectivity values, with units (``"FC"`` when unknown)."""
    settings = (record.get("config") or {}).get("settings") or {}
    try:
        return dataset_quantity(resolve_dataset(settings.get("data.dataset", record["dataset"])))
    except Exception:  # noqa: BLE001 - a plain label beats no figure
        return "FC"


def reconstruction_figure(run: dict[str, Any], name: str) -> Figure:
    """True | predicted | residual test connectome of one run, from its ``predictions.npz``."""
    layout = region_layout(run)
    with np.load(Path(run["folder"]) / PREDICTIONS_FILE) as arrays:
        columns = {key: arrays[key] for key in ("rows", "cols", "prediction", "target")}
    if layout is not None and max(columns["rows"].max(), columns["cols"].max()) >= layout.network.size:
        layout = None
    quantity = run_quantity(run)
    title = run_title(name, run["dataset"], run["split"], run["round"], run["fold"], "test regions")
    return connectome_figure(columns["rows"], columns["cols"], columns["prediction"], columns["target"],
                             layout=layout, title=title, quantity=quantity)


def draw_figures(records: list[dict[str, Any]], table1: list[dict[str, Any]], order: list[tuple[str, str]],
                 folder: Path) -> list[Path]:
    """Write the report figures (see the module docstring).

    Args:
        records: The runs.
        table1: Table 1 rows.
        order: ``(key, name)`` of the models in report order.
        folder: Destination folder.

    Returns:
        The files written.
    """
    written: list[Path] = []
    for dataset, split in dict.fromkeys((row["dataset"], row["split"]) for row in table1):
        rows = [row for row in table1 if (row["dataset"], row["split"]) == (dataset, split)]
        stem = f"{safe_name(dataset)}_{split}"
        drawers = (("true_vs_null", true_vs_null_figure, "test r, true vs null expression"),
                   ("network_gain", network_gain_figure, "test r gain over the null brain, per network"),
                   ("parameters", parameters_figure, "parameters vs performance"))
        for prefix, draw, what in drawers:
            figure = draw(rows, records, f"{dataset}, {split} split: {what}")
            if figure is not None:
                written.append(save_figure(figure, folder / f"{prefix}_{stem}.png"))
    for dataset in dict.fromkeys(record["dataset"] for record in records):
        for key, name in order:
            runs = sorted((record for record in records
                           if (record["dataset"], record["model"], record["variant"])
                           == (dataset, key, "true")
                           and (Path(record["folder"]) / PREDICTIONS_FILE).exists()),
                          key=lambda record: (record["split"] != "random", record["split"], record["round"],
                                              record["fold"]))
            if runs:
                figure = reconstruction_figure(runs[0], name)
                path = folder / f"reconstruction_{safe_name(dataset)}_{safe_name(key)}.png"
                written.append(save_figure(figure, path))
    return written
