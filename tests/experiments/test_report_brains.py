"""The report's brain figures: held-out test edges stitched over folds, the best model chosen, files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from ge2conn.data.errors import DatasetError
from ge2conn.data.region_table import RegionTable
from ge2conn.experiments import report_brains
from ge2conn.experiments.report_brains import draw_brains, representative_model, stitch_predictions
from ge2conn.figures import brain, new_figure

RNG = np.random.default_rng(5)


def _fold_runs(root: Path, true: np.ndarray, folds: int, model: str = "cm",
               split_round: int = 0) -> list[dict[str, Any]]:
    """One run per fold whose test edges are the pairs of that fold's regions (regions dealt round-robin)."""
    count = true.shape[0]
    records = []
    for fold in range(folds):
        members = np.arange(fold, count, folds)
        rows, cols = (members[index] for index in np.triu_indices(members.size, 1))
        folder = root / model / f"r{split_round}f{fold}"
        folder.mkdir(parents=True)
        np.savez(folder / "predictions.npz", rows=rows, cols=cols, target=true[rows, cols],
                 prediction=0.5 * true[rows, cols] + 0.1)
        records.append({"dataset": "d", "split": "random", "model": model, "variant": "true",
                        "round": split_round, "fold": fold, "folder": str(folder)})
    return records


def _row(model: str, pearson: float, split: str = "random") -> dict[str, Any]:
    return {"dataset": "d", "split": split, "model": model, "model_name": model.upper(),
            "pearson_true_mean": pearson}


def _symmetric(count: int) -> np.ndarray:
    matrix = RNG.normal(size=(count, count))
    return (matrix + matrix.T) / 2


def test_stitch_predictions_keeps_only_held_out_pairs(tmp_path: Path) -> None:
    count, folds = 11, 3
    true = _symmetric(count)
    records = _fold_runs(tmp_path, true, folds)
    stitched_true, stitched_predicted = stitch_predictions(
        [Path(record["folder"]) / "predictions.npz" for record in records], count)
    same_fold = (np.arange(count)[:, None] % folds == np.arange(count)[None, :] % folds)
    same_fold &= ~np.eye(count, dtype=bool)
    expected = np.where(same_fold, true, np.nan)
    np.testing.assert_array_equal(stitched_true, expected)
    np.testing.assert_allclose(stitched_predicted, 0.5 * expected + 0.1)
    with pytest.raises(ValueError, match="outside the dataset's 5 regions"):
        stitch_predictions([Path(records[0]["folder"]) / "predictions.npz"], 5)


def test_representative_model_prefers_the_random_split_and_the_best_r(tmp_path: Path) -> None:
    true = _symmetric(8)
    records = _fold_runs(tmp_path / "a", true, 2, "cm") + _fold_runs(tmp_path / "b", true, 2, "mlp")
    table1 = [_row("mlp", 0.9, "spatial"), _row("cm", 0.5), _row("mlp", 0.6), _row("smt", 0.8)]
    # SMT has the best r but no predictions.npz; the spatial row is never preferred to a random one.
    assert representative_model(table1, records, "d") == ("random", "mlp", "MLP")
    assert representative_model(table1, records, "other") is None


def _dk_table(count_per_side: int | None = None) -> RegionTable:
    from ge2conn.data.recipes.common import FREESURFER_APARC_NAMES

    names = [name for name in FREESURFER_APARC_NAMES if name not in ("unknown", "corpuscallosum")]
    labels = np.asarray([f"{side}_{name}" for side in "LR" for name in names[:count_per_side]])
    count = labels.size
    return RegionTable(labels=labels, hemisphere=np.repeat(["L", "R"], count // 2),
                       structure=np.full(count, "cortex"), network=np.full(count, "Default"),
                       centroids=RNG.uniform(-60, 60, size=(count, 3)), has_expression=np.ones(count, bool),
                       gene_symbols=np.asarray(["A"]), num_subjects=0)


def test_report_glass_brain_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = _dk_table()
    table = RegionTable(**{**table.__dict__, "labels": np.asarray([f"r{index}" for index in range(68)])})
    monkeypatch.setattr(report_brains, "run_regions", lambda record: (table, table.has_expression))
    records = _fold_runs(tmp_path / "runs", _symmetric(68), 4)
    table1 = [_row("cm", 0.5)]
    # No conte69 parcellation for these labels: the glass brain only.
    (path,) = draw_brains(records, table1, tmp_path / "figures")
    assert path.name == "glass_brain_d_cm.png" and path.stat().st_size > 5000
    with Image.open(path) as image:
        assert image.size == (1100, 360)


@pytest.mark.mirror
def test_report_surface_maps_show_held_out_values(tmp_path: Path, mirror_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GE2CONN_MIRROR", str(mirror_path))
    monkeypatch.setenv("GE2CONN_HOME", str(tmp_path / "home"))
    table = _dk_table()
    count = table.labels.size
    monkeypatch.setattr(report_brains, "run_regions", lambda record: (table, table.has_expression))
    drawn: dict[str, list[tuple[str, np.ndarray]]] = {}

    def record_maps(maps: list[tuple[str, np.ndarray]], atlas: Any, quantity: str, title: str,
                    symmetric: bool = True) -> Any:
        # The rendering itself is tested (pixels) in tests/figures; here: which values reach the surface.
        drawn["seed" if "seed" in title else "strength"] = maps
        assert atlas.name == "aparc_conte69"
        return new_figure(2, 1)

    monkeypatch.setattr(brain, "surface_maps_figure", record_maps)
    monkeypatch.setattr(brain, "glass_brain_figure", lambda *arguments: new_figure(2, 1))
    true = _symmetric(count)
    records = _fold_runs(tmp_path / "runs", true, 4)
    table1 = [_row("cm", 0.5)]
    written = draw_brains(records, table1, tmp_path / "figures")
    assert [path.name for path in written] == ["brain_seed_d_cm.png", "brain_strength_d_cm.png",
                                               "glass_brain_d_cm.png"]
    seed = table.labels.tolist().index("L_precuneus")
    fold_mates = (np.arange(count) % 4 == seed % 4) & (np.arange(count) != seed)
    expected_seed = np.where(fold_mates, true[seed], np.nan)
    (true_name, true_seed), (predicted_name, predicted_seed) = drawn["seed"]
    assert (true_name, predicted_name) == ("true", "predicted")
    np.testing.assert_allclose(true_seed, expected_seed)
    np.testing.assert_allclose(predicted_seed, 0.5 * expected_seed + 0.1)
    regions = np.arange(count)
    expected_strength = [np.mean(true[index, (regions % 4 == index % 4) & (regions != index)])
                         for index in regions]
    np.testing.assert_allclose(drawn["strength"][0][1], expected_strength)


def test_report_skips_brains_with_a_note_when_the_surface_files_cannot_be_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    table = _dk_table()
    monkeypatch.setattr(report_brains, "run_regions", lambda record: (table, table.has_expression))

    def offline(*arguments: Any) -> Any:
        raise DatasetError(tmp_path / "schaefer_100_conte69.csv", "<download>", "cannot download", "online")

    monkeypatch.setattr(report_brains, "brain_figures", offline)
    records = _fold_runs(tmp_path / "runs", _symmetric(table.labels.size), 4)
    assert draw_brains(records, [_row("cm", 0.5)], tmp_path / "figures") == []
    assert "no brain figures for d" in capsys.readouterr().err
