"""``ge2conn experiment report``: tables, true-vs-null tests and figures from run folders.

Reads every ``metrics.json`` under the given folders (shards of one experiment land in the same folder, or
in several folders that are merged here) and writes:

- ``metrics.csv``: one row per run, every metric;
- ``table1.md/.csv``: Pearson r (true and null), R², MSE and geodesic distance, mean ± SD over outer splits,
  with the paired Wilcoxon p of true vs null;
- ``table2.md/.csv``: short-range, long-range, inter-hemispheric and strong-positive Pearson r;
- ``significance.md/.csv``: per model, the Wilcoxon signed-rank test of true vs null Pearson r over the
  outer splits that have both (two-sided; statistic, p, number of pairs);
- ``failures.md``: failed runs with their errors (only when there are some);
- ``figures/``: true-vs-null bars with 95% CIs, per-network gains and parameters vs performance per dataset
  and split, and one test-set reconstruction per model (:mod:`ge2conn.experiments.report_figures`); the
  best model's held-out connectome on the cortical surface and in a glass brain
  (:mod:`ge2conn.experiments.report_brains`);
- ``report.html``: one self-contained page with the tables and the figures (images inlined).

Means and SDs ignore NaN values (a stratum with too few edges reports NaN); SD is the sample SD (ddof=1),
so it is empty for a single split. Tables are grouped by dataset, then split type.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from ge2conn.experiments.storage import ERROR_FILE, EXPERIMENT_FILE, METRICS_FILE, read_json

SPLIT_ORDER = ("random", "spatial")
# R² and MSE sit beside r: r alone flatters a model that predicts nearly one value everywhere.
TABLE1_METRICS = (("test/pearson", "Pearson r"), ("test/r2", "R²"), ("test/mse", "MSE"),
                  ("test/geodesic", "Geodesic"))
TABLE2_METRICS = (
    ("test/pearson_short", "Short-range r"),
    ("test/pearson_long", "Long-range r"),
    ("test/pearson_inter_hemispheric", "Inter-hemispheric r"),
    ("test/pearson_strong_positive", "Strong-positive r"),
)
RUN_COLUMNS = ("dataset", "split", "model", "model_name", "round", "fold", "variant", "split_index",
               "null_rank", "seed", "epochs", "best_val_loss", "wall_time_s", "cpu_time_s", "git_commit")
RUN_KEY = ("dataset", "model", "split", "round", "fold", "variant")
SIGNIFICANCE_COLUMNS = ("dataset", "split", "model", "model_name", "wilcoxon_n", "pearson_true_mean",
                        "pearson_null_mean", "pearson_difference", "wilcoxon_statistic", "wilcoxon_p")


@dataclass(frozen=True)
class Summary:
    """Mean, sample SD and count of the finite values of one cell."""

    mean: float
    sd: float
    count: int


def summarize(values: Iterable[float | None]) -> Summary:
    """Mean and sample SD (ddof=1) of the finite values; NaN when there are none (SD: fewer than two)."""
    finite = np.asarray([value for value in values if value is not None and math.isfinite(value)],
                        dtype=float)
    if finite.size == 0:
        return Summary(math.nan, math.nan, 0)
    sd = float(np.std(finite, ddof=1)) if finite.size > 1 else math.nan
    return Summary(float(np.mean(finite)), sd, int(finite.size))


def load_runs(folders: Sequence[Path]) -> list[dict[str, Any]]:
    """Every finished run under the folders (the first folder wins when two hold the same run).

    Args:
        folders: Run folders (e.g. ``runs/table1``, or one folder per shard).

    Returns:
        The ``metrics.json`` payloads, with ``folder`` added.
    """
    records: dict[tuple[Any, ...], dict[str, Any]] = {}
    for folder in folders:
        for path in sorted(Path(folder).rglob(METRICS_FILE)):
            payload = read_json(path)
            if payload is None or "metrics" not in payload:
                continue
            key = tuple(payload.get(name) for name in RUN_KEY)
            records.setdefault(key, {**payload, "folder": str(path.parent)})
    return list(records.values())


def load_failures(folders: Sequence[Path]) -> list[dict[str, Any]]:
    """Error records of runs that failed and have not finished since."""
    failures = []
    for folder in folders:
        for path in sorted(Path(folder).rglob(ERROR_FILE)):
            payload = read_json(path)
            if payload is not None and read_json(path.parent / METRICS_FILE) is None:
                failures.append({**payload, "folder": str(path.parent)})
    return failures


def model_order(folders: Sequence[Path], records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """``(key, display name)`` of the models in the experiment's order (then any others, sorted)."""
    order: list[tuple[str, str]] = []
    for folder in folders:
        experiment = read_json(Path(folder) / EXPERIMENT_FILE) or {}
        for model in experiment.get("models", []):
            if (model["key"], model["name"]) not in order:
                order.append((model["key"], model["name"]))
    known = {key for key, _ in order}
    extra = sorted({(record["model"], record.get("model_name", record["model"])) for record in records
                    if record["model"] not in known})
    present = {record["model"] for record in records}
    return [item for item in order + extra if item[0] in present]


