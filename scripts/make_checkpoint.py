"""Regenerate the shipped checkpoint ``checkpoints/smt_cls_dk82.ckpt`` and its ``checkpoints/README.md``.

Trains the small SMT+[CLS] (``configs/smt_cls_small.yaml``) on dk82, random split round 0 fold 0, on the CPU,
tests the best-on-validation weights on the outer test regions, and copies the best checkpoint into
``checkpoints/`` atomically. Optimizer, scheduler and loop states are dropped from the copy: they are only
needed to resume training and would triple the file size; ``ge2conn predict``/``test``/``explain`` read the
weights and hyperparameters only.

Usage (from the repository root, dk82 built with ``ge2conn data build dk82``)::

    PYTHONPATH=. python scripts/make_checkpoint.py [--epochs 40] [--output checkpoints]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parent.parent
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))

from ge2conn.api import fit_and_test  # noqa: E402
from ge2conn.inference.shipping import best_checkpoint_path, save_checkpoint, stripped_checkpoint  # noqa: E402
from ge2conn.metrics import HEADLINE_METRIC_NAMES  # noqa: E402

CONFIG_FILES: list[str | Path] = [
    "configs/smt_cls_small.yaml",
    "configs/trainer/cpu.yaml",
    "configs/data/dk82.yaml",
]
CHECKPOINT_NAME = "smt_cls_dk82.ckpt"


def write_readme(
    folder: Path, metrics: dict[str, float], checkpoint: dict[str, Any], epochs: int, size_bytes: int
) -> None:
    """Describe how the checkpoint was made and its test metrics in ``folder/README.md``.

    Args:
        folder: The checkpoints folder.
        metrics: Metrics of the run (``test/...``, ``best_val_loss``, ``epochs``, ``wall_time_s``).
        checkpoint: The shipped checkpoint (its hyperparameters and best epoch are described).
        epochs: Requested maximum number of epochs.
        size_bytes: Size of the checkpoint file.
    """
    rows = "\n".join(
        f"| {name} | {metrics[f'test/{name}']:.4f} |"
        for name in HEADLINE_METRIC_NAMES
        if f"test/{name}" in metrics
    )
    model = checkpoint["hyper_parameters"]
    described = ", ".join(
        f"{name} {model[name]}"
        for name in (
            "token_size",
            "d_model",
            "d_out",
            "num_layers",
            "num_heads",
            "decoder_hidden_sizes",
            "learning_rate",
            "num_genes",
            "num_regions",
        )
    )
    text = f"""# Shipped checkpoints

`{CHECKPOINT_NAME}` ({size_bytes / 1e6:.1f} MB) is a small SMT+[CLS] trained on dk82 (HCP group FC and AHBA
expression of the 82 Desikan-Killiany regions). Regenerate it (10-20 minutes on a busy 2-core CPU) with

    PYTHONPATH=. python scripts/make_checkpoint.py --epochs {epochs}

- Model: `configs/smt_cls_small.yaml`, CPU, float32, seed 0:
  {described}.
- Data: `configs/data/dk82.yaml`, random region split round 0, fold 0 (25% of regions test; 12.5% of the
  rest validate). Early stopping, the LR schedule and the kept weights only saw validation regions.
- {int(metrics["epochs"])} epochs ran (at most {epochs}, early stopping patience 20); the kept weights are
  those of epoch {int(checkpoint["epoch"])}, best validation loss {metrics["best_val_loss"]:.4f}; wall time
  {metrics["wall_time_s"]:.0f} s.
- The file keeps weights and hyperparameters only (no optimizer state): it serves `ge2conn predict`,
  `ge2conn test` and `ge2conn explain`, not resuming training.

Test metrics (outer test regions of fold 0, each unordered pair once; NaN: too few edges in the stratum):

| metric | value |
|---|---|
{rows}

Usage:

    ge2conn predict --config configs/smt_cls.yaml --ckpt_path checkpoints/{CHECKPOINT_NAME} \\
        --prediction.output pred.npy
    ge2conn explain checkpoints/{CHECKPOINT_NAME} --output explain_dk82

(`predict` takes the model's sizes from the checkpoint, so the paper-size `configs/smt_cls.yaml` works as
well as `configs/smt_cls_small.yaml`.)
"""
    (folder / "README.md").write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Train, test and ship the checkpoint.

    Args:
        argv: Command-line arguments (see ``--help``).

    Returns:
        The exit status.
    """
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=40, help="maximum training epochs (default 40)")
    parser.add_argument("--output", type=Path, default=REPOSITORY / "checkpoints", help="destination folder")
    args = parser.parse_args(argv)
    os.chdir(REPOSITORY)  # the config paths are relative to the repository root
    with tempfile.TemporaryDirectory(prefix="ge2conn-checkpoint-") as workdir:
        run = fit_and_test(
            CONFIG_FILES,
            {
                "data.split": "random",
                # The shipped checkpoint was trained on uniform batches, before blocks became this config's
                # default: kept so that the script still rebuilds the same file.
                "data.sampler": "uniform",
                "data.split_round": 0,
                "data.fold": 0,
                "seed_everything": 0,
                "trainer.max_epochs": args.epochs,
                "trainer.default_root_dir": str(workdir),
                "trainer.enable_model_summary": False,
                "trainer.enable_progress_bar": False,
                "trainer.logger": False,
            },
        )
        try:
            shipped = stripped_checkpoint(best_checkpoint_path(run.trainer))
        except RuntimeError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        destination = save_checkpoint(shipped, args.output / CHECKPOINT_NAME)
    write_readme(args.output, run.metrics, shipped, args.epochs, destination.stat().st_size)
    print(f"wrote {destination} ({destination.stat().st_size / 1e6:.2f} MB); test metrics:")
    for name in HEADLINE_METRIC_NAMES:
        if f"test/{name}" in run.metrics:
            print(f"  {name}: {run.metrics[f'test/{name}']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
