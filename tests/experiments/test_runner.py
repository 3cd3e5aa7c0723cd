"""The runner on the synthetic dataset with closed-form models: outputs, resume, failures, tuning, shards."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from rich.console import Console

import ge2conn.api
from ge2conn.data.format import BrainDataset
from ge2conn.data.splits import make_region_split
from ge2conn.experiments.cli import main
from ge2conn.experiments.config import ExperimentConfig
from ge2conn.experiments.grid import outer_splits, run_folder
from ge2conn.experiments.report import load_runs
from ge2conn.experiments.runner import RunSummary, run_experiment
from tests.experiments.conftest import CONFIGS


def _run(config: ExperimentConfig, **options: Any) -> RunSummary:
    return run_experiment(config, console=Console(quiet=True), **options)


def _metrics_files(config: ExperimentConfig) -> dict[Path, float]:
    return {path: path.stat().st_mtime_ns for path in sorted(config.output.rglob("metrics.json"))}


def test_runs_write_metrics_predictions_and_resume(make_config: Callable[..., ExperimentConfig]) -> None:
    config = make_config()
    summary = _run(config)
    # CGE: 2 folds x (true, null); exp decay: 2 folds x true.
    assert (summary.total, summary.finished, summary.skipped, summary.failed) == (6, 6, 0, [])
    record = json.loads((config.output / "cge" / "random" / "r0f1-null" / "metrics.json").read_text())
    assert (record["model"], record["split"], record["round"], record["fold"], record["variant"]) == (
        "cge", "random", 0, 1, "null")
    assert record["null_rank"] == 1 and record["split_seed"] == 3
    assert {"seed", "git_commit", "wall_time_s", "config"} <= set(record)
    assert record["config"]["settings"]["data.null_rank"] == 1
    regions = record["validation"]["regions"]
    assert regions >= 2 and record["validation"]["edges"] == regions * (regions - 1) // 2
    assert np.isfinite(record["metrics"]["test/pearson"])
    true_record = json.loads((config.output / "cge" / "random" / "r0f1-true" / "metrics.json").read_text())
    assert true_record["seed"] == record["seed"]
    assert true_record["metrics"]["test/pearson"] != record["metrics"]["test/pearson"]
    assert not list(config.output.rglob("*.ckpt"))  # checkpoints are removed unless asked to keep them
    # The saved predictions are exactly the outer test edges of the split (each unordered pair once).
    dataset = BrainDataset.load(config.datasets[0].dataset, individual=False)
    split = make_region_split(dataset.centroids, "random", 0, 1, 4, config.val_fraction, 3)
    with np.load(config.output / "cge" / "random" / "r0f1-true" / "predictions.npz") as arrays:
        rows, cols, target = arrays["rows"], arrays["cols"], arrays["target"]
        assert set(np.concatenate([rows, cols])) <= set(split.test)
        assert len(rows) == len(split.test) * (len(split.test) - 1) // 2
        np.testing.assert_allclose(target, dataset.connectivity[rows, cols], rtol=1e-6)
        prediction = arrays["prediction"]
    assert np.corrcoef(prediction, target)[0, 1] == pytest.approx(true_record["metrics"]["test/pearson"],
                                                                 abs=1e-4)
    assert Path(str(config.datasets[0].dataset).replace(".h5", ".nulls.h5")).exists()
    before = _metrics_files(config)
    again = _run(config)
    assert (again.finished, again.skipped) == (0, 6)
    assert _metrics_files(config) == before


def test_interrupted_run_is_redone_and_finished_ones_are_kept(make_config: Callable[..., ExperimentConfig],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    config = make_config()
    _run(config)
    before = _metrics_files(config)
    # Simulate a kill in the middle of two runs: one left only a temporary file, one a truncated metrics.json.
    interrupted = run_folder(config, outer_splits(config)[0], "null")
    (interrupted / "metrics.json").unlink()
    (interrupted / ".metrics.json.abc123.tmp").write_text('{"metrics": {"test/pe')
    truncated = run_folder(config, outer_splits(config)[-1], "true")
    (truncated / "metrics.json").write_text('{"experiment": "tiny", "metr')
    calls: list[str] = []
    original = ge2conn.api.fit_and_test

    def counting(files: list[Any], settings: dict[str, Any], test: bool = True) -> Any:
        calls.append(settings["trainer.default_root_dir"])
        return original(files, settings, test=test)

    monkeypatch.setattr(ge2conn.api, "fit_and_test", counting)
    summary = _run(config)
    assert (summary.finished, summary.skipped) == (2, 4)
    expected = [str(folder) for folder in (interrupted, truncated)]
    assert sorted(calls) == sorted(expected)
    after = _metrics_files(config)
    assert set(after) == set(before)
    for path, mtime in before.items():
        if path.parent not in (interrupted, truncated):
            assert after[path] == mtime
    assert not list(interrupted.glob(".*.tmp"))


def test_failed_runs_are_recorded_and_others_continue(make_config: Callable[..., ExperimentConfig]) -> None:
    config = make_config(models=[
        {"name": "Broken", "config": str(CONFIGS / "cge.yaml"), "nulls": False,
         "settings": {"model.init_args.pca_variance": 7.0}},
        {"name": "Exp. decay", "config": str(CONFIGS / "exp_decay.yaml"), "nulls": False},
    ])
    summary = _run(config)
    assert summary.finished == 2 and len(summary.failed) == 2
    for cell in outer_splits(config):
        folder = run_folder(config, cell, "true")
        if cell.model == "broken":
            error = json.loads((folder / "error.json").read_text())
            assert error["error"] and "Traceback" in error["traceback"]
            assert not (folder / "metrics.json").exists()
        else:
            assert (folder / "metrics.json").exists()
    retried = _run(config)  # failed runs are retried (and fail again); finished ones are skipped
    assert (retried.skipped, len(retried.failed)) == (2, 2)


def test_nested_tuning_uses_validation_only_and_nulls_reuse_the_choice(
        make_config: Callable[..., ExperimentConfig], monkeypatch: pytest.MonkeyPatch) -> None:
    config = make_config(fold_indices=[2], tuning={"enabled": True, "samples": 2}, models=[
        {"name": "CM", "config": str(CONFIGS / "cm.yaml"), "grid": {"model.init_args.ridge": [1e-3, 1e3]}}])
    calls: list[tuple[bool, dict[str, Any]]] = []
    original = ge2conn.api.fit_and_test

    def recording(files: list[Any], settings: dict[str, Any], test: bool = True) -> Any:
        calls.append((test, dict(settings)))
        return original(files, settings, test=test)

    monkeypatch.setattr(ge2conn.api, "fit_and_test", recording)
    assert _run(config).finished == 2
    tuning = [settings for test, settings in calls if not test]
    final = [settings for test, settings in calls if test]
    assert len(tuning) == 3 and len(final) == 2  # default + 2 draws; then true and null
    assert all("-tuning" in settings["trainer.default_root_dir"] for settings in tuning)
    assert not any("data.null_rank" in settings for settings in tuning)
    selection = json.loads((config.output / "cm" / "random" / "r0f2-tuning" / "selection.json").read_text())
    losses = selection["best_val_loss"]
    assert selection["candidate"] == int(np.argmin(losses))
    for variant in ("true", "null"):
        path = config.output / "cm" / "random" / f"r0f2-{variant}" / "metrics.json"
        record = json.loads(path.read_text())
        assert record["hyperparameters"] == selection["selected"]
    # Resuming after the true run finished re-uses the saved selection instead of tuning again.
    (config.output / "cm" / "random" / "r0f2-null" / "metrics.json").unlink()
    calls.clear()
    _run(config)
    assert [test for test, _ in calls] == [True]


def test_shards_fill_one_folder(make_config: Callable[..., ExperimentConfig]) -> None:
    config = make_config()
    summaries = [_run(config, shard_index=index, shard_count=3) for index in range(3)]
    assert sum(summary.total for summary in summaries) == 6
    assert sum(summary.finished for summary in summaries) == 6
    records = load_runs([config.output])
    assert len(records) == 6
    assert len({(r["model"], r["fold"], r["variant"]) for r in records}) == 6


def _write_yaml(config: ExperimentConfig, path: Path) -> Path:
    path.write_text(yaml.safe_dump(config.raw))
    return path


def test_cli_dry_run_and_shard(make_config: Callable[..., ExperimentConfig], tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    config = make_config(models=[
        {"name": "Low-rank", "config": str(CONFIGS / "lowrank.yaml"), "epochs": 1, "nulls": False},
        {"name": "CGE", "config": str(CONFIGS / "cge.yaml")}])
    path = _write_yaml(config, tmp_path / "tiny.yaml")
    assert main(["run", str(path), "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6 and all(line.startswith("pending") for line in lines)
    nulls_file = Path(config.datasets[0].dataset).with_name("synthetic.nulls.h5")
    assert not nulls_file.exists()
    assert main(["run", str(path), "--prepare"]) == 0  # a cluster's first job: nulls only, no run
    assert nulls_file.exists() and not list(config.output.rglob("metrics.json"))
    assert main(["run", str(path), "--shard", "0/4"]) == 0  # the first cell: low-rank, fold 0
    record = json.loads((config.output / "low_rank" / "random" / "r0f0-true" / "metrics.json").read_text())
    assert record["epochs"] <= 1 and np.isfinite(record["metrics"]["test/mse"])
    assert len(list(config.output.rglob("metrics.json"))) == 1
    assert main(["run", str(path), "--shard", "4/4"]) == 2
    assert main(["run", str(tmp_path / "missing.yaml")]) == 2


@pytest.mark.slow
def test_process_pool_runs_every_cell(make_config: Callable[..., ExperimentConfig]) -> None:
    config = make_config(workers=2, fold_indices=[0, 1, 2])
    summary = _run(config)
    assert (summary.finished, summary.failed) == (9, [])
    records = load_runs([config.output])
    assert {(r["model"], r["fold"], r["variant"]) for r in records} == {
        ("cge", fold, variant) for fold in range(3) for variant in ("true", "null")} | {
        ("exp_decay", fold, "true") for fold in range(3)}