def groups(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """``(dataset, split)`` pairs present, datasets in first-seen order and splits random, spatial."""
    datasets = list(dict.fromkeys(record["dataset"] for record in records))
    splits = sorted({record["split"] for record in records},
                    key=lambda split: (SPLIT_ORDER.index(split) if split in SPLIT_ORDER else 99, split))
    return [(dataset, split) for dataset in datasets for split in splits
            if any(r["dataset"] == dataset and r["split"] == split for r in records)]


def metric_values(records: list[dict[str, Any]], dataset: str, split: str, model: str, variant: str,
                  metric: str) -> dict[tuple[int, int], float]:
    """``{(round, fold): value}`` of one metric for one model, variant, dataset and split."""
    values = {}
    for record in records:
        if (record["dataset"], record["split"], record["model"], record["variant"]) == (dataset, split, model,
                                                                                          variant):
            value = record["metrics"].get(metric)
            values[(int(record["round"]), int(record["fold"]))] = math.nan if value is None else float(value)
    # Sorted, so that sums (and so the last digits) do not depend on the order the folders were read in.
    return dict(sorted(values.items()))


def paired_test(true: dict[tuple[int, int], float], null: dict[tuple[int, int], float]) -> dict[str, float]:
    """Two-sided Wilcoxon signed-rank test of true vs null over the splits where both are finite.

    Returns:
        ``n`` (pairs), ``mean_difference`` (true − null), ``statistic`` and ``p`` (NaN when fewer than two
        pairs or when every difference is zero).
    """
    keys = sorted(key for key in set(true) & set(null)
                  if math.isfinite(true[key]) and math.isfinite(null[key]))
    first = np.asarray([true[key] for key in keys])
    second = np.asarray([null[key] for key in keys])
    result = {"n": float(len(keys)), "mean_difference": float(np.mean(first - second)) if keys else math.nan,
              "statistic": math.nan, "p": math.nan}
    if len(keys) >= 2 and np.any(first != second):
        test = stats.wilcoxon(first, second)
        result["statistic"], result["p"] = float(test.statistic), float(test.pvalue)
    return result


def table_rows(records: list[dict[str, Any]], order: list[tuple[str, str]],
               metrics: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """One row per (dataset, split, model): mean/SD/n of each metric for true and null, plus the test."""
    rows = []
    for dataset, split in groups(records):
        for key, name in order:
            row: dict[str, Any] = {"dataset": dataset, "split": split, "model": key, "model_name": name}
            present = False
            for metric, _ in metrics:
                short = metric.removeprefix("test/")
                for variant in ("true", "null"):
                    values = metric_values(records, dataset, split, key, variant, metric)
                    present |= bool(values)
                    summary = summarize(values.values())
                    row[f"{short}_{variant}_mean"] = summary.mean
                    row[f"{short}_{variant}_sd"] = summary.sd
                    row[f"{short}_{variant}_n"] = summary.count
            test = paired_test(metric_values(records, dataset, split, key, "true", "test/pearson"),
                               metric_values(records, dataset, split, key, "null", "test/pearson"))
            row.update({"wilcoxon_n": test["n"], "pearson_difference": test["mean_difference"],
                        "wilcoxon_statistic": test["statistic"], "wilcoxon_p": test["p"]})
            if present:
                rows.append(row)
    return rows


def _cell(row: dict[str, Any], short: str, variant: str, digits: int) -> str:
    mean, sd = row[f"{short}_{variant}_mean"], row[f"{short}_{variant}_sd"]
    if not math.isfinite(mean):
        return "–"
    return f"{mean:.{digits}f}" + (f" ± {sd:.{digits}f}" if math.isfinite(sd) else "")


def _number(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}g}" if math.isfinite(value) else "–"


def _markdown(header: list[str], lines: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|",
            *("| " + " | ".join(line) + " |" for line in lines)]


def _sections(rows: list[dict[str, Any]], title: str, header: list[str], render: Any) -> str:
    text = [f"# {title}", ""]
    for dataset, split in dict.fromkeys((row["dataset"], row["split"]) for row in rows):
        chosen = [row for row in rows if (row["dataset"], row["split"]) == (dataset, split)]
        text += [f"## {dataset} — {split} split", ""]
        text += _markdown(header, [line for row in chosen for line in render(row)]) + [""]
    return "\n".join(text)


def table1_markdown(rows: list[dict[str, Any]]) -> str:
    """Table 1: Pearson r true / null, MSE and geodesic (true), paired Wilcoxon p, per dataset and split."""
    def render(row: dict[str, Any]) -> list[list[str]]:
        return [[row["model_name"], str(row["pearson_true_n"]), _cell(row, "pearson", "true", 3),
                 _cell(row, "pearson", "null", 3), _cell(row, "r2", "true", 3), _cell(row, "mse", "true", 4),
                 _cell(row, "geodesic", "true", 2), _number(row["wilcoxon_p"])]]
    return _sections(rows, "Table 1: test Pearson r (true / null), R², MSE, geodesic distance (mean ± SD "
                     "over outer splits)", ["Model", "n", "r (true)", "r (null)", "R²", "MSE", "Geodesic",
                                       "Wilcoxon p"], render)


def table2_markdown(rows: list[dict[str, Any]]) -> str:
    """Table 2: stratified Pearson r (true and null rows), per dataset and split."""
    def render(row: dict[str, Any]) -> list[list[str]]:
        lines = []
        for variant in ("true", "null"):
            if row[f"pearson_short_{variant}_n"] or row[f"pearson_long_{variant}_n"]:
                cells = [_cell(row, metric.removeprefix("test/"), variant, 3) for metric, _ in TABLE2_METRICS]
                lines.append([row["model_name"], variant, *cells])
        return lines
    return _sections(rows, "Table 2: stratified test Pearson r (mean ± SD over outer splits)",
                     ["Model", "expression"] + [name for _, name in TABLE2_METRICS], render)


def significance_markdown(rows: list[dict[str, Any]]) -> str:
    """True vs null: two-sided Wilcoxon signed-rank test of Pearson r paired over outer splits."""
    def render(row: dict[str, Any]) -> list[list[str]]:
        if not row["pearson_null_n"]:
            return []
        return [[row["model_name"], str(int(row["wilcoxon_n"])), _cell(row, "pearson", "true", 3),
                 _cell(row, "pearson", "null", 3), _number(row["pearson_difference"]),
                 _number(row["wilcoxon_statistic"]), _number(row["wilcoxon_p"])]]
    return _sections(rows, "True vs null expression: paired two-sided Wilcoxon signed-rank test of test "
                     "Pearson r over outer splits", ["Model", "pairs", "r (true)", "r (null)", "mean Δr",
                                                     "W", "p"], render)


def write_csv(path: Path, rows: list[dict[str, Any]], columns: Sequence[str] | None = None) -> Path:
    """Write rows to CSV (NaN as an empty cell); columns default to the union of keys, in first-seen order."""
    names = list(columns) if columns is not None else list(dict.fromkeys(key for row in rows for key in row))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=names, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: "" if isinstance(value, float) and not math.isfinite(value) else value
                             for key, value in row.items()})
    return path


