"""Experiment configuration: the YAML file that ``ge2conn experiment run`` reads.

A configuration names the models (each a training YAML such as ``configs/smt.yaml`` with optional overrides
and a hyperparameter grid), the datasets, split types, rounds and folds, the null settings, the epochs and
the devices. Example (see ``configs/experiments/table1_quick.yaml`` for a full one)::

    name: table1_quick
    seed: 0
    datasets: [dk82, {name: dk82-cortex, dataset: dk82, structures: [cortex]}]
    splits: [random, spatial]
    rounds: 1
    folds: 4
    nulls: {enabled: true, n: 1000, top: 10, seed: 0}
    tuning: {enabled: false, samples: 3}
    trainer: {configs: [configs/trainer/cpu.yaml], devices: cpu, logger: false}
    workers: 2
    models:
      - {name: CGE, config: configs/cge.yaml}
      - {name: Exp. decay, config: configs/exp_decay.yaml, nulls: false}
      - {name: MLP, config: configs/mlp.yaml, epochs: 20, settings: {model.init_args.learning_rate: 3e-4},
         grid: {model.init_args.dropout: [0.1, 0.2]}}

``settings`` (per model, or for every run at the top level) and ``grid`` use the dotted keys of the
training configuration (``data.*``, ``trainer.*``, ``model.init_args.*``); the runner hands them to
:func:`ge2conn.api.build` as values, never as command-line strings. The older form, a list of
``--key=value`` strings under ``overrides``, is still read and converted to settings.

Relative paths (model and trainer configs) are resolved against the working directory first, then against
the experiment file's folder and its parents, so ``configs/...`` works from the repository root and from
anywhere else when the experiment file lives in the repository.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ge2conn.data.splits import SPLIT_TYPES

VARIANTS = ("true", "null")
"""Expression variants of a run: the true brain, or the null brain of rank ``s mod K`` (method §5.6)."""
LOGGERS = ("false", "csv", "tensorboard")
DEVICES = ("cpu", "gpu")
MODEL_KEYS = {"name", "key", "config", "settings", "overrides", "epochs", "grid", "nulls", "cost"}


class ExperimentConfigError(ValueError):
    """An experiment configuration that cannot be run, with the offending key in the message."""


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset of an experiment.

    Attributes:
        label: Name used in run folders and report tables (e.g. ``dk82-cortex``).
        dataset: Dataset name or ``.h5`` path handed to the datamodule.
        structures: Keep only regions of these structures (e.g. ``["cortex"]``); None keeps all.
    """

    label: str
    dataset: str
    structures: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ModelSpec:
    """One model of an experiment.

    Attributes:
        name: Display name in the report (e.g. ``SMT+[CLS]``).
        key: Folder name (``name`` made filesystem-safe unless given).
        config: Training YAML of the model.
        settings: Values for every run of this model by dotted key (``{"model.init_args.dropout": 0.1}``).
        epochs: ``trainer.max_epochs`` for this model (None keeps the model config's value).
        grid: Hyperparameter grid: dotted CLI key (``model.init_args.dropout``) to candidate values.
        null: Also run the null brain (YAML key ``nulls``; false for models that do not read expression).
        cost: Relative cost estimate; expensive models are scheduled first.
    """

    name: str
    key: str
    config: Path
    settings: dict[str, Any] = field(default_factory=dict)
    epochs: int | None = None
    grid: dict[str, list[Any]] = field(default_factory=dict)
    null: bool = True
    cost: float = 1.0


