"""``ge2conn data``: list, build, inspect and import datasets.

Examples::

    ge2conn data list
    ge2conn data build dk82 [--genes FILE] [--force] [--output PATH]
    ge2conn data info dk82 [--verify]  # or a path to any .h5 dataset; --verify checks every checksum
    ge2conn data import --name ukb --expression X.csv --fc Y.npy --coordinates C.csv [--regions R.csv] ...
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ge2conn.data.catalog import resolve_dataset
from ge2conn.data.checksums import (
    FIRST_CHECKSUMMED_VERSION,
    ChecksumReport,
    stored_format_version,
    verify_file,
)
from ge2conn.data.errors import DatasetError
from ge2conn.data.format import BrainDataset
from ge2conn.data.paths import datasets_dir
from ge2conn.data.recipes import (
    DEFAULT_DATASET,
    RECIPES,
    build_dataset,
    build_key,
    get_recipe,
    stored_build_key,
)
from ge2conn.data.recipes.assemble import matching_summary
from ge2conn.data.recipes.ecosystem_import import add_ecosystem_arguments, standard_import_arguments
from ge2conn.data.recipes.importer import import_dataset
from ge2conn.utils.atomic import OutputError


def make_parser() -> argparse.ArgumentParser:
    """The ``ge2conn data`` argument parser."""
    parser = argparse.ArgumentParser(prog="ge2conn data", description="Build, inspect and import datasets.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the built-in datasets and whether they are built")
    build = commands.add_parser("build", help="build a built-in dataset from pinned public data")
    build.add_argument(
        "name", nargs="?", default=DEFAULT_DATASET, help=f"dataset name (default {DEFAULT_DATASET})"
    )
    build.add_argument(
        "--genes", type=Path, help="restrict to the genes listed in FILE (one symbol per line)"
    )
    build.add_argument("--force", action="store_true", help="rebuild even if the file is up to date")
    build.add_argument("--output", type=Path, help="output .h5 (default: GE2CONN_HOME/datasets/NAME.h5)")
    info = commands.add_parser("info", help="show a dataset's shapes and provenance")
    info.add_argument("name_or_path", help="a dataset name or a path to a .h5 file")
    info.add_argument(
        "--verify", action="store_true", help="check every stored array against its content checksum"
    )
    imported = commands.add_parser("import", help="build a dataset from your own files")
    imported.add_argument("--name", required=True, help="dataset name (letters, digits, _ - . +)")
    imported.add_argument("--expression", type=Path, required=True, help="regions × genes CSV/TSV")
    imported.add_argument(
        "--fc",
        type=Path,
        help="population FC (.npy, or CSV/TSV headerless or with region labels); default with --individual: "
        "their mean",
    )
    imported.add_argument("--coordinates", type=Path, help="CSV label,x,y,z (region order)")
    imported.add_argument("--regions", type=Path, help="CSV label[,hemisphere,structure,network]")
    imported.add_argument("--sphere", type=Path, help="CSV label,x,y,z sphere coordinates (cortex)")
    imported.add_argument("--individual", type=Path, help="folder of individual FC matrices (.npy/.csv), a "
                          "nilearn stack (.npy n×r×r) or a folder of BIDS/XCP-D *_relmat.tsv")
    imported.add_argument("--genes", type=Path, help="restrict to the genes listed in FILE")
    imported.add_argument(
        "--label-column", default="label", help="region-label column of the expression file"
    )
    imported.add_argument(
        "--fc-transform",
        default="as provided",
        help="how the FC was transformed, e.g. 'fisher_z' or 'r' (checked against the values; provenance)",
    )
    imported.add_argument(
        "--drop-unplaced", action="store_true", help="drop genes without a genomic position"
    )
    imported.add_argument("--output", type=Path, help="output .h5 (default: GE2CONN_HOME/datasets/NAME.h5)")
    add_ecosystem_arguments(imported)  # abagen tables, parcellation images, nilearn / XCP-D connectomes
    return parser


def _list(console: Console) -> None:
    table = Table(title=f"Built-in datasets (built files in {datasets_dir()})")
    for column in ("name", "built", "description"):
        table.add_column(column)
    for name, recipe in RECIPES.items():
        path = datasets_dir() / f"{name}.h5"
        if not path.exists():
            state = "-"
        else:
            state = (
                "yes"
                if (stored_build_key(path) or {}).get("recipe_version") == recipe.version
                else "outdated"
            )
        table.add_row(name + (" (default)" if name == DEFAULT_DATASET else ""), state, recipe.description)
    console.print(table)


def _info(console: Console, name_or_path: str, verify: bool) -> None:
    path = resolve_dataset(name_or_path)
    report = verify_file(path) if verify else None
    dataset = BrainDataset.load(path, drop_empty_regions=False)
    empty = int(np.isnan(dataset.expression).all(axis=1).sum())
    table = Table(title=f"{dataset.name}  ({path})", show_header=False)
    table.add_row("regions", f"{dataset.num_regions} ({empty} without expression samples, dropped on load)")
    for field in ("structure", "hemisphere", "network"):
        names, counts = np.unique(getattr(dataset, field), return_counts=True)
        table.add_row(field, ", ".join(f"{name} {count}" for name, count in zip(names, counts, strict=True)))
    table.add_row("genes", str(dataset.num_genes))
    table.add_row(
        "population FC",
        f"{dataset.connectivity.shape}, range [{np.nanmin(dataset.connectivity):.3f}, "
        f"{np.nanmax(dataset.connectivity):.3f}]",
    )
    table.add_row("individual FC", "none" if dataset.individual is None else str(dataset.individual.shape))
    provenance = dict(dataset.provenance)
    matching = provenance.pop("gene_matching", {})
    if matching:
        table.add_row(
            "gene matching",
            ", ".join(f"{key} {value}" for key, value in matching.items() if isinstance(value, int)),
        )
    for key, value in provenance.items():
        table.add_row(key, value if isinstance(value, str) else json.dumps(value)[:400])
    table.add_row("checksums", _checksum_status(report, stored_format_version(path)))
    console.print(table)


def _checksum_status(report: ChecksumReport | None, version: int) -> str:
    if version < FIRST_CHECKSUMMED_VERSION:
        return (
            f"none: format version {version} predates content checksums; rebuild the dataset "
            "(`ge2conn data build NAME --force` or `ge2conn data import ...`) to add them"
        )
    if report is None:
        return "stored for every array, verified when read (`--verify` checks every array now)"
    return f"verified: all {len(report.verified)} arrays match their sha256"


def _report_build(console: Console, path: Path, seconds: float, rebuilt: bool) -> None:
    dataset = BrainDataset.load(path, individual=False, drop_empty_regions=False)
    counts = dataset.provenance.get("gene_matching", {})
    verb = "built" if rebuilt else "up to date"
    transform = escape(str(dataset.provenance.get("fc_transform")))
    console.print(
        f"[green]{verb}[/green] {escape(str(path))}: {dataset.num_regions} regions × {dataset.num_genes} "
        f"genes, FC {dataset.connectivity.shape}, fc_transform '{transform}' ({seconds:.1f} s)"
    )
    if dataset.provenance.get("recipe") == "import":
        for note in dataset.provenance.get("notes", []):
            console.print(f"note: {note}", markup=False, highlight=False)
    if counts:
        console.print(f"genes: {matching_summary(counts)}", markup=False)
        if "gene_list" in counts:
            listed = counts["gene_list"]
            console.print(f"gene list {listed['file']}: {listed['kept']} of {listed['listed']} genes kept")


def main(argv: list[str] | None = None) -> int:
    """Run ``ge2conn data`` with the given arguments.

    Args:
        argv: Arguments after ``data`` (default: ``sys.argv[1:]``).

    Returns:
        The exit status (0 on success, 1 on a dataset error).
    """
    arguments = make_parser().parse_args(argv)
    console = Console(soft_wrap=True)  # long paths and messages stay on one line (greppable logs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        try:
            _run(console, arguments)
            status = 0
        except (DatasetError, OutputError) as error:
            console.print(Text.assemble(("error: ", "red"), str(error)), highlight=False)
            status = 1
    for warning in caught:
        if issubclass(warning.category, UserWarning):
            console.print(Text.assemble(("warning: ", "yellow"), str(warning.message)), highlight=False)
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return status


def _run(console: Console, arguments: argparse.Namespace) -> None:
    started = time.perf_counter()
    if arguments.command == "list":
        _list(console)
    elif arguments.command == "info":
        _info(console, arguments.name_or_path, arguments.verify)
    elif arguments.command == "build":
        recipe = get_recipe(arguments.name)
        destination = arguments.output or datasets_dir() / f"{recipe.name}.h5"
        rebuilt = (
            arguments.force
            or not destination.exists()
            or stored_build_key(destination) != build_key(recipe, arguments.genes)
        )
        with console.status(f"building {recipe.name}") as status:
            path = build_dataset(
                recipe.name,
                arguments.output,
                arguments.genes,
                arguments.force,
                log=lambda message: status.update(f"{recipe.name}: {message}"),
            )
        _report_build(console, path, time.perf_counter() - started, rebuilt)
    else:
        arguments = standard_import_arguments(arguments)
        with console.status(f"importing {arguments.name}") as status:
            path = import_dataset(
                arguments.name,
                arguments.expression,
                arguments.fc,
                arguments.coordinates,
                regions=arguments.regions,
                sphere=arguments.sphere,
                individual=arguments.individual,
                gene_list=arguments.genes,
                output=arguments.output,
                label_column=arguments.label_column,
                fc_transform=arguments.fc_transform,
                keep_unplaced=not arguments.drop_unplaced,
                log=lambda message: status.update(f"{arguments.name}: {message}"),
            )
        _report_build(console, path, time.perf_counter() - started, True)


if __name__ == "__main__":
    raise SystemExit(main())
