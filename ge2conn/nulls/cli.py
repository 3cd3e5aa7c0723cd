"""``ge2conn nulls``: generate spatiomolecular nulls for a dataset and plot their CGE-vs-distance curves.

Examples::

    ge2conn nulls generate dk82 --n 10000 --top 10 --seed 0
    ge2conn nulls plot dk82 --output dk82_nulls.png
    ge2conn nulls export dk82 --output dk82_spins.npy          # regions × kept nulls, neuromaps' layout
    ge2conn nulls generate --expression expr.csv --coordinates xyz.csv --output map.nulls.h5   # no dataset/FC
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
from ge2conn.nulls.export import export_nulls
from ge2conn.nulls.io import ensure_nulls, load_nulls, null_path_for
from ge2conn.nulls.plot import plot_null_curves
from ge2conn.nulls.standalone import add_table_arguments, generate_standalone
from ge2conn.utils.atomic import OutputError


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``ge2conn nulls``."""
    parser = argparse.ArgumentParser(prog="ge2conn nulls", description="Spatiomolecular (CGE-matched) spin "
                                     "nulls, method §5.")
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="draw, score and rank spins; write <dataset>.nulls.h5")
    generate.add_argument("dataset", nargs="?", help="dataset name (e.g. dk82) or path to its .h5 file; "
                          "omit it and give --expression ... for a brain map without a dataset")
    generate.add_argument("--n", type=int, default=10_000, help="number of spins (default 10000)")
    generate.add_argument("--top", type=int, default=10, help="lowest-error nulls kept (default 10)")
    generate.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    generate.add_argument("--output", type=Path, default=None,
                          help="nulls file (default: <dataset stem>.nulls.h5 next to the dataset)")
    generate.add_argument("--force", action="store_true", help="regenerate even if a matching file exists")
    add_table_arguments(generate)
    plot = commands.add_parser("plot", help="PNG of the CGE-vs-distance curves of the true brain and nulls")
    plot.add_argument("source", help="nulls file, or dataset name/path whose default nulls file to plot")
    plot.add_argument("--output", type=Path, required=True, help="destination .png")
    export = commands.add_parser("export", help="kept nulls as a regions × permutations array (neuromaps)")
    export.add_argument("source", help="nulls file, or dataset name/path whose default nulls file to export")
    export.add_argument("--output", type=Path, required=True, help="destination .npy, .csv or .tsv")
    export.add_argument("--all", action="store_true", help="every spin in drawing order, not the kept ones")
    export.add_argument("--map", type=Path, help="CSV label,value: write this map's null maps, not indices")
    export.add_argument("--map-column", help="value column of --map (default: the first after label)")
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
        if args.command == "export":
            return _export(args, console)
        return _plot(args, console)
    except (DatasetError, ValueError, OutputError) as error:
        # Text, not markup: messages quote values like ['L_ctx1'] that rich would read as style tags.
        console.print(Text.assemble(("error: ", "red"), str(error)), soft_wrap=True)
        return 2


def _generate(args: argparse.Namespace, console: Console) -> int:
    if args.n < 1:
        raise ValueError(f"--n must be at least 1, got {args.n}")
    if args.dataset is None:
        return generate_standalone(args, console)
    dataset_path = resolve_dataset(args.dataset)
    columns = (TextColumn("spins"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("spins", total=args.n)
        path, reused = ensure_nulls(dataset_path, num_spins=args.n, top=args.top, seed=args.seed,
                                    output=args.output, force=args.force,
                                    progress=lambda count: progress.advance(task, count))
    console.print(Text(f"{'reused' if reused else 'wrote'} {path}"), soft_wrap=True)
    return 0


def _nulls_path(source_argument: str) -> Path:
    source = Path(source_argument).expanduser()
    return source if source.name.endswith(".nulls.h5") else null_path_for(resolve_dataset(source_argument))


def _export(args: argparse.Namespace, console: Console) -> int:
    path = export_nulls(load_nulls(_nulls_path(args.source)), args.output, every_spin=args.all,
                        brain_map=args.map, map_column=args.map_column)
    console.print(Text(f"wrote {path}"), soft_wrap=True)
    return 0


def _plot(args: argparse.Namespace, console: Console) -> int:
    nulls_path = _nulls_path(args.source)
    nulls = load_nulls(nulls_path)
    dataset = nulls_path.name.removesuffix(".nulls.h5")
    title = f"{dataset}: CGE vs distance, true brain and {nulls.error.size:,} spins (seed {nulls.seed})"
    path = plot_null_curves(nulls, args.output, title=title)
    console.print(Text(f"wrote {path}"), soft_wrap=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
