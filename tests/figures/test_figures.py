"""Every figure kind is written: a PNG, non-empty, of the expected size in pixels; colour scales and orders.

Looks are judged by eye (docs/figures/ holds the committed examples); these tests pin what can be checked.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ge2conn.figures import RegionLayout, connectome_figure, network_order, quantity_label, save_figure
from ge2conn.figures.connectome import edges_to_matrices, network_blocks, symmetric_limit
from ge2conn.figures.names import model_display_name

RNG = np.random.default_rng(3)


def _pixels(path: Path) -> tuple[int, int]:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
    with Image.open(path) as image:
        return image.size


def _layout(count: int) -> RegionLayout:
    networks = np.asarray(["Default", "Vis", "Subcortical", "SomMot"])[np.arange(count) % 4]
    return RegionLayout(networks, np.where(np.arange(count) % 2 == 0, "L", "R"))


def test_connectome_figure_size_scale_and_order(tmp_path: Path) -> None:
    count = 12
    rows, cols = np.triu_indices(count, 1)
    target = RNG.normal(0.2, 0.3, rows.size)
    prediction = target + RNG.normal(0, 0.1, rows.size)
    figure = connectome_figure(rows, cols, prediction, target, _layout(count), title="t",
                               quantity="FC, Fisher z")
    assert _pixels(save_figure(figure, tmp_path / "c.png")) == (1870, 506)
    images = [axis.get_images()[0] for axis in figure.axes[:3] if axis.get_images()]
    for image in images:  # diverging scales centred at 0 and symmetric
        low, high = image.get_clim()
        assert low == pytest.approx(-high) and high > 0
    assert images[0].get_clim() == images[1].get_clim()  # true and predicted share one scale
    assert images[0].get_array().mask.diagonal().all()  # the diagonal is masked (grey), not 0 (white)
    colourbar_labels = {axis.get_ylabel() for axis in figure.axes}
    assert "FC, Fisher z" in colourbar_labels and "Δ FC, Fisher z" in colourbar_labels
    text = " ".join(child.get_text() for child in figure.axes[3].texts)
    expected_r = np.corrcoef(target, prediction)[0, 1]
    expected_r2 = 1 - np.sum((target - prediction) ** 2) / np.sum((target - target.mean()) ** 2)
    assert f"r = {expected_r:.3f}" in text and f"R² = {expected_r2:.3f}" in text


def test_network_order_blocks_and_matrix() -> None:
    network = np.asarray(["Default", "Vis", "Subcortical", "Vis", "Default", "Cont"])
    hemisphere = np.asarray(["R", "R", "L", "L", "L", "L"])
    order = network_order(network, hemisphere)
    # Yeo-7 order (Vis ... Cont, Default), other networks after; left before right inside a network.
    assert order.tolist() == [3, 1, 5, 4, 0, 2]
    assert network_blocks(network[order]) == [("Vis", 0, 2), ("Cont", 2, 3), ("Default", 3, 5),
                                              ("Subcortical", 5, 6)]
    regions, true, predicted = edges_to_matrices(np.array([4, 4]), np.array([7, 9]), np.array([1.0, 2.0]),
                                                 np.array([3.0, 4.0]))
    assert regions.tolist() == [4, 7, 9] and true[0, 1] == true[1, 0] == 3.0 and np.isnan(predicted[1, 2])
    assert symmetric_limit(np.array([-5.0, 1.0, np.nan]), quantile=1.0) == 5.0


def test_names_and_units() -> None:
    assert model_display_name("SMTTask", {"use_cls": True}) == "SMT+[CLS]"
    assert model_display_name("SMTTask", {"use_cls": False}) == "SMT"
    assert model_display_name("MLPTask", {"inputs": "expression+coordinates"}) == "MLP+coords"
    assert model_display_name("RulesBasedTask", {"rule": "gaussian"}) == "Gaussian"
    assert quantity_label({"fc_transform": "fisher_z, negatives zeroed"}) == "FC, Fisher z"
    assert quantity_label({}) == "FC"


def test_report_figures_and_html(tmp_path: Path) -> None:
    from ge2conn.experiments.report_figures import (
        confidence_interval,
        parameters_figure,
        true_vs_null_figure,
    )
    from ge2conn.experiments.report_html import figure_caption, markdown_to_html, write_html_report

    values = [0.5, 0.6, 0.7, 0.4]
    mean, half = confidence_interval(values)
    from scipy import stats

    expected = stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))
    assert (mean - half, mean + half) == pytest.approx(expected)
    rows = [{"dataset": "d", "split": "random", "model": key, "model_name": key.upper(), "wilcoxon_p": 0.125}
            for key in ("smt", "cm")]
    records = [{"dataset": "d", "split": "random", "model": key, "variant": variant, "fold": fold,
                "num_parameters": 10 ** (3 + index),
                "metrics": {"test/pearson": float(RNG.uniform(0.2, 0.7))}}
               for index, key in enumerate(("smt", "cm")) for variant in ("true", "null")
               for fold in range(4)]
    bars = save_figure(true_vs_null_figure(rows, records, "t"), tmp_path / "bars.png")
    assert _pixels(bars) == (715, 506)
    rules = {"dataset": "d", "split": "random", "model": "rule", "model_name": "Rule", "wilcoxon_p": None}
    records += [{"dataset": "d", "split": "random", "model": "rule", "variant": "true", "fold": fold,
                 "num_parameters": 0, "metrics": {"test/pearson": 0.3 + 0.01 * fold}} for fold in range(4)]
    parameters = parameters_figure([*rows, rules], records, "t")
    assert parameters is not None
    axis = parameters.axes[0]
    # Trained models are points at their parameter counts; a model without parameters is a level (a line).
    points = sorted(tuple(line.get_xydata()[0]) for line in axis.lines if line.get_marker() == "o")
    for (count, r), key in zip(points, ("smt", "cm"), strict=True):
        pearson = [record["metrics"]["test/pearson"] for record in records
                   if (record["model"], record["variant"]) == (key, "true")]
        assert (count, r) == pytest.approx((10 ** (3 + ("smt", "cm").index(key)), np.mean(pearson)))
    levels = [line.get_ydata()[0] for line in axis.lines if line.get_linestyle() == ":"]
    assert levels == pytest.approx([0.315])
    assert _pixels(save_figure(parameters, tmp_path / "parameters.png")) == (704, 484)
    table = "# Table 1\n\n| Model | r |\n|---|---|\n| SMT | 0.7 |\n"
    assert "<td>SMT</td>" in markdown_to_html(table) and "<h2>Table 1</h2>" in markdown_to_html(table)
    (tmp_path / "table1.md").write_text(table)
    page = write_html_report(tmp_path, "x", [tmp_path / "table1.md"], [bars]).read_text()
    inlined = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(inlined) == 1 and base64.b64decode(inlined[0]) == bars.read_bytes()
    assert "<td>0.7</td>" in page
    assert "<figcaption>bars.png</figcaption>" in page  # no known prefix: the file name alone
    assert figure_caption(Path("true_vs_null_d_random.png")).endswith("Fig. 2C). (true_vs_null_d_random.png)")
    assert figure_caption(Path("brain_seed_dk82_cm.png")).startswith("The best model's held-out FC of a seed")
    assert figure_caption(Path("brain_strength_dk82_cm.png")).startswith("The best model's node strength")


@pytest.mark.mirror
def test_brain_figures(tmp_path: Path, mirror_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ge2conn.data.recipes.common import FREESURFER_APARC_NAMES
    from ge2conn.figures.brain import glass_brain_figure, surface_atlas, surface_maps_figure

    monkeypatch.setenv("GE2CONN_MIRROR", str(mirror_path))
    monkeypatch.setenv("GE2CONN_HOME", str(tmp_path / "home"))
    names = [name for name in FREESURFER_APARC_NAMES if name not in ("unknown", "corpuscallosum")]
    labels = np.asarray([f"{side}_{name}" for side in "LR" for name in names] + ["Lthal"])
    atlas = surface_atlas(labels)
    assert atlas is not None and atlas.name == "aparc_conte69"
    values = np.arange(labels.size, dtype=float)
    projected = atlas.project(values)
    # Every cortical region owns vertices on its own hemisphere; the thalamus owns none.
    assert set(np.unique(atlas.vertex_region["left"])) == {-1, *range(34)}
    assert set(np.unique(atlas.vertex_region["right"])) == {-1, *range(34, 68)}
    assert np.isnan(projected["left"][atlas.vertex_region["left"] < 0]).all()
    maps = [("true", values - 30), ("predicted", values - 20)]
    figure = surface_maps_figure(maps, atlas, "FC, Fisher z", "t")
    assert _pixels(save_figure(figure, tmp_path / "surface.png")) == (1100, 550)
    assert surface_atlas(np.asarray(["a", "b"])) is None
    matrix = RNG.normal(size=(labels.size, labels.size))
    centroids = RNG.uniform(-60, 60, size=(labels.size, 3))
    glass = glass_brain_figure(matrix, centroids, np.asarray(["Vis"] * labels.size), 10, "t", "FC")
    assert _pixels(save_figure(glass, tmp_path / "glass.png")) == (1100, 360)


def test_network_gain_figure_values_and_size(tmp_path: Path, synthetic_path: Path) -> None:
    from ge2conn.data.region_table import RegionTable
    from ge2conn.experiments.report_figures import network_gain_figure

    table = RegionTable.read(synthetic_path)
    rows, cols = np.triu_indices(table.labels.size, 1)
    records, expected = [], {}
    for model in ("cm", "mlp"):
        for variant, noise in (("true", 0.3), ("null", 1.0)):
            for fold in range(2):
                folder = tmp_path / f"{model}{variant}{fold}"
                folder.mkdir()
                target = RNG.normal(size=rows.size)
                prediction = target + RNG.normal(scale=noise, size=rows.size)
                np.savez(folder / "predictions.npz", rows=rows, cols=cols, target=target,
                         prediction=prediction)
                records.append({"dataset": "synthetic", "split": "random", "model": model, "variant": variant,
                                "fold": fold, "folder": str(folder),
                                "config": {"settings": {"data.dataset": str(synthetic_path)}}})
                for network in ("Vis", "SomMot", "Default", "Subcortical"):  # Yeo-7 order, others after
                    touching = (table.network[rows] == network) | (table.network[cols] == network)
                    r = np.corrcoef(target[touching], prediction[touching])[0, 1]
                    sign = 1 if variant == "true" else -1
                    expected[(model, network)] = expected.get((model, network), 0.0) + sign * r / 2
    report_rows = [{"dataset": "synthetic", "split": "random", "model": model, "model_name": model.upper()}
                   for model in ("cm", "mlp")]
    figure = network_gain_figure(report_rows, records, "t")
    assert figure is not None
    gains = figure.axes[0].get_images()[0].get_array()
    networks = ("Vis", "SomMot", "Default", "Subcortical")
    assert tuple(label.get_text() for label in figure.axes[0].get_xticklabels()) == networks
    np.testing.assert_allclose(gains, [[expected[(model, name)] for name in networks]
                                       for model in ("cm", "mlp")])
    assert _pixels(save_figure(figure, tmp_path / "gain.png")) == (814, 301)
