"""The report on hand-made run folders: means, SDs and Wilcoxon tests against numpy/scipy, merging, CLI."""

from __future__ import annotations

import csv
import json
import math
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import stats

from ge2conn.experiments.cli import main
from ge2conn.experiments.report import write_report

RNG = np.random.default_rng(11)
FOLDS = 4
ROUNDS = 2
# Pearson r per model, variant and (round, fold); "Gauss" has no null runs.
VALUES = {
    ("smt", "true"): RNG.uniform(0.6, 0.8, ROUNDS * FOLDS),
    ("smt", "null"): RNG.uniform(0.2, 0.4, ROUNDS * FOLDS),
    ("cm", "true"): RNG.uniform(0.4, 0.6, ROUNDS * FOLDS),
    ("cm", "null"): RNG.uniform(0.35, 0.65, ROUNDS * FOLDS),
    ("gauss", "true"): RNG.uniform(0.1, 0.3, ROUNDS * FOLDS),
}
NAMES = {"smt": "SMT+[CLS]", "cm": "CM", "gauss": "Gauss"}


def _metrics(pearson: float, index: int) -> dict[str, float | None]:
    return {"test/pearson": pearson, "test/r2": pearson ** 2 - 0.3, "test/mse": 0.01 + 0.001 * index,
            "test/geodesic": 2.0 + 0.1 * index,
            "test/pearson_short": pearson - 0.1, "test/pearson_long": None if index == 0 else pearson - 0.2,
            "test/pearson_inter_hemispheric": pearson - 0.05, "test/pearson_strong_positive": pearson / 2}


def _write_runs(root: Path, shard_of: int = 1, shard_index: int = 0) -> None:
    """Hand-made run folders laid out like the runner's (optionally only one shard's share)."""
    position = 0
    for (model, variant), values in VALUES.items():
        for index, value in enumerate(values):
            split_round, fold = divmod(index, FOLDS)
            position += 1
            if position % shard_of != shard_index:
                continue
            folder = root / model / "random" / f"r{split_round}f{fold}-{variant}"
            folder.mkdir(parents=True)
            (folder / "metrics.json").write_text(json.dumps({
                "experiment": "hand", "dataset": "dk82", "model": model, "model_name": NAMES[model],
                "split": "random", "round": split_round, "fold": fold, "variant": variant, "seed": 1,
                "wall_time_s": 1.0, "metrics": _metrics(float(value), index)}))
            x, y = np.meshgrid(np.arange(6), np.arange(6), indexing="ij")
            upper = x < y
            target = RNG.normal(size=upper.sum())
            np.savez(folder / "predictions.npz", rows=x[upper], cols=y[upper], target=target,
                     prediction=target + RNG.normal(scale=0.3, size=target.size))
    (root / "experiment.json").write_text(json.dumps({"name": "hand", "models": [
        {"key": key, "name": name} for key, name in NAMES.items()]}))


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as file:
        return list(csv.DictReader(file))


def _value(text: str) -> float:
    return float(text) if text != "" else math.nan