def run_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``metrics.csv`` rows: run coordinates, then every metric (missing values as NaN)."""
    metric_names = sorted({name for record in records for name in record["metrics"]})
    ordered = sorted(records, key=lambda r: (r["dataset"], r["model"], r["split"], r["round"], r["fold"],
                                             r["variant"]))
    rows = []
    for record in ordered:
        row = {column: record.get(column) for column in RUN_COLUMNS}
        for name in metric_names:
            value = record["metrics"].get(name)
            row[name] = math.nan if value is None else float(value)
        rows.append(row)
    return rows


def write_report(runs: Path | Sequence[Path], output: Path | None = None, figures: bool = True) -> list[Path]:
    """Write every report file for one experiment (possibly spread over several folders).

    Args:
        runs: Run folder, or several (shards kept in separate folders) to merge.
        output: Destination folder (default: the first run folder).
        figures: Also draw the figures.

    Returns:
        The files written.
    """
    folders = [Path(runs)] if isinstance(runs, str | Path) else [Path(folder) for folder in runs]
    destination = Path(output) if output is not None else folders[0]
    destination.mkdir(parents=True, exist_ok=True)
    records = load_runs(folders)
    if not records:
        raise FileNotFoundError(f"no finished run (metrics.json) under {', '.join(map(str, folders))}")
    order = model_order(folders, records)
    table1 = table_rows(records, order, TABLE1_METRICS)
    table2 = table_rows(records, order, TABLE2_METRICS)
    written = [write_csv(destination / "metrics.csv", run_rows(records)),
               write_csv(destination / "table1.csv", table1), write_csv(destination / "table2.csv", table2),
               write_csv(destination / "significance.csv",
                         [{key: row[key] for key in SIGNIFICANCE_COLUMNS}
                          for row in table1 if row["pearson_null_n"]])]
    for name, text in (("table1.md", table1_markdown(table1)), ("table2.md", table2_markdown(table2)),
                       ("significance.md", significance_markdown(table1))):
        (destination / name).write_text(text)
        written.append(destination / name)
    failures = load_failures(folders)
    if failures:
        lines = [[str(item.get(key, "")) for key in ("dataset", "model", "split", "round", "fold", "variant")]
                 + [str(item.get("error", "")).splitlines()[0][:200] if item.get("error") else ""]
                 for item in failures]
        text = "\n".join(["# Failed runs", ""] + _markdown(["dataset", "model", "split", "round", "fold",
                                                            "variant", "error"], lines)) + "\n"
        (destination / "failures.md").write_text(text)
        written.append(destination / "failures.md")
    drawn: list[Path] = []
    if figures:
        from ge2conn.experiments.report_brains import draw_brains
        from ge2conn.experiments.report_figures import draw_figures

        drawn = draw_figures(records, table1, order, destination / "figures")
        drawn += draw_brains(records, table1, destination / "figures")
        written += drawn
    from ge2conn.experiments.report_html import write_html_report

    experiment = str(records[0].get("experiment") or destination.name)
    tables = [destination / name for name in ("table1.md", "table2.md", "significance.md", "failures.md")]
    written.append(write_html_report(destination, f"ge2conn experiment {experiment}", tables, drawn))
    return written
