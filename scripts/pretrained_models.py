"""The shipped pretrained models: how each is trained (``SPECS``), its card and the cross-atlas table.

Used by ``scripts/make_pretrained.py``, which trains, evaluates and ships them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ge2conn.inference import read_checkpoint
from ge2conn.utils.atomic import atomic_output

REPOSITORY = Path(__file__).resolve().parent.parent
CHECKPOINTS = REPOSITORY / "checkpoints"
WORK = REPOSITORY / "runs" / "pretrained"
"""Trained true/null/distance checkpoints and metrics, reused by later runs (``--retrain`` to redo them)."""
PATIENCE = 10
COMMON_GENES = CHECKPOINTS / "genes_common_dk_schaefer_glasser.txt"
"""The 238 dk82 genes that every r >= 0.6 table (DK, Schaefer-100/300, Glasser-360) also has."""
TARGETS = ("dk82", "schaefer100", "ukbb-s100", "schaefer300", "glasser360")
NULL_SPINS = 1000


@dataclass(frozen=True)
class PretrainedSpec:
    """How one shipped model is trained.

    Attributes:
        dataset: Training dataset name.
        genes: ``"all"`` (every gene of the dataset) or ``"common"`` (:data:`COMMON_GENES`).
        hidden_sizes: MLP hidden widths (small, so that the file stays a few MB).
        description: One line for the card.
    """

    dataset: str
    genes: str
    hidden_sizes: tuple[int, ...]
    description: str


SPECS = {
    "mlp_coords_dk82": PretrainedSpec(
        "dk82",
        "all",
        (32, 32),
        "MLP+coords on all 15,450 dk82 genes: for DK-like tables with abagen's full gene set",
    ),
    "mlp_coords_dk82_common": PretrainedSpec(
        "dk82",
        "common",
        (256, 128),
        "MLP+coords on the 238 genes common to DK, Schaefer-100/300 and Glasser-360: trained on DK",
    ),
    "mlp_coords_schaefer100_common": PretrainedSpec(
        "schaefer100",
        "common",
        (256, 128),
        "MLP+coords on the 238 genes common to DK, Schaefer-100/300 and Glasser-360: trained on Schaefer-100",
    ),
}
LICENCES = {
    "dk82": "ENIGMA HCP FC (BSD-3; acknowledge the HCP), AHBA expression via imaging-transcriptomics 1.1.5 "
    "(GPL-3 data, read at build time; cite the AHBA), abagen DK atlas (BSD-3)",
    "schaefer100": "ENIGMA HCP FC (BSD-3; acknowledge the HCP), AHBA expression via enigma-extra (no licence "
    "file upstream; cite the AHBA)",
}


REPORTED = ("pearson", "spearman", "r2", "mse", "pearson_inter_hemispheric")


def _cell(row: dict[str, Any], role: str, suffix: str = "") -> str:
    key = f"{role}_r{suffix}"
    return f"{row[key]:.2f} / {row[f'{role}_r2{suffix}']:.2f}" if key in row else "–"


def cross_atlas_lines(name: str, rows: list[dict[str, Any]]) -> list[str]:
    """Markdown table rows (model, target, genes, r / R² of true, null and distance models)."""
    lines = []
    for row in rows:
        if "true_r" not in row:
            lines.append(f"| {name} | {row['target']} | {row.get('status', '')} | | | | | | |")
            continue
        genes = row["genes"]
        matched = f"{genes['matched'] + genes['renamed']}/{genes['model_genes']} ({genes['renamed']} renamed)"
        lines.append(
            f"| {name} | {row['target']} ({row['regions']}) | {matched} | {_cell(row, 'true')} | "
            f"{_cell(row, 'null')} | {_cell(row, 'distance')} | {_cell(row, 'true', '_cortex')} | "
            f"{_cell(row, 'null', '_cortex')} | {_cell(row, 'distance', '_cortex')} |"
        )
    return lines


CROSS_ATLAS_HEADER = [
    "| model | target (regions) | genes found | r / R² | null r / R² | distance r / R² | cortex r / R² "
    "| cortex null | cortex distance |",
    "|---|---|---|---|---|---|---|---|---|",
]


def write_card(name: str, spec: PretrainedSpec, card: dict[str, Any], size_bytes: int) -> Path:
    """Write the Markdown model card ``checkpoints/<name>.md``."""
    metric_rows = "\n".join(
        f"| {metric} | {card['test_true'].get(metric, float('nan')):.3f} | "
        f"{card['test_null'].get(metric, float('nan')):.3f} | "
        f"{card['test_distance'].get(metric, float('nan')):.3f} |"
        for metric in REPORTED
    )
    genes = (
        "all 15,450 positioned genes of dk82"
        if spec.genes == "all"
        else f"the {card['genes']} genes of `{COMMON_GENES.name}` (in every r >= 0.6 AHBA table of DK, "
        "Schaefer-100/300 and Glasser-360)"
    )
    text = f"""# {name}

