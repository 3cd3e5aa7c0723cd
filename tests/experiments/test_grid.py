"""The run grid: shards, seeds, null ranks, hyperparameter samples and configuration checks."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from ge2conn.experiments.config import ExperimentConfig, ExperimentConfigError, load_config, slugify
from ge2conn.experiments.grid import (
    null_rank,
    outer_splits,
    parse_shard,
    run_folder,
    run_seed,
    sample_hyperparameters,
    shard,
)
from tests.experiments.conftest import CONFIGS, REPOSITORY


def _grid_config(make_config: Callable[..., ExperimentConfig]) -> ExperimentConfig:
    return make_config(splits=["random", "spatial"], rounds=3, fold_indices=[0, 1, 2, 3], models=[
        {"name": name, "config": str(CONFIGS / "cge.yaml"), "nulls": index % 2 == 0}
        for index, name in enumerate(["A", "B", "C"])])


def test_grid_enumerates_every_cell_once(make_config: Callable[..., ExperimentConfig]) -> None:
    config = _grid_config(make_config)
    cells = outer_splits(config)
    expected = set(itertools.product(["a", "b", "c"], ["random", "spatial"], range(3), range(4)))
    assert {(c.model, c.split, c.split_round, c.fold) for c in cells} == expected
    assert len(cells) == len(expected)
    assert {c.variants for c in cells if c.model == "b"} == {("true",)}
    assert {c.variants for c in cells if c.model == "a"} == {("true", "null")}


@pytest.mark.parametrize("count", [1, 2, 3, 5, 7, 72, 100])
def test_shards_are_disjoint_and_complete(make_config: Callable[..., ExperimentConfig], count: int) -> None:
    config = _grid_config(make_config)
    cells = outer_splits(config)
    shards = [shard(cells, index, count) for index in range(count)]
    flattened = [cell for part in shards for cell in part]
    assert len(flattened) == len(cells)
    assert set(flattened) == set(cells)
    # Deterministic: a fresh enumeration gives the same slices.
    assert shards == [shard(outer_splits(config), index, count) for index in range(count)]
    sizes = [len(part) for part in shards]
    assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("text", ["1", "2/2", "-1/3", "a/b", "0/0", "1/2/3"])
def test_parse_shard_rejects_bad_values(text: str) -> None:
    with pytest.raises(ValueError):
        parse_shard(text)


def test_parse_shard() -> None:
    assert parse_shard("3/8") == (3, 8)


def test_seeds_and_null_ranks(make_config: Callable[..., ExperimentConfig]) -> None:
    config = _grid_config(make_config)
    cells = outer_splits(config)
    seeds = {cell: run_seed(config, cell) for cell in cells}
    assert len(set(seeds.values())) == len(cells)  # every (model, split, round, fold) has its own seed
    assert seeds == {cell: run_seed(_grid_config(make_config), cell) for cell in cells}
    other = make_config(seed=4, splits=["random", "spatial"], rounds=3, fold_indices=[0, 1, 2, 3], models=[
        {"name": "A", "config": str(CONFIGS / "cge.yaml")}])
    assert run_seed(other, cells[0]) != seeds[cells[0]]
    for cell in cells:
        assert null_rank(config, cell) == (cell.split_round * 4 + cell.fold) % config.null_top
        assert run_folder(config, cell, "null").name == f"r{cell.split_round}f{cell.fold}-null"


def test_hyperparameter_samples(make_config: Callable[..., ExperimentConfig]) -> None:
    grid = {"model.init_args.ridge": [0.1, 1.0, 10.0], "model.init_args.pca_variance": [0.9, 0.95]}
    config = make_config(tuning={"enabled": True, "samples": 3},
                         models=[{"name": "CM", "config": str(CONFIGS / "cm.yaml"), "grid": grid}])
    cells = outer_splits(config)
    model = config.models[0]
    first = sample_hyperparameters(config, model, cells[0])
    assert first[0] == {}
    assert len(first) == 4
    draws = first[1:]
    assert len({tuple(sorted(draw.items())) for draw in draws}) == 3
    for draw in draws:
        assert set(draw) == set(grid)
        assert all(draw[key] in grid[key] for key in grid)
    assert first == sample_hyperparameters(config, model, cells[0])
    # Asking for more than the grid holds returns the whole grid once.
    big = make_config(tuning={"enabled": True, "samples": 50},
                      models=[{"name": "CM", "config": str(CONFIGS / "cm.yaml"), "grid": grid}])
    assert len(sample_hyperparameters(big, big.models[0], cells[0])) == 1 + 6
    off = make_config(models=[{"name": "CM", "config": str(CONFIGS / "cm.yaml"), "grid": grid}])
    assert sample_hyperparameters(off, off.models[0], cells[0]) == [{}]


@pytest.mark.parametrize("change", [
    {"splits": ["diagonal"]},
    {"colour": "blue"},
    {"models": []},
    {"models": [{"name": "x", "config": "nowhere.yaml"}]},
    {"models": [{"name": "x", "config": str(CONFIGS / "mlp.yaml"), "null": False}]},
    {"models": [{"name": "x", "config": str(CONFIGS / "mlp.yaml"),
                 "overrides": ["--data.shuffle_expression=true"]}]},
    {"models": [{"name": "x", "config": str(CONFIGS / "cge.yaml")},
                {"name": "X", "config": str(CONFIGS / "cge.yaml")}]},
    {"fold_indices": [4]},
    {"trainer": {"logger": "wandb"}},
])
def test_bad_configs_are_rejected(make_config: Callable[..., ExperimentConfig], change: dict) -> None:
    with pytest.raises(ExperimentConfigError):
        make_config(**change)


def test_slugify() -> None:
    assert slugify("SMT+[CLS]") == "smt_cls"
    assert slugify("CM (PLS)") == "cm_pls"


@pytest.mark.parametrize("path", sorted((REPOSITORY / "configs" / "experiments").glob("*.yaml")))
def test_shipped_experiment_configs_parse(path: Path) -> None:
    config = load_config(path)
    assert config.models and outer_splits(config)
