"""Explain one checkpoint on one dataset: embeddings, silhouette by network and (SMT only) attention maps.

Files written to the output folder:

- ``regions.csv``: index, label, hemisphere, structure, network of every region (row order of the arrays);
- ``embeddings.npy``: (R, D) region embeddings (models that have them);
- ``embedding_map.png``: 2-D maps of the embeddings and of the raw expression, coloured by network;
- ``silhouette.csv``: silhouette by network of every representation (full-dimensional and 2-D map);
- ``attention_last_layer_global.npy`` (L, L), ``attention_last_layer_by_network.npy`` (K, L, L) with
  ``attention_networks.csv``, ``attention_layers_global.npy`` (layers, L, L), ``attention_tokens.csv`` (the
  genes of each token), ``top_tokens.csv``, ``attention_global.png`` and ``attention_by_network.png`` (each
  network's map minus the global one, one colour scale; SMT only); with ``heads``,
  ``attention_last_layer_heads.npy`` (H, L, L) and ``attention_heads.png``;
- brain figures (``brains``): ``brain_seed_<label>.png``, ``brain_strength.png``,
  ``glass_brain_predicted.png`` and ``predicted_connectome.npy`` (see :mod:`ge2conn.interpret.brains`);
- ``summary.json``: what was done, the silhouettes, and what could not be done for this model.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from ge2conn.figures import save_figure
from ge2conn.figures.names import model_display_name
from ge2conn.inference.checkpoint import CheckpointError, load_checkpoint
from ge2conn.interpret.attention import (
    TokenLayout,
    attention_grid_figure,
    attention_summary,
    global_attention_figure,
    top_tokens,
)
from ge2conn.interpret.brains import export_brains
from ge2conn.interpret.checkpoint import RegionData, load_regions
from ge2conn.interpret.embeddings import (
    RepresentationSummary,
    embedding_map_figure,
    summarize,
    umap_available,
)


@dataclass
class ExplainReport:
    """What :func:`explain` produced.

    Attributes:
        class_name: The task class of the checkpoint.
        model_name: The model as the paper names it (e.g. ``SMT+[CLS]``).
        dataset: The dataset file explained on.
        files: Every file written.
        silhouettes: Representation name → (silhouette of the full representation, of its 2-D map).
        limitations: Plain sentences saying what could not be done for this model, and why.
    """

    class_name: str
    dataset: Path
    model_name: str = ""
    files: list[Path] = field(default_factory=list)
    silhouettes: dict[str, tuple[float, float]] = field(default_factory=dict)
    limitations: list[str] = field(default_factory=list)


def write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str]) -> Path:
    """Write dictionaries as a CSV file with a header.

    Args:
        path: Destination.
        rows: One dictionary per row.
        columns: Column order.

    Returns:
        The path.
    """
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _save_figure(figure: Figure, path: Path, report: ExplainReport) -> None:
    report.files.append(save_figure(figure, path))


def _save_array(path: Path, array: np.ndarray, report: ExplainReport) -> None:
    np.save(path, array)
    report.files.append(path)


def explain(
    checkpoint: str | Path,
    output: str | Path,
    dataset: str | None = None,
    method: str = "pca",
    top: int = 10,
    chunk_size: int = 16,
    seed: int = 0,
    heads: bool = False,
    brains: bool = True,
    seed_region: str | None = None,
    edges: int = 50,
) -> ExplainReport:
    """Export embeddings, silhouettes and attention maps of a checkpoint on a dataset.

    Args:
        checkpoint: The ``.ckpt`` file.
        output: Output folder (created).
        dataset: Dataset name or path; defaults to the one the checkpoint was trained on. The checkpoint's
            gene list and structure filter are applied, so the genes match the model's.
        method: 2-D map method, ``"pca"`` or ``"umap"``.
        top: Tokens listed per scope in ``top_tokens.csv``.
        chunk_size: Regions encoded at once for the attention maps.
        seed: Random state of the 2-D maps.
        heads: Also draw the last layer's map of each attention head (``attention_heads.png``).
        brains: Draw the brain figures (:mod:`ge2conn.interpret.brains`; nilearn).
        seed_region: Seed region label of the seed map (default: a default-mode hub).
        edges: Strongest predicted edges drawn in the glass brain.

    Returns:
        The report.

    Raises:
        CheckpointError: when the checkpoint cannot be loaded or does not fit the dataset's genes.
    """
    if method == "umap" and not umap_available():
        raise ValueError(
            "--method umap needs the optional package umap-learn (pip install umap-learn); use --method pca"
        )
    loaded = load_checkpoint(checkpoint)
    task, hparams = loaded.task, loaded.datamodule_hparams
    dataset = dataset or hparams.get("dataset")
    if not dataset:
        raise CheckpointError(checkpoint, "datamodule_hyper_parameters/dataset", "records no dataset",
                              "pass --dataset")
    regions = load_regions(dataset, hparams.get("gene_list"), hparams.get("structures"))
    expected = int(task.hparams.get("num_genes", regions.expression.shape[1]))
    if regions.expression.shape[1] != expected and task.network.has_embeddings:
        raise CheckpointError(
            checkpoint,
            "num_genes",
            f"the model takes {expected} genes but {regions.path} gives {regions.expression.shape[1]}",
            "explain it on the dataset (and gene list) it was trained with",
        )
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    report = ExplainReport(loaded.class_name, regions.path)
    report.files.append(
        write_csv(
            folder / "regions.csv",
            [
                {
                    "index": index,
                    "label": label,
                    "hemisphere": side,
                    "structure": structure,
                    "network": network,
                }
                for index, (label, side, structure, network) in enumerate(
                    zip(regions.labels, regions.hemisphere, regions.structure, regions.network, strict=True)
                )
            ],
            ["index", "label", "hemisphere", "structure", "network"],
        )
    )
    expression = torch.from_numpy(regions.expression)
    coordinates = torch.from_numpy(regions.coordinates)
    model_name = model_display_name(loaded.class_name, dict(task.hparams))
    report.model_name = model_name
    summaries = _embedding_summaries(
        task, model_name, regions, expression, coordinates, method, seed, folder, report
    )
    figure = embedding_map_figure(
        summaries,
        regions.network,
        regions.hemisphere,
        method,
        title=f"{model_name} on {regions.path.stem}: regions by network",
    )
    _save_figure(figure, folder / "embedding_map.png", report)
    network: Any = task.network
    if hasattr(network, "attention_maps") and hasattr(network, "encoder"):
        _export_attention(
            network,
            regions,
            expression,
            coordinates,
            top,
            chunk_size,
            folder,
            report,
            title=f"{model_name} on {regions.path.stem}",
            heads=heads,
        )
    else:
        report.limitations.append(
            f"{model_name} has no attention layers (only the SMT has them): no "
            "attention maps or top tokens were written"
        )
    if brains:
        drawn = export_brains(task, regions, folder, model_name, seed_region, edges)
        report.files += drawn.files
        report.limitations += drawn.limitations
    summary = {
        "checkpoint": str(checkpoint),
        "task": loaded.class_name,
        "model": model_name,
        "dataset": str(regions.path),
        "num_regions": int(regions.labels.size),
        "num_genes": int(regions.expression.shape[1]),
        "method": method,
        "silhouette_by_network": {
            name: {"full": full, "map": mapped} for name, (full, mapped) in report.silhouettes.items()
        },
        "limitations": report.limitations,
        "files": [path.name for path in report.files],
    }
    (folder / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    report.files.append(folder / "summary.json")
    return report


def _embedding_summaries(
    task: Any,
    class_name: str,
    regions: RegionData,
    expression: torch.Tensor,
    coordinates: torch.Tensor,
    method: str,
    seed: int,
    folder: Path,
    report: ExplainReport,
) -> list[RepresentationSummary]:
    """Embeddings (when the model has them), raw expression and coordinates, mapped and scored."""
    networks = regions.network
    drawn: list[RepresentationSummary] = []
    scored: list[RepresentationSummary] = []
    if task.network.has_embeddings:
        with torch.no_grad():
            embeddings = task.region_embeddings(expression, coordinates).float().numpy()
        _save_array(folder / "embeddings.npy", embeddings, report)
        drawn.append(summarize(f"{class_name} embedding", embeddings, networks, method, seed))
        encoder = getattr(task.network, "encoder", None)
        if encoder is not None and getattr(encoder, "use_cls", False):
            # The [CLS] output is computed from coordinates alone; without it the score shows what the gene
            # tokens carry.
            width = int(encoder.output_projection.out_features)
            scored.append(summarize("embedding without [CLS]", embeddings[:, width:], networks, method, seed))
    else:
        report.limitations.append(
            f"{class_name} has no region embedding (it only sees raw pair inputs): no "
            "embeddings.npy; the map shows raw expression only"
        )
    drawn.append(summarize("raw expression", regions.expression, networks, method, seed))
    scored.append(summarize("MNI coordinates", regions.coordinates, networks, "pca", seed))
    rows = []
    for item in drawn + scored:
        report.silhouettes[item.name] = (item.silhouette, item.silhouette_map)
        rows.append(
            {
                "representation": item.name,
                "dimensions": item.features.shape[1],
                "silhouette": item.silhouette,
                "silhouette_map": item.silhouette_map,
                "map_method": method if item in drawn else "pca",
            }
        )
    report.files.append(
        write_csv(
            folder / "silhouette.csv",
            rows,
            ["representation", "dimensions", "silhouette", "silhouette_map", "map_method"],
        )
    )
    return drawn


def _export_attention(
    network: Any,
    regions: RegionData,
    expression: torch.Tensor,
    coordinates: torch.Tensor,
    top: int,
    chunk_size: int,
    folder: Path,
    report: ExplainReport,
    title: str,
    heads: bool = False,
) -> None:
    """Average the SMT attention globally and per network; write arrays, token genes, top tokens, figures."""
    encoder = network.encoder
    layout = TokenLayout(
        int(encoder.token_size), bool(encoder.use_cls), regions.gene_symbols, regions.gene_chromosomes
    )
    attention = attention_summary(network, expression, coordinates, chunk_size)
    last_layer, layers = attention.last_layer, attention.layers
    global_map = last_layer.mean(axis=0)
    names = sorted(set(regions.network.tolist()))
    by_network = np.stack([last_layer[regions.network == name].mean(axis=0) for name in names])
    _save_array(folder / "attention_last_layer_global.npy", global_map, report)
    _save_array(folder / "attention_last_layer_by_network.npy", by_network, report)
    _save_array(folder / "attention_layers_global.npy", layers, report)
    counts = {name: int((regions.network == name).sum()) for name in names}
    report.files.append(
        write_csv(
            folder / "attention_networks.csv",
            [
                {"index": index, "network": name, "num_regions": counts[name]}
                for index, name in enumerate(names)
            ],
            ["index", "network", "num_regions"],
        )
    )
    report.files.append(
        write_csv(
            folder / "attention_tokens.csv",
            [
                {
                    "position": position,
                    "token": layout.name(position),
                    "chromosomes": ";".join(layout.chromosomes(position)),
                    "genes": ";".join(layout.genes(position).tolist()),
                }
                for position in range(layout.num_tokens)
            ],
            ["position", "token", "chromosomes", "genes"],
        )
    )
    rows = top_tokens(global_map, layout, "global", top)
    for name, attention_map in zip(names, by_network, strict=True):
        rows += top_tokens(attention_map, layout, name, top)
    report.files.append(write_csv(folder / "top_tokens.csv", rows, list(rows[0])))
    _save_figure(
        global_attention_figure(
            global_map,
            layout,
            f"{title}: {layout.num_tokens} tokens of "
            f"{layout.token_size} genes, {expression.shape[0]} regions",
        ),
        folder / "attention_global.png",
        report,
    )
    if heads:
        _save_array(folder / "attention_last_layer_heads.npy", attention.last_layer_heads, report)
        _save_figure(
            attention_grid_figure(
                attention.last_layer_heads,
                [f"head {index}" for index in range(attention.last_layer_heads.shape[0])],
                layout,
                f"{title}: last-layer attention per head, mean over regions",
            ),
            folder / "attention_heads.png",
            report,
        )
    _save_figure(
        attention_grid_figure(
            by_network,
            [f"{name} ({counts[name]} regions)" for name in names],
            layout,
            f"{title}: last-layer attention by network, minus the global map",
            reference=global_map,
        ),
        folder / "attention_by_network.png",
        report,
    )
