"""The ``ge2conn`` console script.

``ge2conn fit|validate|test|predict`` is a LightningCLI in subclass mode (``--model SMTTask``, or the family
short name ``--model SMT``); ``ge2conn data|nulls|experiment|explain`` are plain command groups.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

from lightning.pytorch.callbacks import EarlyStopping
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

import ge2conn.models  # noqa: F401  (registers every task so short class names resolve)
from ge2conn import __version__
from ge2conn.callbacks import ConnectomeFigures, ConnectomeWriter, RestoreBestWeights, StableCheckpoint
from ge2conn.data.datamodule import EdgePairDataModule
from ge2conn.models import MODEL_ALIASES
from ge2conn.models.base import EdgeRegressionTask

VERBS: dict[str, str] = {
    "data": "ge2conn.data.cli",
    "nulls": "ge2conn.nulls.cli",
    "experiment": "ge2conn.experiments.cli",
    "explain": "ge2conn.explain",
}
DESCRIPTION = f"""ge2conn {__version__}: predict functional connectivity from gene expression and coordinates.

Training commands (LightningCLI): fit, validate, test, predict — e.g.
  ge2conn fit --config configs/smt_cls.yaml --config configs/trainer/cpu.yaml
Other commands (each has --help):
  ge2conn data list|build|info|import     datasets
  ge2conn nulls generate|plot             spatiomolecular null brains
  ge2conn experiment run|report           cross-validated true-vs-null tables
  ge2conn explain CKPT                    embeddings and attention maps
"""


class Ge2connCLI(LightningCLI):
    """LightningCLI with ge2conn's defaults, links and configurable callbacks."""

    def __init__(self, args: list[str] | None = None, run: bool = True) -> None:
        super().__init__(
            model_class=EdgeRegressionTask,
            datamodule_class=EdgePairDataModule,
            subclass_mode_model=True,
            seed_everything_default=0,
            save_config_kwargs={"overwrite": True},
            auto_configure_optimizers=False,
            parser_kwargs={"description": DESCRIPTION},
            args=args,
            run=run,
        )

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        """Link dataset facts to the model and add the default, configurable callbacks."""
        for name in ("num_genes", "num_regions", "coordinate_mean", "coordinate_std"):
            parser.link_arguments(f"data.{name}", f"model.init_args.{name}", apply_on="instantiate")
        parser.add_lightning_class_args(StableCheckpoint, "checkpoint")
        parser.set_defaults(
            {
                "checkpoint.monitor": "val/loss",
                "checkpoint.mode": "min",
                "checkpoint.save_last": True,
                "checkpoint.save_top_k": 1,
                "checkpoint.filename": "best-{epoch:03d}",
            }
        )
        parser.add_lightning_class_args(EarlyStopping, "early_stopping")
        parser.set_defaults(
            {
                "early_stopping.monitor": "val/loss",
                "early_stopping.mode": "min",
                "early_stopping.patience": 20,
            }
        )
        parser.add_lightning_class_args(RestoreBestWeights, "best_weights")
        parser.add_lightning_class_args(ConnectomeFigures, "figures")
        parser.add_lightning_class_args(ConnectomeWriter, "prediction")


def _expand_model_alias(args: list[str]) -> list[str]:
    """Let ``--model SMT`` (a family short name) stand for ``--model SMTTask``."""
    expanded = list(args)
    for index, value in enumerate(expanded):
        if value == "--model" and index + 1 < len(expanded) and expanded[index + 1] in MODEL_ALIASES:
            expanded[index + 1] = MODEL_ALIASES[expanded[index + 1]]
        elif value.startswith("--model=") and value.split("=", 1)[1] in MODEL_ALIASES:
            expanded[index] = "--model=" + MODEL_ALIASES[value.split("=", 1)[1]]
    return expanded


def main(args: list[str] | None = None) -> int:
    """Run the ``ge2conn`` command.

    Args:
        args: Command-line arguments (``sys.argv[1:]`` when None).

    Returns:
        The exit status.
    """
    argv = list(sys.argv[1:] if args is None else args)
    if argv[:1] == ["--version"]:
        print(f"ge2conn {__version__}")
        return 0
    if argv and argv[0] in VERBS:
        module = importlib.import_module(VERBS[argv[0]])
        verb_main: Callable[[list[str]], int] = module.main
        return int(verb_main(argv[1:]) or 0)
    expanded = _expand_model_alias(argv)
    # Hand LightningCLI sys.argv itself when nothing was rewritten (it warns when given both).
    Ge2connCLI(args=expanded if args is not None or expanded != argv else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
