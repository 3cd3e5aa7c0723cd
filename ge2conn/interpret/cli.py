"""``ge2conn explain CKPT``: region embeddings, silhouette by network and SMT attention maps of a checkpoint.

Examples::

    ge2conn explain checkpoints/smt_cls_dk82.ckpt --output explain_dk82
    ge2conn explain model.ckpt --dataset schaefer100 --output out --method umap   # needs umap-learn

The work is done by :func:`ge2conn.interpret.explain`; the files it writes are listed there.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ge2conn.data.errors import DatasetError
from ge2conn.inference.checkpoint import CheckpointError
from ge2conn.interpret.embeddings import PROJECTION_METHODS
from ge2conn.interpret.explain import explain


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``ge2conn explain``."""
    parser = argparse.ArgumentParser(
        prog="ge2conn explain",
        description="Export region embeddings (2-D maps "
        "coloured by network, silhouette scores), true vs predicted maps on the cortical surface, the "
        "strongest predicted edges in a glass brain and, for the SMT, attention "
        "maps averaged over heads and regions with the genes of the top tokens.",
    )
    parser.add_argument("checkpoint", type=Path, help="Lightning checkpoint (.ckpt) of a ge2conn task")
    parser.add_argument(
        "--dataset", default=None, help="dataset name or .h5 path (default: the checkpoint's)"
    )
    parser.add_argument("--output", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--method",
        choices=PROJECTION_METHODS,
        default="pca",
        help="2-D map: pca (default) or umap (needs the optional umap-learn package)",
    )
    parser.add_argument("--top", type=int, default=10, help="tokens listed per scope in top_tokens.csv")
    parser.add_argument("--seed", type=int, default=0, help="random state of the 2-D maps")
    parser.add_argument("--heads", action="store_true", help="also draw each attention head's map (SMT)")
    parser.add_argument("--seed-region", default=None,
                        help="seed region label of the surface seed map (default: a default-mode hub)")
    parser.add_argument("--edges", type=int, default=50, help="strongest predicted edges in the glass brain")
    parser.add_argument("--no-brains", action="store_true",
                        help="skip the surface maps and the glass brain (they take ~30 s on a CPU)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``ge2conn explain``.

    Args:
        argv: Arguments after ``explain`` (defaults to ``sys.argv[1:]``).

    Returns:
        Exit status: 0 on success (also when the model lacks embeddings or attention: it says so), 2 on a bad
        checkpoint, dataset or argument.
    """
    args = build_parser().parse_args(argv)
    console = Console(stderr=True)
    try:
        report = explain(
            args.checkpoint,
            args.output,
            dataset=args.dataset,
            method=args.method,
            top=args.top,
            seed=args.seed,
            heads=args.heads,
            brains=not args.no_brains,
            seed_region=args.seed_region,
            edges=args.edges,
        )
    except (CheckpointError, DatasetError, ValueError) as error:
        # Text, not markup: messages quote values in brackets that rich would read as style tags.
        console.print(Text.assemble(("error: ", "red"), str(error)), soft_wrap=True)
        return 2
    name = report.model_name or report.class_name
    table = Table(title=f"{name} on {report.dataset.stem}: silhouette by network")
    table.add_column("representation")
    table.add_column("full", justify="right")
    table.add_column("2-D map", justify="right")
    for name, (full, mapped) in report.silhouettes.items():
        table.add_row(name, _number(full), _number(mapped))
    console.print(table)
    for sentence in report.limitations:
        console.print(Text.assemble(("cannot: ", "yellow"), sentence), soft_wrap=True)
    console.print(Text(f"wrote {len(report.files)} files to {args.output}"), soft_wrap=True)
    return 0


def _number(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"


if __name__ == "__main__":
    sys.exit(main())
