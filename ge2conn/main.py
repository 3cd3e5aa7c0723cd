"""The ``ge2conn`` console script.

``ge2conn fit|validate|test|predict`` is a LightningCLI in subclass mode (``--model SMTTask``, or the family
short name ``--model SMT``); ``ge2conn data|nulls|experiment|explain|demo`` are plain command groups. Each
verb's module is imported only when that verb runs, so ``ge2conn --version`` and ``ge2conn --help`` start
without torch or Lightning.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from ge2conn.utils import warnings_policy
from ge2conn.utils.errors import USER_ERRORS, format_user_error, pop_traceback_flag
from ge2conn.utils.version import __version__

TRAINING_VERBS: dict[str, str] = {
    "fit": "train a model (best-on-validation checkpoint, early stopping)",
    "validate": "evaluate a model on the validation edges of a split",
    "test": "evaluate a model on the test edges of a split",
    "predict": "predict the full connectome of a dataset (writes .npy / .h5 with --prediction.output); with "
    "--expression: of any parcellation, from expression and coordinates only (no FC)",
}
"""The LightningCLI verbs and their purposes."""
COMMAND_VERBS: dict[str, str] = {
    "data": "list, build, inspect and import datasets",
    "nulls": "generate and plot spatiomolecular null brains",
    "experiment": "cross-validated true-vs-null experiments, their reports and the transfer analysis",
    "explain": "region embeddings, silhouettes and attention maps of a checkpoint",
    "demo": "train and test a small SMT+[CLS] on dk82 on the CPU (about 30 s on 2 cores)",
    "models": "list the shipped pretrained models (ge2conn models list)",
}
"""The other verbs and their purposes."""


def help_text() -> str:
    """``ge2conn --help``: every verb on its own line with its purpose."""
    width = max(len(verb) for verb in [*TRAINING_VERBS, *COMMAND_VERBS])
    example = "ge2conn fit --config configs/smt_cls.yaml --config configs/trainer/cpu.yaml"
    lines = [
        f"ge2conn {__version__}: predict functional connectivity from gene expression and coordinates.",
        "",
        "usage: ge2conn VERB [options]        (ge2conn VERB --help for the verb's options)",
        "",
        f"training (LightningCLI), e.g. {example}",
        *[f"  {verb:<{width}}  {purpose}" for verb, purpose in TRAINING_VERBS.items()],
        "",
        "commands:",
        *[f"  {verb:<{width}}  {purpose}" for verb, purpose in COMMAND_VERBS.items()],
        "",
        "options:",
        f"  {'--version':<{width}}  print the version and exit",
        f"  {'--help':<{width}}  print this help and exit",
    ]
    return "\n".join(lines)


def command(verb: str) -> Callable[[list[str] | None], int]:
    """The ``main`` function of a command verb, importing only that verb's module.

    Args:
        verb: One of :data:`COMMAND_VERBS`.

    Returns:
        The verb's ``main(argv)``.
    """
    if verb == "data":
        from ge2conn.data.cli import main as data_main

        return data_main
    if verb == "nulls":
        from ge2conn.nulls.cli import main as nulls_main

        return nulls_main
    if verb == "experiment":
        from ge2conn.experiments.cli import main as experiment_main

        return experiment_main
    if verb == "explain":
        from ge2conn.interpret.cli import main as explain_main

        return explain_main
    if verb == "demo":
        from ge2conn.experiments.demo import main as demo_main

        return demo_main
    if verb == "models":
        from ge2conn.inference.cli import main as models_main

        return models_main
    raise ValueError(f"unknown verb {verb!r}; use one of {sorted(COMMAND_VERBS)}")


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
    if not argv or argv[:1] in (["-h"], ["--help"]):
        print(help_text())
        return 0
    warnings_policy.install()
    if argv[0] in COMMAND_VERBS:
        return int(command(argv[0])(argv[1:]) or 0)
    if argv[0] == "predict" and any(value.split("=", 1)[0] == "--expression" for value in argv):
        from ge2conn.inference.cli import predict_main

        return predict_main(argv[1:])
    from ge2conn.api.lightning_cli import Ge2connCLI

    argv, show_traceback = pop_traceback_flag(argv)
    try:
        Ge2connCLI(args=argv, description=help_text())
    except USER_ERRORS as error:  # a user's mistake: one block (input, field, fix), no traceback
        if show_traceback:
            raise
        print(format_user_error(error), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