@dataclass(frozen=True)
class ExperimentConfig:
    """A parsed experiment configuration (see the module docstring for the YAML layout).

    Attributes:
        name: Experiment name.
        output: Run folder (default ``runs/<name>``).
        seed: Experiment seed: the split seed of every run and the root of every run seed.
        datasets: Datasets (report tables are grouped by dataset).
        splits: Split types.
        rounds: Round indices.
        num_folds: Folds per round.
        folds: Fold indices run (all by default).
        val_fraction: Inner validation share of the outer training regions.
        nulls_enabled: Run null counterparts of models with ``null: true``.
        null_spins: Spins drawn when the nulls file must be generated.
        null_top: Number K of lowest-error nulls kept; split ``s`` uses rank ``s mod K``.
        null_seed: Seed of the null generation.
        tuning_enabled: Nested hyperparameter tuning on the inner validation regions.
        tuning_samples: Configurations sampled from each grid (the default is always added).
        trainer_configs: Trainer presets applied after each model config.
        devices: ``cpu`` or ``gpu`` (one worker per visible GPU).
        logger: ``false``, ``csv`` or ``tensorboard``.
        keep_checkpoints: Keep each run's checkpoints (they are deleted after testing otherwise).
        settings: Values for every run by dotted key.
        workers: Parallel worker processes (CPU); GPU runs use one per visible device.
        models: Models, in report order.
        source: The YAML file the configuration came from.
        raw: The YAML mapping as read (recorded with every run).
    """

    name: str
    output: Path
    seed: int
    datasets: tuple[DatasetSpec, ...]
    splits: tuple[str, ...]
    rounds: tuple[int, ...]
    num_folds: int
    folds: tuple[int, ...]
    val_fraction: float
    nulls_enabled: bool
    null_spins: int
    null_top: int
    null_seed: int
    tuning_enabled: bool
    tuning_samples: int
    trainer_configs: tuple[Path, ...]
    devices: str
    logger: str
    keep_checkpoints: bool
    settings: dict[str, Any]
    workers: int
    models: tuple[ModelSpec, ...]
    source: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def model(self, key: str) -> ModelSpec:
        """The model with this folder key."""
        for spec in self.models:
            if spec.key == key:
                return spec
        raise KeyError(key)


def slugify(name: str) -> str:
    """A folder-safe key for a display name: ``"SMT+[CLS]"`` → ``"smt_cls"``."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not slug:
        raise ExperimentConfigError(f"model name {name!r} has no letters or digits to name its folder")
    return slug


def resolve_path(value: str | Path, source: Path | None) -> Path:
    """Resolve a relative path against the working directory, then the config's folder and its parents."""
    path = Path(value).expanduser()
    if path.is_absolute() or path.exists() or source is None:
        return path
    for folder in [source.resolve().parent, *source.resolve().parent.parents]:
        if (folder / path).exists():
            return folder / path
    return path


def _int_list(value: Any, key: str, count_means_range: bool) -> tuple[int, ...]:
    if isinstance(value, bool):
        raise ExperimentConfigError(f"{key} must be an integer or a list of integers, got {value!r}")
    if isinstance(value, int):
        if value < 1:
            raise ExperimentConfigError(f"{key} must be at least 1, got {value}")
        return tuple(range(value)) if count_means_range else (value,)
    if isinstance(value, list) and value and all(isinstance(item, int) and item >= 0 for item in value):
        return tuple(dict.fromkeys(value))
    raise ExperimentConfigError(f"{key} must be a positive count or a list of non-negative integers, "
                                f"got {value!r}")


def _datasets(value: Any) -> tuple[DatasetSpec, ...]:
    entries = value if isinstance(value, list) else [value]
    specs: list[DatasetSpec] = []
    for entry in entries:
        if isinstance(entry, str):
            # A file path is labelled by its stem, so that report headings stay short.
            label = Path(entry).stem if Path(entry).suffix in {".h5", ".hdf5"} else entry
            specs.append(DatasetSpec(label=label, dataset=entry))
        elif isinstance(entry, dict) and "dataset" in entry:
            structures = entry.get("structures")
            dataset = str(entry["dataset"])
            label = str(entry.get("name", Path(dataset).stem if Path(dataset).suffix in {".h5", ".hdf5"}
                                  else dataset))
            specs.append(DatasetSpec(label=label, dataset=str(entry["dataset"]),
                                     structures=tuple(structures) if structures else None))
        else:
            raise ExperimentConfigError(f"each dataset must be a name or a mapping with 'dataset', got "
                                        f"{entry!r}")
    labels = [spec.label for spec in specs]
    if not specs or len(set(labels)) != len(labels):
        raise ExperimentConfigError(f"datasets must be a non-empty list of distinct names, got {labels}")
    return tuple(specs)


