"""The ge2conn console script: help, version, config parsing, TensorBoard figures, predict, resume, DDP."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ge2conn import __version__
from ge2conn.main import main
from tests.support.quick import SMALL_SMT, quick_overrides

REPO = Path(__file__).parents[1]
CONFIGS = sorted(
    str(path.relative_to(REPO))
    for path in (REPO / "configs").rglob("*.yaml")
    if "experiments" not in path.parts
)
def _run(args: list[str], timeout: int = 300, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", **env}
    return subprocess.run(
        [sys.executable, "-m", "ge2conn", *args],
        cwd=REPO,
        env=environment,
        text=True,
        capture_output=True,
        timeout=timeout,
    )


def _quick(root: Path, synthetic: Path, epochs: int = 2) -> list[str]:
    return quick_overrides(root, synthetic, epochs, logger=True)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"ge2conn {__version__}"


@pytest.mark.parametrize("arguments", [["--help"], ["-h"], []])
def test_help_lists_every_verb_on_its_own_line(arguments: list[str],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(arguments) == 0
    lines = capsys.readouterr().out.splitlines()
    verbs = ("fit", "validate", "test", "predict", "data", "nulls", "experiment", "explain", "demo")
    for verb in verbs:
        matching = [line for line in lines if line.split()[:1] == [verb]]
        assert len(matching) == 1, verb
        assert len(matching[0].split()) > 2, f"{verb} has no purpose"  # the verb, then a one-line purpose


def test_version_and_help_import_neither_torch_nor_lightning() -> None:
    # Fast start: the verbs that need Lightning import it; --version and --help must not.
    script = ("import sys; from ge2conn.main import main; main(['--version']); main(['--help']); "
              "heavy = sorted(name for name in ('torch', 'lightning', 'numpy', 'jsonargparse') "
              "if name in sys.modules); print('HEAVY', heavy)")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, text=True, capture_output=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout


def test_import_ge2conn_is_light_and_the_api_loads_on_first_use() -> None:
    script = ("import sys, ge2conn; light = 'lightning' not in sys.modules; fit = ge2conn.fit; "
              "print('LIGHT', light, 'lightning' in sys.modules, fit.__module__)")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, text=True, capture_output=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "LIGHT True True ge2conn.api.run" in result.stdout


def test_fit_help_shows_model_and_data_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    text = capsys.readouterr().out
    assert "--data.split" in text and "--model" in text and "--checkpoint.monitor" in text


@pytest.mark.parametrize("config", CONFIGS)
def test_every_config_parses(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", config, "--print_config"])
    assert exit_info.value.code in (0, None)
    printed = capsys.readouterr().out
    assert "model:" in printed and "trainer:" in printed and "data:" in printed


def test_model_family_short_name(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["fit", "--model", "SMT", "--model.init_args.use_cls=true", "--print_config"])
    printed = capsys.readouterr().out
    assert "SMTTask" in printed and "use_cls: true" in printed


def test_tensorboard_figures_and_predict(tmp_path: Path, synthetic_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    main(["fit", "--config", "configs/smt_cls.yaml", *_quick(tmp_path, synthetic_path, epochs=1), *SMALL_SMT])
    main(
        [
            "test",
            "--config",
            "configs/smt_cls.yaml",
            *_quick(tmp_path, synthetic_path),
            *SMALL_SMT,
            "--ckpt_path",
            str(tmp_path / "checkpoints" / "last.ckpt"),
        ]
    )
    events = sorted((tmp_path / "lightning_logs").rglob("events.out.tfevents.*"))
    tags: set[str] = set()
    for event_file in events:
        accumulator = EventAccumulator(str(event_file), size_guidance={"images": 0})
        accumulator.Reload()
        tags |= set(accumulator.Tags()["images"])
        for tag in accumulator.Tags()["images"]:  # the connectome figure's size (tests/figures)
            assert all((image.width, image.height) == (1870, 506) for image in accumulator.Images(tag))
    assert {"figures/val_connectome", "figures/test_connectome"} <= tags
    output = tmp_path / "prediction.npy"
    main(
        [
            "predict",
            "--config",
            "configs/smt_cls.yaml",
            *_quick(tmp_path, synthetic_path),
            *SMALL_SMT,
            "--ckpt_path",
            str(tmp_path / "checkpoints" / "last.ckpt"),
            f"--prediction.output={output}",
            "--prediction.embeddings=true",
            "--prediction.attention=true",
            "--prediction.plot=true",
        ]
    )
    with Image.open(output.with_suffix(".png")) as image:
        assert image.size == (1870, 506)
    matrix = np.load(output)
    assert matrix.shape == (24, 24)
    off_diagonal = ~np.eye(24, dtype=bool)
    assert np.isfinite(matrix[off_diagonal]).all() and np.isnan(np.diag(matrix)).all()
    np.testing.assert_allclose(matrix, matrix.T, equal_nan=True)
    assert np.load(tmp_path / "prediction_embeddings.npy").shape[0] == 24
    attention = np.load(tmp_path / "prediction_attention.npy")
    assert attention.shape[0] == 1 and np.allclose(attention.sum(-1), 1.0, atol=1e-4)


def test_resume_after_a_crash_mid_epoch(tmp_path: Path, synthetic_path: Path) -> None:
    common = [
        "--config",
        "configs/mlp.yaml",
        *_quick(tmp_path, synthetic_path, epochs=4),
        "--model.init_args.hidden_sizes=[16,8]",
        "--trainer.logger=false",
        "--early_stopping.patience=100",
    ]
    crashed = _run(
        [
            "fit",
            *common,
            "--trainer.callbacks+=tests.support.interrupt.KillMidEpoch",
            "--trainer.callbacks.epoch=2",
            "--trainer.callbacks.batch=1",
        ]
    )
    assert crashed.returncode == 17, crashed.stderr[-2000:]
    last = tmp_path / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=False)["epoch"] == 1  # epochs 0 and 1 finished before the crash
    resumed = _run(["fit", *common, "--ckpt_path", "last"])
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    checkpoint = torch.load(last, weights_only=False)
    assert checkpoint["epoch"] == 3
    batches_per_epoch = (
        checkpoint["loops"]["fit_loop"]["epoch_loop.batch_progress"]["total"]["completed"] // 4
    )
    assert checkpoint["global_step"] == 4 * batches_per_epoch


def _csv_metrics(folder: Path) -> dict[str, float]:
    files = sorted(folder.rglob("metrics.csv"))
    assert files, f"no metrics.csv under {folder}"
    values: dict[str, float] = {}
    with files[-1].open() as handle:
        for row in csv.DictReader(handle):
            values.update(
                {key: float(value) for key, value in row.items() if value and key.startswith("test/")}
            )
    return values


@pytest.mark.slow
def test_ddp_two_processes_match_one(tmp_path: Path, synthetic_path: Path) -> None:
    # Test one checkpoint with 2 gloo CPU processes and with 1: the sharded evaluation edges and the metric
    # reduction must give the same numbers as a single process.
    fit = _run(
        ["fit", "--config", "configs/cm.yaml", *_quick(tmp_path, synthetic_path), "--trainer.logger=false"]
    )
    assert fit.returncode == 0, fit.stderr[-3000:]
    results = {}
    for name, extra in (("single", []), ("ddp", ["--trainer.strategy=ddp", "--trainer.devices=2"])):
        root = tmp_path / name
        test = _run(
            [
                "test",
                "--config",
                "configs/cm.yaml",
                *_quick(root, synthetic_path),
                "--trainer.logger=CSVLogger",
                f"--trainer.logger.save_dir={root}",
                *extra,
                "--ckpt_path",
                str(tmp_path / "checkpoints" / "last.ckpt"),
            ],
            timeout=400,
        )
        assert test.returncode == 0, test.stderr[-3000:]
        results[name] = _csv_metrics(root)
    for key in ("test/pearson", "test/mse", "test/spearman", "test/geodesic", "test/r2"):
        assert results["ddp"][key] == pytest.approx(results["single"][key], rel=1e-5, abs=1e-6), key


@pytest.mark.slow
def test_ddp_bf16_smt_trains(tmp_path: Path, synthetic_path: Path) -> None:
    run = _run(
        [
            "fit",
            "--config",
            "configs/smt_cls.yaml",
            *_quick(tmp_path, synthetic_path),
            *SMALL_SMT,
            "--trainer.strategy=ddp",
            "--trainer.devices=2",
            "--trainer.precision=bf16-mixed",
            "--trainer.logger=CSVLogger",
            f"--trainer.logger.save_dir={tmp_path}",
        ],
        timeout=400,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert (tmp_path / "checkpoints" / "last.ckpt").exists()


@pytest.mark.expensive
def test_compiled_encoder_checkpoints_load_uncompiled(tmp_path: Path, synthetic_path: Path) -> None:
    main(["fit", "--config", "configs/smt.yaml", *_quick(tmp_path, synthetic_path, epochs=1), *SMALL_SMT,
          "--trainer.logger=false", "--trainer.callbacks+=CompileEncoder"])
    from ge2conn.models import SMTTask

    loaded = SMTTask.load_from_checkpoint(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    assert not any("_orig_mod" in name for name in loaded.state_dict())
