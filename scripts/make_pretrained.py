"""Rebuild a shipped pretrained model (``checkpoints/<name>.ckpt``), its model card and cross-atlas scores.

For the model named on the command line (see ``SPECS``), on the CPU with seed 0:

1. train it on its dataset's random split round 0, fold 0 (early stopping, the LR schedule and the kept
   weights see validation regions only) and test it on the outer test regions;
2. train the same model the same way on the dataset's best null brain (rank 0 of 1,000 CGE-matched spins,
   true FC) — the chance level — and fit the distance-only baseline (exponential decay) on the same split;
3. ship the true model's best weights with its genes and their training means (``ge2conn_inference``) and a
   structured card (``ge2conn_card``); optimizer and loop states are dropped;
4. predict every other public parcellation built here (dk82, schaefer100, schaefer300, glasser360) from its
   expression and coordinates alone with all three models, and score r and R² against its real FC over every
   region pair (and over cortical pairs only);
5. write the Markdown card ``checkpoints/<name>.md``; ``--table`` rewrites ``checkpoints/cross_atlas.md``
   from every shipped card.

Usage (from the repository root, datasets built with ``ge2conn data build NAME``)::

    PYTHONPATH=. python scripts/make_pretrained.py mlp_coords_schaefer100_common [--epochs 40]
    PYTHONPATH=. python scripts/make_pretrained.py --table
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPOSITORY = Path(__file__).resolve().parent.parent
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))

from ge2conn.api import RunResult, fit_and_test  # noqa: E402
from ge2conn.data.catalog import resolve_dataset  # noqa: E402
from ge2conn.data.errors import DatasetError  # noqa: E402
from ge2conn.data.format import BrainDataset  # noqa: E402
from ge2conn.data.genes import load_gene_reference, match_genes  # noqa: E402
from ge2conn.inference import (  # noqa: E402
    DEFAULT_MAX_MISSING_FRACTION,
    load_model,
    read_checkpoint,
    training_genes_entry,
)
from ge2conn.inference.inputs import dataset_tables  # noqa: E402
from ge2conn.inference.shipping import best_checkpoint_path, save_checkpoint, stripped_checkpoint  # noqa: E402
from ge2conn.nulls import ensure_nulls  # noqa: E402
from ge2conn.utils.atomic import atomic_output  # noqa: E402
from scripts.pretrained_models import (  # noqa: E402
    CHECKPOINTS,
    COMMON_GENES,
    CROSS_ATLAS_HEADER,
    NULL_SPINS,
    PATIENCE,
    SPECS,
    TARGETS,
    WORK,
    PretrainedSpec,
    cross_atlas_lines,
    write_card,
    write_table,
)


def common_gene_list() -> Path:
    """The common gene list, rebuilt from the mirror's expression headers when ``GE2CONN_MIRROR`` is set."""
    mirror = os.environ.get("GE2CONN_MIRROR")
    if mirror is None:
        return COMMON_GENES
    reference = load_gene_reference()
    folder = Path(mirror) / "saratheriver/enigma-extra/ahba"
    sets = []
    for suffix in ("", "_schaefer_100", "_schaefer_300", "_glasser_360"):
        header = (folder / f"allgenes_stable_r0.6{suffix}.csv").read_text(encoding="utf-8").split("\n", 1)[0]
        rows = match_genes(header.strip().split(",")[1:], reference).reference_rows
        sets.append(set(reference.symbols[rows[rows >= 0]].tolist()))
    dk82 = BrainDataset.load(resolve_dataset("dk82"), individual=False).gene_symbols.tolist()
    common = [symbol for symbol in dk82 if all(symbol in genes for genes in sets)]  # dk82's TSS order
    with atomic_output(COMMON_GENES) as temporary:
        temporary.write_text(
            "# genes in every r>=0.6 AHBA table of enigma-extra (DK, Schaefer-100/300, "
            "Glasser-360) and in dk82, TSS order; made by scripts/make_pretrained.py\n"
            + "\n".join(common)
            + "\n",
            encoding="utf-8",
        )
    return COMMON_GENES


