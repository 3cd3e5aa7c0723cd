"""``ge2conn predict --expression ...`` (prediction without FC) and ``ge2conn models list``.

``ge2conn predict`` with ``--expression`` predicts a whole connectome from expression and coordinates alone;
without it, ``predict`` is the LightningCLI command on a dataset (see ``ge2conn predict --help``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ge2conn.data.errors import DatasetError
from ge2conn.inference.checkpoint import CheckpointError
from ge2conn.inference.genes import DEFAULT_MAX_MISSING_FRACTION
from ge2conn.inference.inputs import dataset_tables, read_coordinates_file, read_expression_file
from ge2conn.inference.model import load_model
from ge2conn.inference.outputs import OUTPUT_SUFFIXES, write_prediction
from ge2conn.inference.registry import checkpoint_folders, list_models

TABLE_SUFFIXES = {".csv", ".tsv", ".tab", ".txt"}


def build_predict_parser() -> argparse.ArgumentParser:
    """The argument parser of ``ge2conn predict --expression ...``."""
    parser = argparse.ArgumentParser(
        prog="ge2conn predict",
        description="Predict the functional connectome of any parcellation from regional expression and MNI "
        "coordinates (no FC needed).",
    )
    parser.add_argument(
        "--ckpt_path", required=True, help="checkpoint file or shipped model name (`ge2conn models list`)"
    )
    parser.add_argument(
        "--expression",
        required=True,
        help="regions × genes CSV/TSV (label column, one column "
        "per gene symbol), or a dataset name / .h5 file (its coordinates are then used)",
    )
    parser.add_argument(
        "--coordinates",
        help="CSV/TSV with columns label, x, y, z (MNI mm); sets the region "
        "order (required with a CSV expression table)",
    )
    parser.add_argument("--output", required=True, type=Path, help=f"destination {OUTPUT_SUFFIXES}")
    parser.add_argument(
        "--label-column", default="label", help="region-label column (default: label, else the first column)"
    )
    parser.add_argument(
        "--max-missing",
        type=float,
        default=DEFAULT_MAX_MISSING_FRACTION,
        help="largest share of the model's genes that may be missing; they are filled with "
        f"their training mean (default {DEFAULT_MAX_MISSING_FRACTION})",
    )
    return parser


def predict_main(argv: list[str]) -> int:
    """Run ``ge2conn predict --expression ...``.

    Args:
        argv: Arguments after ``predict``.

    Returns:
        The exit status (2 for a user error, printed as one line).
    """
    args = build_predict_parser().parse_args(argv)
    console = Console(stderr=True)
    try:
        model = load_model(args.ckpt_path)
        source = Path(args.expression)
        if source.suffix.lower() in TABLE_SUFFIXES:
            if args.coordinates is None:
                raise DatasetError(
                    source,
                    "--coordinates",
                    "a CSV expression table needs coordinates",
                    "pass --coordinates FILE with columns label, x, y, z",
                )
            expression = read_expression_file(source, args.label_column)
            coordinates = read_coordinates_file(args.coordinates, args.label_column)
            names = (str(source), str(args.coordinates))
        else:
            expression, coordinates = dataset_tables(args.expression)
            if args.coordinates is not None:
                coordinates = read_coordinates_file(args.coordinates, args.label_column)
            names = (str(args.expression), str(args.coordinates or args.expression))
        prediction = model.predict_connectome(expression, coordinates, args.max_missing, names)
        written = write_prediction(args.output, prediction)
    except (CheckpointError, DatasetError, ValueError) as error:
        console.print(f"[red]error:[/red] {error}", markup=True, highlight=False)
        return 2
    report = prediction.gene_report()
    print(
        f"model {model.name} ({model.genes.symbols.size} genes, trained on {model.genes.dataset}): "
        f"{report['matched']} genes matched, {report['renamed']} renamed, {report['missing']} missing"
        + (f" (filled with the {report['fill_policy']})" if report["missing"] else "")
        + f"; {report['input_unused']} input genes unused"
    )
    if prediction.dropped_regions:
        print(
            f"{len(prediction.dropped_regions)} regions without expression left out: "
            f"{prediction.dropped_regions[:5]}"
        )
    size = prediction.labels.size
    for path in written:
        print(f"wrote {path}" + (f" ({size} × {size} regions)" if path == args.output else ""))
    return 0


def models_main(argv: list[str]) -> int:
    """Run ``ge2conn models list``.

    Args:
        argv: Arguments after ``models``.

    Returns:
        The exit status.
    """
    parser = argparse.ArgumentParser(
        prog="ge2conn models", description="Pretrained models shipped with ge2conn."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list shipped models and their test metrics")
    parser.parse_args(argv)
    models = list_models()
    if not models:
        print(f"no checkpoints found in {[str(folder) for folder in checkpoint_folders()]}")
        return 0
    table = Table(title="ge2conn pretrained models")
    table.add_column("name", no_wrap=True)
    for column in ("model", "trained on", "genes", "test r true / null", "size", "card"):
        table.add_column(column)
    for model in models:
        card = model.card
        metrics = (
            f"{card['test_pearson_true']:.2f} / {card['test_pearson_null']:.2f}"
            if "test_pearson_true" in card
            else "–"
        )
        card_file = model.card_file
        table.add_row(
            model.name,
            str(card.get("model", "–")),
            str(card.get("training_data", "–")).split(" ", 1)[0],
            f"{model.num_genes:,}" + ("" if model.records_genes else "*"),
            metrics,
            f"{model.size_bytes / 1e6:.1f} MB",
            card_file.name if card_file else "–",
        )
    console = Console(width=max(Console().width, 150))
    console.print(table)
    console.print(
        "load one with ge2conn.load_model(NAME) or `ge2conn predict --ckpt_path NAME ...`; "
        "* the checkpoint does not record its genes: its training dataset must be built here",
        highlight=False,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``ge2conn models ...`` (the ``models`` verb).

    Args:
        argv: Arguments after ``models`` (``sys.argv[1:]`` when None).

    Returns:
        The exit status.
    """
    return models_main(list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