{spec.description}. `{card["model"]}`, {size_bytes / 1e6:.1f} MB, {card["genes"]:,} genes, trained on
`{spec.dataset}`. Load it with `ge2conn.load_model("{name}")` or `ge2conn predict --ckpt_path {name} ...`.

## Training data and licence
`{spec.dataset}` as built by `ge2conn data build {spec.dataset}`: {LICENCES[spec.dataset]}. The checkpoint
holds weights and hyperparameters only (no data beyond the {card["genes"]:,} per-gene training means used to
fill missing genes). ge2conn is BSD-3; cite the sources above when you use predictions from this model.

## Genes
{genes}, in reference TSS order; they are recorded in the checkpoint. Input genes are matched by symbol,
then through the gene reference's aliases; up to 5% may be missing (filled with the training mean).

## Protocol (CPU, float32, seed 0, `scripts/make_pretrained.py {name}`)
`configs/mlp_coords.yaml` with hidden sizes {list(spec.hidden_sizes)}, AdamW lr 3e-4, at most
{card["max_epochs"]} epochs with early stopping (patience {PATIENCE}) on the validation loss; random region
split round 0, fold 0 (25% test, 12.5% of the rest validation). {card["epochs"]} epochs ran in
{card["wall_time_s"]:.0f} s. A short schedule on a shared 2-core CPU, not the paper's 110 GPU epochs with
nested tuning. Chance level: the same model trained on the best of {NULL_SPINS:,} CGE-matched spin null
brains (true FC). Distance baseline: exponential decay fitted on the same training edges.

## Test metrics (outer test regions of fold 0, each unordered pair once)

| metric | true brain | null brain | distance |
|---|---|---|---|
{metric_rows}

## Cross-atlas prediction (expression + coordinates only; r / R² against the real HCP FC, all pairs)

{chr(10).join(CROSS_ATLAS_HEADER + cross_atlas_lines(name, card["cross_atlas"]))}

## Intended use
Predicting a population-average (HCP young adult, Fisher-z) functional connectome for a parcellation that has
AHBA expression and MNI centroids but no FC, and comparing it with the chance and distance rows above.

## Limits
- One split, one short CPU schedule, one seed: the test metrics carry the fold-to-fold spread of the
  quick Table 1 (SD ~0.1-0.15 in r).
- Much of the skill is spatial: compare with the null and distance columns before reading biology into it.
- Expression must be processed like the training data (abagen-style, scaled to [0, 1] per gene); other
  normalizations shift the inputs. Predictions are in the training FC's units (Fisher z; see the dataset's
  `fc_transform`), with a 0 diagonal.
- Not a model of individuals, of other ages or species, or of task FC.
"""
    path = CHECKPOINTS / f"{name}.md"
    with atomic_output(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return path


def write_table() -> Path:
    """Rewrite ``checkpoints/cross_atlas.md`` (models and cross-atlas tables) from the shipped cards."""
    models = [
        "| model | trained on | genes | size | test r: true / null brain / distance | card |",
        "|---|---|---|---|---|---|",
    ]
    cross = list(CROSS_ATLAS_HEADER)
    for path in sorted(CHECKPOINTS.glob("*.ckpt")):
        card = read_checkpoint(path).get("ge2conn_card")
        if not card:
            continue
        models.append(
            f"| `{path.stem}` | {SPECS[path.stem].dataset} | {card['genes']:,} | "
            f"{path.stat().st_size / 1e6:.1f} MB | {card['test_pearson_true']:.2f} / "
            f"{card['test_pearson_null']:.2f} / {card['test_distance']['pearson']:.2f} | "
            f"[{path.stem}.md]({path.stem}.md) |"
        )
        cross += cross_atlas_lines(path.stem, card["cross_atlas"])
    lines = [
        "# Shipped models and their cross-atlas prediction",
        "",
        "Made by `scripts/make_pretrained.py --table` from the cards in the checkpoints.",
        "",
        *models,
        "",
        *cross,
    ]
    destination = CHECKPOINTS / "cross_atlas.md"
    with atomic_output(destination) as temporary:
        temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return destination
