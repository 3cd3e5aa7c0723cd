"""``ge2conn nulls``: generate spatiomolecular nulls for a dataset and plot their CGE-vs-distance curves.

Examples::

    ge2conn nulls generate dk82 --n 10000 --top 10 --seed 0
    ge2conn nulls plot dk82 --output dk82_nulls.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.text import Text

from ge2conn.data.catalog import resolve_dataset
from ge2conn.data.errors import DatasetError
from ge2conn.nulls.io import ensure_nulls, load_nulls, null_path_for
from ge2conn.nulls.plot import plot_null_curves
from ge2conn.utils.atomic import OutputError


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``ge2conn nulls``."""
    parser = argparse.ArgumentParser(prog="ge2conn nulls", description="Spatiomolecular (CGE-matched) spin "
                                     "nulls, method §5.")
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="draw, score and rank spins; write <dataset>.nulls.h5")
    generate.add_argument("dataset", help="dataset name (e.g. dk82) or path to its .h5 file")
    generate.add_argument("--n", type=int, default=10_000, help="number of spins (default 10000)")
    generate.add_argument("--top", type=int, default=10, help="lowest-error nulls kept (default 10)")
    generate.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    generate.add_argument("--output", type=Path, default=None,
                          help="nulls file (default: <dataset stem>.nulls.h5 next to the dataset)")
    generate.add_argument("--force", action="store_true", help="regenerate even if a matching file exists")
    plot = commands.add_parser("plot", help="PNG of the CGE-vs-distance curves of the true brain and nulls")
    plot.add_argument("source", help="nulls file, or dataset name/path whose default nulls file to plot")
    plot.add_argument("--output", type=Path, required=True, help="destination .png")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``ge2conn nulls``.

    Args:
        argv: Arguments after ``nulls`` (defaults to ``sys.argv[1:]``).

    Returns:
        Exit status: 0 on success, 2 on a bad dataset or argument.
    """
    args = build_parser().parse_args(argv)
    console = Console(stderr=True)
    try:
        if args.command == "generate":
            return _generate(args, console)
        return _plot(args, console)
    except (DatasetError, ValueError, OutputError) as error:
        # Text, not markup: messages quote values like ['L_ctx1'] that rich would read as style tags.
        console.print(Text.assemble(("error: ", "red"), str(error)), soft_wrap=True)
        return 2


def _generate(args: argparse.Namespace, console: Console) -> int:
    dataset_path = resolve_dataset(args.dataset)
    if args.n < 1:
        raise ValueError(f"--n must be at least 1, got {args.n}")
    columns = (TextColumn("spins"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("spins", total=args.n)
        path, reused = ensure_nulls(dataset_path, num_spins=args.n, top=args.top, seed=args.seed,
                                    output=args.output, force=args.force,
                                    progress=lambda count: progress.advance(task, count))
    console.print(Text(f"{'reused' if reused else 'wrote'} {path}"), soft_wrap=True)
    return 0


def _plot(args: argparse.Namespace, console: Console) -> int:
    source = Path(args.source).expanduser()
    if source.name.endswith(".nulls.h5"):
        nulls_path = source
    else:
        nulls_path = null_path_for(resolve_dataset(args.source))
    nulls = load_nulls(nulls_path)
    path = plot_null_curves(nulls, args.output, title=f"{nulls_path.name}: CGE vs distance")
    console.print(Text(f"wrote {path}"), soft_wrap=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