def _model(entry: Any, index: int, source: Path | None) -> ModelSpec:
    if not isinstance(entry, dict) or "config" not in entry:
        raise ExperimentConfigError(f"models[{index}] must be a mapping with at least 'config', "
                                    f"got {entry!r}")
    unknown = sorted(str(key) for key in set(entry) - MODEL_KEYS)
    if unknown:
        raise ExperimentConfigError(f"models[{index}]: unknown keys {unknown}; "
                                    f"known keys: {sorted(MODEL_KEYS)}")
    config = resolve_path(entry["config"], source)
    if not config.exists():
        raise ExperimentConfigError(f"models[{index}].config: no such file {entry['config']!r}")
    name = str(entry.get("name", config.stem))
    grid = entry.get("grid") or {}
    if not isinstance(grid, dict) or not all(isinstance(values, list) and values for values in grid.values()):
        raise ExperimentConfigError(f"models[{index}].grid must map keys to non-empty lists, got {grid!r}")
    epochs = entry.get("epochs")
    if epochs is not None and (not isinstance(epochs, int) or epochs < 1):
        raise ExperimentConfigError(f"models[{index}].epochs must be a positive integer, got {epochs!r}")
    settings = read_settings(entry, f"models[{index}]")
    if entry.get("nulls", True) and settings.get("data.shuffle_expression") is True:
        raise ExperimentConfigError(f"models[{index}] ({name}) permutes expression; set 'nulls: false' (a "
                                    "null brain and a permutation are two different controls)")
    return ModelSpec(name=name, key=str(entry.get("key") or slugify(name)), config=config,
                     settings=settings, epochs=epochs,
                     grid={str(key): list(values) for key, values in grid.items()},
                     null=bool(entry.get("nulls", True)),
                     cost=float(entry.get("cost", epochs if epochs is not None else 1)))


def parse_setting(text: str) -> tuple[str, Any]:
    """Read one ``key=value`` setting typed by a user (``trainer.max_epochs=20``); the value is YAML.

    Args:
        text: ``dotted.key=value``.

    Returns:
        ``(key, value)``; an empty value is None.

    Raises:
        ValueError: When the text is not ``key=value`` with a dotted key.
    """
    match = re.fullmatch(r"([A-Za-z_][\w.]*)=(.*)", text, flags=re.DOTALL)
    if match is None:
        raise ValueError(f"{text!r} is not KEY=VALUE (e.g. trainer.max_epochs=20)")
    return match.group(1), yaml.safe_load(match.group(2)) if match.group(2) else None


def read_settings(entry: dict[str, Any], where: str) -> dict[str, Any]:
    """The ``settings`` of an experiment or model entry, with the older ``overrides`` strings converted.

    Args:
        entry: The YAML mapping (experiment or model).
        where: Its name in error messages.

    Returns:
        Values by dotted key; a ``settings`` value wins over an ``overrides`` string for the same key.

    Raises:
        ExperimentConfigError: When ``settings`` is not a mapping or an override is not ``--key=value``.
    """
    settings: dict[str, Any] = {}
    for item in entry.get("overrides") or []:
        if not str(item).startswith("--"):
            raise ExperimentConfigError(f"{where}.overrides: {item!r} is not '--key=value'; write it as "
                                        f"settings: {{key: value}}")
        try:
            key, value = parse_setting(str(item)[2:])
        except ValueError as error:
            raise ExperimentConfigError(f"{where}.overrides: {error}") from error
        settings[key] = value
    given = entry.get("settings") or {}
    if not isinstance(given, dict):
        raise ExperimentConfigError(f"{where}.settings must map dotted keys to values, got {given!r}")
    settings.update({str(key): value for key, value in given.items()})
    return settings