def train(spec: PretrainedSpec, rule: bool, null: bool, epochs: int, workdir: Path) -> RunResult:
    """Fit and test the model (or the distance rule) on split round 0, fold 0."""
    configs: list[str | Path] = [
        "configs/exp_decay.yaml" if rule else "configs/mlp_coords.yaml",
        "configs/trainer/cpu.yaml",
    ]
    settings: dict[str, Any] = {
        "data.dataset": spec.dataset,
        "data.split": "random",
        "data.split_round": 0,
        "data.fold": 0,
        "seed_everything": 0,
        "trainer.default_root_dir": str(workdir),
        "trainer.enable_model_summary": False,
        "trainer.enable_progress_bar": False,
        "trainer.logger": False,
        "early_stopping.patience": PATIENCE,
    }
    if spec.genes == "common":
        settings["data.gene_list"] = str(COMMON_GENES)
    if null:
        settings["data.null_rank"] = 0
    if not rule:
        settings |= {
            "trainer.max_epochs": epochs,
            "model.init_args.learning_rate": 3e-4,
            "model.init_args.hidden_sizes": list(spec.hidden_sizes),
        }
    return fit_and_test(configs, settings)


def shipped_checkpoint(run: RunResult, spec: PretrainedSpec) -> dict[str, Any]:
    """The run's best checkpoint without optimizer and loop states, with the genes entry."""
    shipped = stripped_checkpoint(best_checkpoint_path(run.trainer))
    gene_list = str(COMMON_GENES) if spec.genes == "common" else None
    shipped["ge2conn_inference"] = training_genes_entry(spec.dataset, gene_list)
    # The genes are recorded in the checkpoint itself; the list's path would only name a file on this machine.
    shipped["datamodule_hyper_parameters"] = {
        **shipped.get("datamodule_hyper_parameters", {}),
        "gene_list": None,
    }
    return shipped


