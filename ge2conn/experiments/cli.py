"""``ge2conn experiment``: run cross-validated true-vs-null experiments and report them.

Examples::

    ge2conn experiment run configs/experiments/table1_quick.yaml
    ge2conn experiment run configs/experiments/table1.yaml --shard $SLURM_ARRAY_TASK_ID/$N
    ge2conn experiment report runs/table1_quick
    ge2conn experiment transfer ...    (the transfer analysis, ge2conn.experiments.transfer)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml
from rich.console import Console
from rich.text import Text

from ge2conn.data.errors import DatasetError
from ge2conn.experiments.config import ExperimentConfigError, load_config, parse_config
from ge2conn.experiments.grid import parse_shard


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``ge2conn experiment`` (``transfer`` is dispatched before parsing)."""
    parser = argparse.ArgumentParser(prog="ge2conn experiment", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run (or resume) every pending run of an experiment config")
    run.add_argument("config", type=Path, help="experiment YAML (e.g. configs/experiments/table1_quick.yaml)")
    run.add_argument("--shard", default="0/1", help="run only slice I of N of the run grid (0 <= I < N), "
                     "e.g. $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT; default 0/1 (everything)")
    run.add_argument("--workers", type=int, default=None,
                     help="parallel worker processes (default: the config's 'workers'; GPU: one per device)")
    run.add_argument("--output", type=Path, default=None, help="run folder (default: the config's output, "
                     "runs/<name>)")
    run.add_argument("--dry-run", action="store_true",
                     help="list the shard's runs and their status, run none")
    run.add_argument("--prepare", action="store_true",
                     help="only generate the nulls file(s) and the experiment record (a cluster's first job)")
    report = commands.add_parser("report", help="tables, significance tests and figures of a run folder")
    report.add_argument("runs", type=Path, nargs="+", help="run folder(s), e.g. runs/table1_quick; several "
                        "are merged (shards written to separate folders)")
    report.add_argument("--output", type=Path, default=None, help="where to write (default: the run folder)")
    report.add_argument("--no-figures", action="store_true", help="skip the figures")
    commands.add_parser("transfer", help="the transfer analysis (see `ge2conn experiment transfer --help`)",
                        add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``ge2conn experiment``.

    Args:
        argv: Arguments after ``experiment`` (defaults to ``sys.argv[1:]``).

    Returns:
        Exit status: 0 on success, 1 when some runs failed, 2 on a bad config or argument.
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["transfer"]:
        # Imported when used: the transfer analysis is a separate module with its own arguments.
        from ge2conn.experiments.transfer import main as transfer_main

        return int(transfer_main(arguments[1:]) or 0)
    args = build_parser().parse_args(arguments)
    console = Console(stderr=True)
    try:
        if args.command == "run":
            return _run(args, console)
        return _report(args, console)
    except (ExperimentConfigError, DatasetError, ValueError, FileNotFoundError, yaml.YAMLError) as error:
        # Text, not markup: messages quote values like ['cortex'] that rich would read as style tags.
        console.print(Text.assemble(("error: ", "red"), str(error)), soft_wrap=True)
        return 2


def _run(args: argparse.Namespace, console: Console) -> int:
    from ge2conn.experiments.runner import describe, run_experiment

    shard_index, shard_count = parse_shard(args.shard)
    config = load_config(args.config)
    if args.output is not None:
        config = parse_config({**config.raw, "output": str(args.output)}, config.source)
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {args.workers}")
    if args.dry_run:
        for line in describe(config, shard_index, shard_count):
            print(line)
        return 0
    summary = run_experiment(config, shard_index, shard_count, workers=args.workers, console=console,
                             prepare_only=args.prepare)
    if args.prepare:
        console.print(Text(f"prepared {config.output} ({summary.total} runs in this shard)"), soft_wrap=True)
        return 0
    console.print(Text(f"{summary.finished} finished, {summary.skipped} skipped (finished before), "
                       f"{len(summary.failed)} failed, {len(summary.busy)} left to another runner (locked) "
                       f"of {summary.total} runs"), soft_wrap=True)
    for folder, error in summary.failed:
        console.print(Text(f"  failed {folder}: {error} (see error.json)", style="red"), soft_wrap=True)
    return 1 if summary.failed else 0


def _report(args: argparse.Namespace, console: Console) -> int:
    from ge2conn.experiments.report import write_report
    from ge2conn.experiments.report_power import write_power_report

    for folder in args.runs:
        if not folder.is_dir():
            raise FileNotFoundError(f"no run folder {folder}")
    written = write_report(args.runs, args.output, figures=not args.no_figures)
    written += write_power_report(args.runs, args.output)
    for path in written:
        console.print(Text(f"wrote {path}"), soft_wrap=True)
    return 0