def parse_config(raw: dict[str, Any], source: Path | None = None) -> ExperimentConfig:
    """Validate an experiment mapping and fill in the defaults.

    Args:
        raw: The YAML mapping.
        source: The file it came from (for resolving relative paths).

    Returns:
        The configuration.

    Raises:
        ExperimentConfigError: on a missing or malformed key.
    """
    known = {"name", "output", "seed", "datasets", "dataset", "splits", "rounds", "folds", "fold_indices",
             "val_fraction", "nulls", "tuning", "trainer", "settings", "overrides", "workers", "models"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ExperimentConfigError(f"unknown keys {unknown}; known keys: {sorted(known)}")
    name = str(raw.get("name") or (source.stem if source is not None else ""))
    if not name:
        raise ExperimentConfigError("the experiment needs a 'name'")
    splits = tuple(raw.get("splits") or ["random"])
    if not set(splits) <= set(SPLIT_TYPES):
        raise ExperimentConfigError(f"splits must be among {SPLIT_TYPES}, got {list(splits)}")
    num_folds = int(raw.get("folds", 4))
    folds = _int_list(raw.get("fold_indices", num_folds), "fold_indices", count_means_range=True)
    if num_folds < 2 or max(folds) >= num_folds:
        raise ExperimentConfigError(f"folds must be >= 2 and fold_indices below it, got {num_folds}, {folds}")
    nulls = dict(raw.get("nulls") or {})
    tuning = dict(raw.get("tuning") or {})
    trainer = dict(raw.get("trainer") or {})
    logger = str(trainer.get("logger", False)).lower()
    devices = str(trainer.get("devices", "cpu"))
    if logger not in LOGGERS or devices not in DEVICES:
        raise ExperimentConfigError(f"trainer.logger must be one of {LOGGERS} and trainer.devices one of "
                                    f"{DEVICES}, got {logger!r}, {devices!r}")
    models = [_model(entry, index, source) for index, entry in enumerate(raw.get("models") or [])]
    keys = [model.key for model in models]
    if not models or len(set(keys)) != len(keys):
        raise ExperimentConfigError(f"models must be a non-empty list with distinct names, got {keys}")
    trainer_configs = tuple(resolve_path(path, source) for path in trainer.get("configs") or [])
    for path in trainer_configs:
        if not path.exists():
            raise ExperimentConfigError(f"trainer.configs: no such file {str(path)!r}")
    return ExperimentConfig(
        name=name,
        output=Path(raw.get("output") or Path("runs") / name),
        seed=int(raw.get("seed", 0)),
        datasets=_datasets(raw.get("datasets", raw.get("dataset", "dk82"))),
        splits=splits,
        rounds=_int_list(raw.get("rounds", 1), "rounds", count_means_range=True),
        num_folds=num_folds,
        folds=folds,
        val_fraction=float(raw.get("val_fraction", 0.125)),
        nulls_enabled=bool(nulls.get("enabled", True)),
        null_spins=int(nulls.get("n", 1000)),
        null_top=int(nulls.get("top", 10)),
        null_seed=int(nulls.get("seed", 0)),
        tuning_enabled=bool(tuning.get("enabled", False)),
        tuning_samples=int(tuning.get("samples", 3)),
        trainer_configs=trainer_configs,
        devices=devices,
        logger=logger,
        keep_checkpoints=bool(trainer.get("keep_checkpoints", False)),
        settings=read_settings(raw, "the experiment"),
        workers=int(raw.get("workers", 1)),
        models=tuple(models),
        source=source,
        raw=raw,
    )


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate an experiment YAML file.

    Args:
        path: The file.

    Returns:
        The configuration.
    """
    source = Path(path)
    with source.open() as handle:
        raw = yaml.safe_load(handle) or {}
    if not isinstance(raw, dict):
        raise ExperimentConfigError(f"{source}: the top level must be a mapping")
    return parse_config(raw, source)
