"""What ``ge2conn fit`` / ``test`` print: ge2conn's grouped metric table, none of Lightning's noise."""

from __future__ import annotations

from pathlib import Path

import pytest

from ge2conn.main import main
from tests.support.quick import SMALL_MLP_SETTINGS, as_arguments, quick_settings

REPO = Path(__file__).resolve().parents[1]
NOISE = ("Total FLOPs", "FLOPs", "v_num", "Tip:", "LeafSpec", "weights_only", "Test metric", "test/loss",
         "DataLoader 0", "already configured")


def test_fit_and_test_print_the_grouped_table_and_no_noise(tmp_path: Path, synthetic_path: Path,
                                                          capfd: pytest.CaptureFixture[str]) -> None:
    settings = {**quick_settings(tmp_path, synthetic_path, epochs=1), **SMALL_MLP_SETTINGS,
                "trainer.enable_progress_bar": True, "trainer.enable_model_summary": True}
    config = ["--config", str(REPO / "configs" / "mlp.yaml")]
    main(["fit", *config, *as_arguments(settings)])
    fitted = capfd.readouterr()
    main(["test", *config, *as_arguments(settings),
          f"--ckpt_path={tmp_path / 'checkpoints' / 'last.ckpt'}"])
    tested = capfd.readouterr()
    printed = fitted.out + fitted.err + tested.out + tested.err
    assert "Parameters:" in fitted.out
    for noise in NOISE:
        assert noise not in printed, noise
    assert "MLP on synthetic, random split round 0 fold 0: test edges" in tested.out
    for group in ("global", "distance", "strength", "hemisphere", "network"):
        assert group in tested.out
    if " nan " in tested.out:
        assert tested.out.count("nan: fewer than 50 test edges in the stratum") == 1
