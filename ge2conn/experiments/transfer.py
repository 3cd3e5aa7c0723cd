r"""``ge2conn experiment transfer``: train on one whole dataset, predict the whole connectome of another.

For every ordered pair (source → target) of the datasets given, a model (any ``ge2conn fit`` config) is
trained on all regions of the source except a validation subset (early stopping, LR schedule and best
weights see only those), restricted to the genes both datasets share, in reference (TSS) order. It then
predicts every edge i < j of the target from the target's expression and MNI coordinates (standardized with
the source's statistics, as the model was trained) and is scored against the target's FC with Pearson r,
MSE and the geodesic distance. The chance level is the same model trained on the source's best
spatiomolecular null brain (``--null-rank``, 0 = best; true coordinates and Y kept).

Training runs are shared between pairs that need the same (source, genes, null) model. Pairs whose
datasets share fewer than ``--min-genes`` genes are refused before anything is trained.

Example::

    ge2conn experiment transfer --datasets dk82 dk68 schaefer100 schaefer100-ctx \\
        --config configs/smt_cls_small.yaml --config configs/trainer/cpu.yaml --output runs/transfer
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.text import Text

from ge2conn.data.alignment import (
    DEFAULT_MIN_SHARED_GENES,
    TooFewSharedGenesError,
    check_shared_genes,
    shared_genes,
)
from ge2conn.data.catalog import resolve_dataset
from ge2conn.data.errors import DatasetError
from ge2conn.data.region_table import RegionTable
from ge2conn.experiments.config import parse_setting
from ge2conn.experiments.transfer_data import load_target, read_gene_symbols, write_gene_list
from ge2conn.experiments.transfer_report import TransferRow, write_report
from ge2conn.experiments.transfer_training import evaluate_on_target, train_whole_brain
from ge2conn.models.base import EdgeRegressionTask
from ge2conn.nulls import null_path_for

DEFAULT_CONFIGS = ("configs/smt_cls_small.yaml", "configs/trainer/cpu.yaml")
CONDITIONS = ("true", "null")


@dataclass(frozen=True)
class TransferPlan:
    """The pairs to evaluate and the genes each pair shares.

    Attributes:
        datasets: Name → dataset file.
        pairs: Ordered (source, target) names.
        genes: (source, target) → shared symbols in the source's order.
    """

    datasets: dict[str, Path]
    pairs: list[tuple[str, str]]
    genes: dict[tuple[str, str], np.ndarray]


def plan_transfer(
    datasets: list[str], pairs: list[tuple[str, str]] | None = None, min_genes: int = DEFAULT_MIN_SHARED_GENES
) -> TransferPlan:
    """Resolve the datasets, list the pairs and their shared genes; refuse pairs with too few genes.

    Args:
        datasets: Dataset names or ``.h5`` paths (a path's stem names it).
        pairs: Ordered (source, target) pairs among ``datasets``; default every ordered pair of distinct ones.
        min_genes: Fewest shared genes accepted.

    Returns:
        The plan.

    Raises:
        TooFewSharedGenesError: naming every pair below the threshold (before anything is trained).
    """
    paths = {_display_name(name): resolve_dataset(name) for name in datasets}
    if len(paths) != len(datasets):
        raise ValueError(f"dataset names must be distinct, got {datasets}")
    chosen = pairs if pairs is not None else [(a, b) for a, b in itertools.permutations(paths, 2)]
    unknown = sorted({name for pair in chosen for name in pair} - set(paths))
    if unknown:
        raise ValueError(f"pairs name datasets not in --datasets: {unknown}")
    symbols = {name: read_gene_symbols(path) for name, path in paths.items()}
    genes = {(source, target): shared_genes(symbols[source], symbols[target]) for source, target in chosen}
    problems = []
    for (source, target), shared in genes.items():
        try:
            check_shared_genes(source, target, shared, min_genes)
        except TooFewSharedGenesError as error:
            problems.append(str(error))
    if problems:
        raise TooFewSharedGenesError("; ".join(problems))
    return TransferPlan(paths, list(chosen), genes)


def _display_name(name: str) -> str:
    path = Path(name)
    return path.stem if path.suffix in {".h5", ".hdf5"} else name


def run_transfer(
    plan: TransferPlan,
    config_files: list[str | Path],
    settings: dict[str, Any],
    output: Path,
    conditions: tuple[str, ...] = CONDITIONS,
    null_rank: int = 0,
    val_fraction: float = 0.125,
    seed: int = 0,
    console: Console | None = None,
) -> list[TransferRow]:
    """Train (true and null) and evaluate every pair of a plan; write the report.

    Args:
        plan: Pairs and shared genes (:func:`plan_transfer`).
        config_files: ``ge2conn fit`` YAML files of the model.
        settings: Values by dotted key applied over the config files (``{"trainer.max_epochs": 20}``).
        output: Output folder (gene lists, runs, predictions, CSVs, figure).
        conditions: ``"true"`` and/or ``"null"``.
        null_rank: Rank of the source null used by the ``"null"`` condition.
        val_fraction: Share of source regions held out for validation.
        seed: Seed of the validation draw and of training.
        console: Where progress is printed (None: silent).

    Returns:
        One row per (pair, condition).
    """
    if "null" in conditions:
        for source in dict.fromkeys(source for source, _ in plan.pairs):
            nulls_file = null_path_for(plan.datasets[source])
            if not nulls_file.exists():
                raise DatasetError(
                    nulls_file,
                    "<file>",
                    f"{source} has no null brains for the chance level",
                    f"run `ge2conn nulls generate {plan.datasets[source]}` or pass --no-null",
                )
    output.mkdir(parents=True, exist_ok=True)
    trained: dict[tuple[str, str, str], tuple[EdgeRegressionTask, dict[str, float]]] = {}
    rows: list[TransferRow] = []
    sources = {source for source, _ in plan.pairs}
    source_tables = {source: RegionTable.read(plan.datasets[source]) for source in sources}
    for source, target in plan.pairs:
        genes = plan.genes[(source, target)]
        digest = hashlib.sha256("\n".join(genes.tolist()).encode()).hexdigest()[:10]
        gene_list = output / "genes" / f"{source}_{genes.size}genes_{digest}.txt"
        if not gene_list.exists():
            write_gene_list(gene_list, genes, f"genes shared by {source} and {target}, {source}'s TSS order")
        target_data = load_target(plan.datasets[target], genes)
        shared_regions = count_shared_regions(target_data.labels, target_data.coordinates,
                                              source_tables[source])
        for condition in conditions:
            key = (source, digest, condition)
            if key not in trained:
                if console is not None:
                    console.print(Text(f"training on {source} ({condition}, {genes.size} genes)"))
                trained[key] = train_whole_brain(
                    config_files,
                    settings,
                    plan.datasets[source],
                    gene_list,
                    null_rank if condition == "null" else None,
                    output / "runs" / f"{source}_{genes.size}genes_{digest}_{condition}",
                    val_fraction,
                    seed,
                )
            task, facts = trained[key]
            metrics, matrix = evaluate_on_target(task, target_data)
            prediction_path = output / "predictions" / f"{source}_to_{target}_{condition}.npy"
            prediction_path.parent.mkdir(parents=True, exist_ok=True)
            np.save(prediction_path, matrix)
            rows.append(
                TransferRow(
                    source=source,
                    target=target,
                    condition=condition,
                    shared_genes=genes.size,
                    shared_regions=shared_regions,
                    target_regions=target_data.labels.size,
                    metrics=metrics,
                    training=facts,
                )
            )
            if console is not None:
                console.print(
                    Text(
                        f"  {source} → {target} [{condition}]: r={metrics['pearson']:.3f} "
                        f"mse={metrics['mse']:.4f} geodesic={metrics['geodesic']:.2f}"
                    )
                )
    write_report(rows, list(plan.datasets), output, title=_title(config_files))
    return rows


SAME_ATLAS_MM = 5.0
"""Largest median centroid distance (mm) between same-named regions for two datasets to share an atlas."""


def count_shared_regions(target_labels: np.ndarray, target_centroids: np.ndarray, source: RegionTable,
                         tolerance_mm: float = SAME_ATLAS_MM) -> int:
    """Target regions whose FC the source model saw in training (the same region of the same atlas).

    A label alone does not identify a region across atlases: Schaefer-100 and Schaefer-300 both name parcels
    ``7Networks_LH_Vis_1``, at different places. Same-named regions count as shared only when the atlases
    agree, i.e. the median distance between the centroids of same-named regions is at most ``tolerance_mm``
    (measured: DK68 vs DK82 0 mm; UK Biobank vs HCP Schaefer-100 2.8 mm, each computed from its own
    parcellation; Schaefer-100 vs Schaefer-300 19.6 mm).

    Args:
        target_labels: (R,) the target's region labels.
        target_centroids: (R, 3) their MNI centroids.
        source: The source dataset's region table.
        tolerance_mm: Largest median centroid distance for the same atlas.

    Returns:
        The number of shared target regions (0 when the atlases differ).
    """
    source_index = {label: row for row, label in enumerate(source.labels.tolist())}
    rows = [(row, source_index[label]) for row, label in enumerate(target_labels.tolist())
            if label in source_index]
    if not rows:
        return 0
    target_rows, source_rows = np.array(rows).T
    distances = np.linalg.norm(np.asarray(target_centroids, dtype=np.float64)[target_rows]
                               - source.centroids[source_rows], axis=1)
    return len(rows) if float(np.median(distances)) <= tolerance_mm else 0


def _title(config_files: list[str | Path]) -> str:
    return "transfer: " + ", ".join(Path(path).stem for path in config_files if "trainer" not in str(path))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``ge2conn experiment transfer``."""
    parser = argparse.ArgumentParser(
        prog="ge2conn experiment transfer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--datasets", nargs="+", required=True, help="dataset names or .h5 paths (at least 2)"
    )
    parser.add_argument(
        "--pairs",
        nargs="+",
        default=None,
        metavar="SOURCE:TARGET",
        help="ordered pairs to run (default: every ordered pair of distinct datasets)",
    )
    parser.add_argument(
        "--config",
        action="append",
        default=None,
        help=f"ge2conn fit YAML (repeatable; default: {' '.join(DEFAULT_CONFIGS)})",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override, e.g. --set trainer.max_epochs=20 (repeatable)",
    )
    parser.add_argument("--output", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--min-genes",
        type=int,
        default=DEFAULT_MIN_SHARED_GENES,
        help=f"refuse pairs sharing fewer genes (default {DEFAULT_MIN_SHARED_GENES})",
    )
    parser.add_argument(
        "--null-rank", type=int, default=0, help="source null used as chance level (0 = best)"
    )
    parser.add_argument("--no-null", action="store_true", help="skip the null-brain chance level")
    parser.add_argument(
        "--val-fraction",
        type=float,
        default=0.125,
        help="source regions held out for validation (default 0.125)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the validation draw and training")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``ge2conn experiment transfer``.

    Args:
        argv: Arguments after ``experiment transfer`` (defaults to ``sys.argv[1:]``).

    Returns:
        Exit status: 0 on success, 2 on a bad argument, dataset or too few shared genes.
    """
    args = build_parser().parse_args(argv)
    console = Console(stderr=True)
    try:
        pairs = None if args.pairs is None else [_parse_pair(text) for text in args.pairs]
        if len(args.datasets) < 2 and pairs is None:
            raise ValueError("give at least two --datasets (or explicit --pairs)")
        plan = plan_transfer(args.datasets, pairs, args.min_genes)
        for (source, target), genes in plan.genes.items():
            console.print(Text(f"{source} → {target}: {genes.size} shared genes"))
        settings = dict(parse_setting(item) for item in args.set)
        conditions = ("true",) if args.no_null else CONDITIONS
        rows = run_transfer(
            plan,
            list(args.config or DEFAULT_CONFIGS),
            settings,
            args.output,
            conditions,
            args.null_rank,
            args.val_fraction,
            args.seed,
            console,
        )
    except (TooFewSharedGenesError, DatasetError, ValueError) as error:
        console.print(Text.assemble(("error: ", "red"), str(error)), soft_wrap=True)
        return 2
    summary: dict[str, Any] = {"pairs": len(plan.pairs), "rows": len(rows), "output": str(args.output)}
    console.print(
        Text(f"wrote {args.output / 'transfer_results.csv'} and the matrices ({json.dumps(summary)})")
    )
    return 0


def _parse_pair(text: str) -> tuple[str, str]:
    source, separator, target = text.partition(":")
    if not separator or not source or not target:
        raise ValueError(f"--pairs takes SOURCE:TARGET, got {text!r}")
    return _display_name(source), _display_name(target)


if __name__ == "__main__":
    sys.exit(main())