def test_tables_match_numpy_and_scipy(tmp_path: Path) -> None:
    _write_runs(tmp_path)
    written = write_report(tmp_path, figures=False)
    assert {path.name for path in written} >= {"metrics.csv", "table1.csv", "table1.md", "table2.csv",
                                               "table2.md", "significance.csv", "significance.md"}
    table1 = {row["model"]: row for row in _read_csv(tmp_path / "table1.csv")}
    assert list(table1) == ["smt", "cm", "gauss"]  # the experiment's model order
    for (model, variant), values in VALUES.items():
        row = table1[model]
        assert _value(row[f"pearson_{variant}_mean"]) == pytest.approx(np.mean(values))
        assert _value(row[f"pearson_{variant}_sd"]) == pytest.approx(np.std(values, ddof=1))
        assert int(row[f"pearson_{variant}_n"]) == len(values)
        if variant == "true":
            mse = [0.01 + 0.001 * index for index in range(len(values))]
            assert _value(row["mse_true_mean"]) == pytest.approx(np.mean(mse))
            assert _value(row["r2_true_mean"]) == pytest.approx(np.mean(np.asarray(values) ** 2 - 0.3))
            assert _value(row["geodesic_true_sd"]) == pytest.approx(np.std([2.0 + 0.1 * i for i in range(8)],
                                                                           ddof=1))
    for model in ("smt", "cm"):
        expected = stats.wilcoxon(VALUES[(model, "true")], VALUES[(model, "null")])
        assert _value(table1[model]["wilcoxon_statistic"]) == pytest.approx(expected.statistic)
        assert _value(table1[model]["wilcoxon_p"]) == pytest.approx(expected.pvalue)
        assert _value(table1[model]["pearson_difference"]) == pytest.approx(
            np.mean(VALUES[(model, "true")] - VALUES[(model, "null")]))
    assert table1["gauss"]["pearson_null_mean"] == "" and table1["gauss"]["wilcoxon_p"] == ""
    # Table 2: NaN strata are left out of the mean (the long-range value of split 0 is missing).
    table2 = {row["model"]: row for row in _read_csv(tmp_path / "table2.csv")}
    long_range = VALUES[("cm", "null")][1:] - 0.2
    assert _value(table2["cm"]["pearson_long_null_mean"]) == pytest.approx(np.mean(long_range))
    assert int(table2["cm"]["pearson_long_null_n"]) == 7
    assert _value(table2["smt"]["pearson_strong_positive_true_mean"]) == pytest.approx(
        np.mean(VALUES[("smt", "true")] / 2))
    metrics = _read_csv(tmp_path / "metrics.csv")
    assert len(metrics) == sum(len(values) for values in VALUES.values())
    markdown = (tmp_path / "table1.md").read_text()
    smt = VALUES[("smt", "true")]
    assert f"| SMT+[CLS] | 8 | {np.mean(smt):.3f} ± {np.std(smt, ddof=1):.3f} |" in markdown
    assert "| r (true) | r (null) | R² | MSE |" in markdown
    assert "## dk82 — random split" in markdown
    significance = {row["model"]: row for row in _read_csv(tmp_path / "significance.csv")}
    assert set(significance) == {"smt", "cm"}


def test_report_merges_shards_and_lists_failures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # No built dk82 (an empty home): the figures that need its region table are skipped whoever runs this.
    monkeypatch.setenv("GE2CONN_HOME", str(tmp_path / "home"))
    whole, shards = tmp_path / "whole", [tmp_path / f"shard{index}" for index in range(3)]
    _write_runs(whole)
    for index, folder in enumerate(shards):
        _write_runs(folder, shard_of=3, shard_index=index)
    failed = shards[1] / "cm" / "spatial" / "r0f0-true"
    failed.mkdir(parents=True)
    (failed / "error.json").write_text(json.dumps({"model": "cm", "dataset": "dk82", "split": "spatial",
                                                   "round": 0, "fold": 0, "variant": "true",
                                                   "error": "RuntimeError: out of memory"}))
    write_report(whole, figures=False)
    write_report(shards, tmp_path / "merged", figures=True)
    assert _read_csv(whole / "table1.csv") == _read_csv(tmp_path / "merged" / "table1.csv")
    assert "RuntimeError: out of memory" in (tmp_path / "merged" / "failures.md").read_text()
    figures = {path.name for path in (tmp_path / "merged" / "figures").iterdir()}
    assert figures == {"true_vs_null_dk82_random.png", "reconstruction_dk82_smt.png",
                       "reconstruction_dk82_cm.png", "reconstruction_dk82_gauss.png"}
    for path in (tmp_path / "merged" / "figures").iterdir():
        with Image.open(path) as image:
            assert image.size == ((715, 506) if path.name.startswith("true_vs_null") else (1870, 506))


def test_cli_report_and_transfer_dispatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_runs(tmp_path)
    assert main(["report", str(tmp_path), "--no-figures"]) == 0
    assert (tmp_path / "table1.md").exists()
    assert main(["report", str(tmp_path / "missing")]) == 2
    received: list[list[str]] = []
    fake = types.ModuleType("ge2conn.experiments.transfer")
    fake.main = lambda argv: received.append(argv) or 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ge2conn.experiments.transfer", fake)
    assert main(["transfer", "--source", "a", "--help-me"]) == 0
    assert received == [["--source", "a", "--help-me"]]