def score(prediction: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """Pearson r and R² (uncalibrated, 1 − SSE/SST) over the upper triangle."""
    upper = np.triu_indices(target.shape[0], 1)
    predicted, true = prediction[upper].astype(np.float64), target[upper].astype(np.float64)
    r = float(np.corrcoef(predicted, true)[0, 1])
    r2 = float(1.0 - ((true - predicted) ** 2).sum() / ((true - true.mean()) ** 2).sum())
    return r, r2


def cross_atlas(checkpoints: dict[str, Path], trained_on: str) -> list[dict[str, Any]]:
    """Predict every other built target from expression + coordinates; r / R² against its real FC."""
    rows: list[dict[str, Any]] = []
    models = {role: load_model(path) for role, path in checkpoints.items()}
    for target in TARGETS:
        if target == trained_on:
            continue
        try:
            path = resolve_dataset(target)
        except DatasetError:
            rows.append({"target": target, "status": "not built here"})
            continue
        brain = BrainDataset.load(path, individual=False)
        expression, coordinates = dataset_tables(path)
        row: dict[str, Any] = {
            "target": target,
            "regions": brain.num_regions,
            "cortex": int((brain.structure == "cortex").sum()),
        }
        for role, model in models.items():
            try:
                prediction = model.predict_connectome(expression, coordinates)
            except DatasetError:
                alignment = model.align(expression.columns.astype(str).tolist(), max_missing_fraction=1.0)
                found = alignment.model_genes.size - len(alignment.missing_genes)
                row["status"] = (
                    f"not evaluable: has {found:,} of the model's {alignment.model_genes.size:,} genes "
                    f"({alignment.missing_fraction:.0%} missing > {DEFAULT_MAX_MISSING_FRACTION:.0%})"
                )
                break
            position = {label: index for index, label in enumerate(brain.region_labels.tolist())}
            order = np.asarray([position[label] for label in prediction.labels.tolist()])
            true = brain.connectivity[np.ix_(order, order)]
            cortex = brain.structure[order] == "cortex"
            row[f"{role}_r"], row[f"{role}_r2"] = score(prediction.connectivity, true)
            cortical = np.ix_(cortex, cortex)
            row[f"{role}_r_cortex"], row[f"{role}_r2_cortex"] = score(
                prediction.connectivity[cortical], true[cortical]
            )
            row["genes"] = prediction.gene_report()
        rows.append(row)
    return rows


def trained(name: str, spec: PretrainedSpec, epochs: int, retrain: bool) -> dict[str, dict[str, Any]]:
    """Train the true, null and distance models, or reuse them from ``runs/pretrained/<name>/``.

    Returns:
        Per role: ``{"path": checkpoint, "metrics": run metrics}``.
    """
    folder = WORK / name
    results: dict[str, dict[str, Any]] = {}
    for role in ("true", "null", "distance"):
        path, metrics_path = folder / f"{role}.ckpt", folder / f"{role}.json"
        if retrain or not (path.is_file() and metrics_path.is_file()):
            run = train(
                spec, rule=role == "distance", null=role == "null", epochs=epochs, workdir=folder / role
            )
            save_checkpoint(shipped_checkpoint(run, spec), path)
            with atomic_output(metrics_path) as temporary:
                temporary.write_text(json.dumps(run.metrics, indent=1), encoding="utf-8")
            print(f"{name} {role}: test r {run.metrics.get('test/pearson', float('nan')):.3f}", flush=True)
        results[role] = {"path": path, "metrics": json.loads(metrics_path.read_text(encoding="utf-8"))}
    return results


def _test_metrics(metrics: dict[str, float]) -> dict[str, float]:
    return {name.removeprefix("test/"): value for name, value in metrics.items() if name.startswith("test/")}


def build(name: str, epochs: int, retrain: bool) -> None:
    """Train (or reuse), evaluate and ship one model (see the module docstring)."""
    spec = SPECS[name]
    os.chdir(REPOSITORY)  # config paths are relative to the repository root
    if spec.genes == "common":
        common_gene_list()
    ensure_nulls(resolve_dataset(spec.dataset), num_spins=NULL_SPINS, top=10, seed=0)
    runs = trained(name, spec, epochs, retrain)
    rows = cross_atlas({role: run["path"] for role, run in runs.items()}, spec.dataset)
    true, null = runs["true"]["metrics"], runs["null"]["metrics"]
    card: dict[str, Any] = {
        "model": "MLP+coords",
        "training_data": f"{spec.dataset} (HCP FC, AHBA)",
        "genes": int(read_checkpoint(runs["true"]["path"])["hyper_parameters"]["num_genes"]),
        "max_epochs": epochs,
        "epochs": int(true["epochs"]),
        "wall_time_s": float(true["wall_time_s"]),
        "test_true": _test_metrics(true),
        "test_null": _test_metrics(null),
        "test_distance": _test_metrics(runs["distance"]["metrics"]),
        "test_pearson_true": true["test/pearson"],
        "test_pearson_null": null["test/pearson"],
        "cross_atlas": [
            {key: value for key, value in row.items() if key != "genes"}
            | (
                {
                    "genes": {
                        key: row["genes"][key] for key in ("model_genes", "matched", "renamed", "missing")
                    }
                }
                if "genes" in row
                else {}
            )
            for row in rows
        ],
    }
    shipped = read_checkpoint(runs["true"]["path"]) | {"ge2conn_card": card}
    destination = save_checkpoint(shipped, CHECKPOINTS / f"{name}.ckpt")
    size = destination.stat().st_size
    print(f"wrote {destination} ({size / 1e6:.2f} MB) and {write_card(name, spec, card, size)}")
    print(
        f"test r true {card['test_pearson_true']:.3f} null {card['test_pearson_null']:.3f} distance "
        f"{card['test_distance']['pearson']:.3f}"
    )
    print("\n".join(CROSS_ATLAS_HEADER + cross_atlas_lines(name, card["cross_atlas"])))


def main(argv: list[str] | None = None) -> int:
    """Rebuild one shipped model, or the cross-atlas table.

    Args:
        argv: Command-line arguments (see ``--help``).

    Returns:
        The exit status.
    """
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("name", nargs="?", choices=sorted(SPECS), help="model to rebuild")
    parser.add_argument("--epochs", type=int, default=40, help="maximum training epochs (default 40)")
    parser.add_argument("--table", action="store_true", help="rewrite checkpoints/cross_atlas.md")
    parser.add_argument(
        "--retrain", action="store_true", help=f"retrain even when {WORK}/NAME holds the runs"
    )
    args = parser.parse_args(argv)
    if args.name:
        torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
        build(args.name, args.epochs, args.retrain)
    if args.table:
        print(f"wrote {write_table()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
