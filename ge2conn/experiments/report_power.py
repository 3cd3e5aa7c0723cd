"""The true − null effect at statistical power: Δr with a bootstrap CI, the paired Wilcoxon p, the control.

``ge2conn experiment report`` also writes ``table1_power.md/.csv`` (:func:`write_power_report`): per
dataset, split type and model, the test Pearson r, R², MSE and geodesic distance of the true model (mean ± SD
over outer splits), the null model's r, the true − null difference Δr over the paired outer splits with a
percentile bootstrap 95% confidence interval of its mean (:data:`BOOTSTRAP_SAMPLES` resamples of the
splits, fixed seed), the two-sided Wilcoxon signed-rank p of the same pairs, and the coordinates-only MLP's
r on the same splits (the spatial control, :data:`CONTROL_KEY`), with the model − control difference.

With 12 paired splits the smallest two-sided Wilcoxon p is 2/2¹² ≈ 0.0005; with 4 it is 0.125, which is why
a one-round experiment cannot call any model significant.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ge2conn.experiments.report import (
    _number,
    _sections,
    groups,
    load_runs,
    metric_values,
    model_order,
    paired_test,
    summarize,
    write_csv,
)

BOOTSTRAP_SAMPLES = 10_000
BOOTSTRAP_SEED = 0
CONTROL_KEY = "coords_only_mlp"
"""Model key (``slugify`` of ``name: Coords-only MLP`` in the experiment YAML) of the coordinates-only MLP."""
POWER_METRICS = (("test/pearson", "r"), ("test/r2", "R²"), ("test/mse", "MSE"), ("test/geodesic", "Geodesic"))


def bootstrap_mean_interval(differences: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of paired differences (NaN for fewer than two)."""
    if differences.size < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    resampled = rng.choice(differences, size=(BOOTSTRAP_SAMPLES, differences.size), replace=True).mean(axis=1)
    tail = (1 - level) / 2
    return float(np.quantile(resampled, tail)), float(np.quantile(resampled, 1 - tail))


def paired_differences(
    first: dict[tuple[int, int], float], second: dict[tuple[int, int], float]
) -> np.ndarray:
    """``first − second`` over the (round, fold) splits where both are finite, in split order."""
    shared = set(first) & set(second)
    keys = sorted(key for key in shared if math.isfinite(first[key]) and math.isfinite(second[key]))
    return np.asarray([first[key] - second[key] for key in keys], dtype=float)


def power_rows(records: list[dict[str, Any]], order: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """One row per (dataset, split, model) with the columns described in the module docstring."""
    rows = []
    for dataset, split in groups(records):
        control = metric_values(records, dataset, split, CONTROL_KEY, "true", "test/pearson")
        for key, name in order:
            true_r = metric_values(records, dataset, split, key, "true", "test/pearson")
            if not true_r:
                continue
            row: dict[str, Any] = {"dataset": dataset, "split": split, "model": key, "model_name": name}
            for metric, _ in POWER_METRICS:
                summary = summarize(metric_values(records, dataset, split, key, "true", metric).values())
                short = metric.removeprefix("test/")
                row[f"{short}_mean"], row[f"{short}_sd"] = summary.mean, summary.sd
                row[f"{short}_n"] = summary.count
            null_r = metric_values(records, dataset, split, key, "null", "test/pearson")
            row["pearson_null_mean"] = summarize(null_r.values()).mean
            differences = paired_differences(true_r, null_r)
            row["delta_r_mean"] = float(differences.mean()) if differences.size else math.nan
            row["delta_r_ci_low"], row["delta_r_ci_high"] = bootstrap_mean_interval(differences)
            test = paired_test(true_r, null_r)
            row["pairs"], row["wilcoxon_p"] = int(test["n"]), test["p"]
            row["control_r_mean"] = summarize(control.values()).mean
            versus_control = paired_differences(true_r, control) if key != CONTROL_KEY else np.asarray([])
            row["minus_control_mean"] = float(versus_control.mean()) if versus_control.size else math.nan
            rows.append(row)
    return rows


def _mean_sd(row: dict[str, Any], short: str, digits: int) -> str:
    mean, sd = row[f"{short}_mean"], row[f"{short}_sd"]
    if not math.isfinite(mean):
        return "–"
    return f"{mean:.{digits}f}" + (f" ± {sd:.{digits}f}" if math.isfinite(sd) else "")


def power_markdown(rows: list[dict[str, Any]]) -> str:
    """The power table as markdown sections per dataset and split."""
    def render(row: dict[str, Any]) -> list[list[str]]:
        delta = "–"
        if math.isfinite(row["delta_r_mean"]):
            delta = f"{row['delta_r_mean']:+.3f}"
            if math.isfinite(row["delta_r_ci_low"]):
                delta += f" [{row['delta_r_ci_low']:+.3f}, {row['delta_r_ci_high']:+.3f}]"
        control = "–" if not math.isfinite(row["control_r_mean"]) else f"{row['control_r_mean']:.3f}"
        if math.isfinite(row["minus_control_mean"]):
            control += f" ({row['minus_control_mean']:+.3f})"
        return [[row["model_name"], str(row["pearson_n"]), _mean_sd(row, "pearson", 3),
                 _mean_sd(row, "r2", 3), _mean_sd(row, "mse", 4), _mean_sd(row, "geodesic", 2),
                 _number(row["pearson_null_mean"]), delta, f"{_number(row['wilcoxon_p'])} ({row['pairs']})",
                 control]]
    header = ["Model", "splits", "r", "R²", "MSE", "Geodesic", "null r", "Δr true − null [95% CI]",
              "Wilcoxon p (pairs)", "coords-only MLP r (model − it)"]
    return _sections(rows, "Table 1 at power: true model (mean ± SD over outer splits) vs its CGE-matched "
                     "null and the coordinates-only MLP", header, render)


def write_power_table(
    records: list[dict[str, Any]], order: list[tuple[str, str]], destination: Path
) -> list[Path]:
    """Write ``table1_power.csv`` and ``table1_power.md`` into ``destination``."""
    rows = power_rows(records, order)
    (destination / "table1_power.md").write_text(power_markdown(rows))
    return [write_csv(destination / "table1_power.csv", rows), destination / "table1_power.md"]




def write_power_report(runs: list[Path], output: Path | None = None) -> list[Path]:
    """The power table of the runs under ``runs`` (merged) in ``output`` (default: the first folder)."""
    folders = [Path(folder) for folder in runs]
    destination = Path(output) if output is not None else folders[0]
    records = load_runs(folders)
    return write_power_table(records, model_order(folders, records), destination)
