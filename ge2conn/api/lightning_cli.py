"""The LightningCLI subclass behind ``ge2conn fit|validate|test|predict`` and :func:`ge2conn.api.build`.

Both read the same YAML files with the same links and callback defaults, so a run configured from Python
and one typed on the command line are the same run.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lightning.pytorch import Trainer
from lightning.pytorch.callbacks import EarlyStopping
from lightning.pytorch.cli import ArgsType, LightningArgumentParser, LightningCLI
from rich.console import Console

import ge2conn.models  # noqa: F401  (registers every task so short class names resolve)
from ge2conn.callbacks import ConnectomeFigures, ConnectomeWriter, RestoreBestWeights, StableCheckpoint
from ge2conn.callbacks.checkpoint import resolve_last_checkpoint
from ge2conn.callbacks.console import quiet_console
from ge2conn.callbacks.run_state import RunState
from ge2conn.data.datamodule import EdgePairDataModule
from ge2conn.metrics.stratified import StratifiedPearson
from ge2conn.metrics.table import print_metric_table
from ge2conn.models import MODEL_ALIASES
from ge2conn.models.base import LINKED_DATA_FIELDS, EdgeRegressionTask
from ge2conn.utils.checkpoints import check_ckpt_argument
from ge2conn.utils.cli_errors import FriendlyArgumentParser

CHECKPOINT_DEFAULTS: dict[str, Any] = {
    "monitor": EdgeRegressionTask.monitor,
    "mode": EdgeRegressionTask.mode,
    "save_last": True,
    "save_top_k": 1,
    "filename": "best-{epoch:03d}",
}
"""Defaults of the ``checkpoint`` callback (best-on-validation and last)."""
EARLY_STOPPING_DEFAULTS: dict[str, Any] = {
    "monitor": EdgeRegressionTask.monitor,
    "mode": EdgeRegressionTask.mode,
    "patience": 20,
}
"""Defaults of the ``early_stopping`` callback."""


@dataclass(frozen=True)
class ConfigRequest:
    """A configuration given as objects: YAML files (or mappings) applied in order, then settings.

    Attributes:
        configs: YAML files or mappings, later ones overriding earlier ones (as repeated ``--config``).
        settings: Nested mapping of values applied last (``{"data": {"fold": 2}}``).
    """

    configs: tuple[str | Path | Mapping[str, Any], ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)


class Ge2connCLI(LightningCLI):
    """LightningCLI with ge2conn's defaults, links and configurable callbacks.

    Args:
        args: Command-line arguments, or a :class:`ConfigRequest` (what :func:`ge2conn.api.build` passes).
        run: Run the subcommand (True for the console script) or only instantiate the objects.
        description: Text shown by ``--help``.
    """

    def __init__(self, args: Sequence[str] | ConfigRequest | None = None, run: bool = True,
                 description: str | None = None) -> None:
        parser_kwargs: dict[str, Any] = {"description": description} if description else {}
        self._print_metrics = True
        super().__init__(
            model_class=EdgeRegressionTask,
            datamodule_class=EdgePairDataModule,
            subclass_mode_model=True,
            seed_everything_default=0,
            save_config_kwargs={"overwrite": True},
            auto_configure_optimizers=False,
            parser_kwargs=parser_kwargs,
            parser_class=FriendlyArgumentParser,
            # A ConfigRequest is not one of LightningCLI's argument types: parse_arguments handles it.
            args=args,  # type: ignore[arg-type]
            run=run,
        )

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        """Link dataset facts to the model and add the default, configurable callbacks."""
        for name in LINKED_DATA_FIELDS:
            parser.link_arguments(f"data.{name}", f"model.init_args.{name}", apply_on="instantiate")
        parser.add_lightning_class_args(StableCheckpoint, "checkpoint")
        parser.set_defaults({f"checkpoint.{key}": value for key, value in CHECKPOINT_DEFAULTS.items()})
        parser.add_lightning_class_args(EarlyStopping, "early_stopping")
        parser.set_defaults({f"early_stopping.{key}": value
                             for key, value in EARLY_STOPPING_DEFAULTS.items()})
        parser.add_lightning_class_args(RestoreBestWeights, "best_weights")
        parser.add_lightning_class_args(RunState, "run_state")
        parser.add_lightning_class_args(ConnectomeFigures, "figures")
        parser.add_lightning_class_args(ConnectomeWriter, "prediction")

    def before_instantiate_classes(self) -> None:
        """Default the run folder, then put checkpoints in ``<default_root_dir>/checkpoints``.

        ``trainer.default_root_dir`` defaults to ``runs/<Model>_<dataset>`` under the working directory:
        Lightning's default, the working directory itself, would drop ``checkpoints/`` and
        ``lightning_logs/`` into a source checkout (whose ``checkpoints/`` holds only shipped checkpoints);
        ``runs/`` is git-ignored. The checkpoint folder is fixed before the trainer exists, so
        ``--ckpt_path last`` finds the previous run's ``last.ckpt`` there (the logger's ``version_N`` folder
        changes on every run).
        """
        config = self.config[self.subcommand] if self.subcommand else self.config
        trainer = config.get("trainer")
        if trainer is not None and trainer.get("default_root_dir") is None:
            model = str(getattr(config.model, "class_path", config.model) or "model").rsplit(".", 1)[-1]
            dataset = Path(str(config.data.get("dataset") or "data")).stem
            trainer.default_root_dir = str(Path("runs") / f"{model.removesuffix('Task')}_{dataset}")
        checkpoint = config.get("checkpoint")
        if checkpoint is not None and checkpoint.get("dirpath") is None:
            root = config.get("trainer.default_root_dir") or os.getcwd()
            checkpoint["dirpath"] = os.path.join(str(root), "checkpoints")

    def before_fit(self) -> None:
        """Resolve ``--ckpt_path last`` in the run's checkpoint folder before Lightning sees it.

        ``last.ckpt`` if it is there, else the newest complete checkpoint (a crash before the first
        ``last.ckpt``), else nothing: the fit starts from scratch with a one-line note instead of Lightning's
        misleading "set save_last=True" hint.
        """
        arguments = self.config_init.get("fit") if self.subcommand == "fit" else None
        if arguments is None or arguments.get("ckpt_path") != "last":
            return
        callback = self.trainer.checkpoint_callback
        folder = callback.dirpath if isinstance(callback, StableCheckpoint) else None
        resolved = resolve_last_checkpoint(folder)
        if resolved is None:
            print(f"ge2conn fit: --ckpt_path last: no checkpoint in {folder}; starting from scratch.",
                  file=sys.stderr)
        arguments["ckpt_path"] = resolved

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        """The trainer, with the quiet progress bar and model summary unless disabled or given."""
        config = self.config_init[self.subcommand] if self.subcommand else self.config_init
        arguments = quiet_console({**dict(config.get("trainer") or {}), **kwargs})
        kwargs.update(callbacks=arguments["callbacks"],
                      enable_model_summary=arguments.get("enable_model_summary"))
        return super().instantiate_trainer(**kwargs)

    def before_validate(self) -> None:
        """Print ge2conn's metric table instead of Lightning's (see :meth:`before_test`)."""
        self._take_over_results_table("validate")

    def before_test(self) -> None:
        """Print ge2conn's grouped metric table instead of Lightning's (``--verbose false``: neither)."""
        self._take_over_results_table("test")

    def after_validate(self) -> None:
        """Print the validation metrics, grouped, with 4 significant digits."""
        self._print_metric_table("val")

    def after_test(self) -> None:
        """Print the test metrics, grouped, with 4 significant digits."""
        self._print_metric_table("test")

    def _take_over_results_table(self, subcommand: str) -> None:
        arguments = self.config_init.get(subcommand)
        self._print_metrics = bool(arguments.get("verbose", True)) if arguments is not None else True
        if arguments is not None:
            arguments["verbose"] = False

    def _print_metric_table(self, stage: str) -> None:
        if not self._print_metrics or not self.trainer.is_global_zero:
            return
        metrics = {name: float(value) for name, value in self.trainer.callback_metrics.items()}
        strata = [module for module in self.model.modules() if isinstance(module, StratifiedPearson)]
        min_edges = strata[0].min_edges if strata else None
        model = type(self.model).__name__.removesuffix("Task")
        data = dict(getattr(self.datamodule, "hparams", {}))
        dataset = Path(str(data.get("dataset") or "data")).stem
        split = f"{data.get('split', '')} split round {data.get('split_round', 0)} fold {data.get('fold', 0)}"
        if data.get("null_rank") is not None:
            split += f", null brain rank {data['null_rank']}"
        title = f"{model} on {dataset}, {split}: {stage} edges"
        print_metric_table(Console(), metrics, stage, title=title, min_edges=min_edges)

    def parse_arguments(self, parser: LightningArgumentParser, args: ArgsType) -> None:
        """Parse command-line arguments, or config files then settings given as objects."""
        if not isinstance(args, ConfigRequest):
            self.config = parser.parse_args(expand_model_alias(list(args or [])))
            # Check --ckpt_path (readable, the configured task class) before Lightning reads it.
            subcommand = self.config.get("subcommand")
            if subcommand:
                chosen = self.config[subcommand]
                check_ckpt_argument(chosen.get("ckpt_path"), getattr(chosen.get("model"), "class_path", None))
            return
        arguments: list[str] = []
        mappings: list[Mapping[str, Any]] = []
        for config in args.configs:
            if isinstance(config, Mapping):
                mappings.append(config)
            else:
                arguments += ["--config", str(config)]
        config_namespace = parser.parse_args(arguments)
        for mapping in [*mappings, args.settings]:
            if mapping:
                config_namespace = parser.parse_object(dict(mapping), namespace=config_namespace)
        self.config = config_namespace


def expand_model_alias(args: list[str]) -> list[str]:
    """Let ``--model SMT`` (a family short name) stand for ``--model SMTTask``.

    Args:
        args: Command-line arguments.

    Returns:
        The arguments with family short names replaced by task class names.
    """
    expanded = list(args)
    for index, value in enumerate(expanded):
        if value == "--model" and index + 1 < len(expanded) and expanded[index + 1] in MODEL_ALIASES:
            expanded[index + 1] = MODEL_ALIASES[expanded[index + 1]]
        elif value.startswith("--model=") and value.split("=", 1)[1] in MODEL_ALIASES:
            expanded[index] = "--model=" + MODEL_ALIASES[value.split("=", 1)[1]]
    return expanded
