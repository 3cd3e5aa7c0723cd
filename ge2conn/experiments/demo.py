"""``ge2conn demo`` (``make demo``): train and test a small SMT+[CLS] on dk82 (random split, fold 0) on CPU.

The paper trains the full-size SMT (d_model 128, 4 layers) for 110 epochs at learning rate 1e-4 on a GPU. The
demo trains the small SMT+[CLS] of the shipped checkpoint (``configs/smt_cls_small.yaml``: d_model 64,
2 layers) with region-block batches (``data.sampler: blocks``) for a short CPU schedule (``--epochs``,
default 20, learning rate 3e-4). The paper-scale run is ``ge2conn fit --config configs/smt_cls.yaml``.
"""

from __future__ import annotations

import argparse
import os
import tempfile

from rich.console import Console

from ge2conn import api
from ge2conn.metrics import HEADLINE_METRIC_NAMES
from ge2conn.metrics.table import print_metric_table


def main(argv: list[str] | None = None) -> int:
    """Run the demo.

    Args:
        argv: Command-line arguments (see ``ge2conn demo --help``).

    Returns:
        The exit status.
    """
    parser = argparse.ArgumentParser(
        prog="ge2conn demo",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", default="dk82", help="dataset name or .h5 path (default: dk82)")
    parser.add_argument(
        "--epochs", type=int, default=20, help="training epochs (default: 20; the paper uses 110)"
    )
    parser.add_argument(
        "--learning-rate", type=float, default=3e-4, help="AdamW learning rate (default: 3e-4; paper: 1e-4)"
    )
    parser.add_argument("--seed", type=int, default=0,
                        help="seed_everything: initialisation, dropout and batch order (default: 0)")
    parser.add_argument("--fold", type=int, default=0,
                        help="outer fold of the random split, 0-3 (default: 0)")
    parser.add_argument("--output", default=None,
                        help="keep logs and checkpoints here (default: a temporary folder, removed)")
    args = parser.parse_args(argv)
    console = Console()
    if args.output is None:
        with tempfile.TemporaryDirectory(prefix="ge2conn-demo-") as scratch:
            return _run(args, console, scratch, keep=False)
    return _run(args, console, args.output, keep=True)


def _run(args: argparse.Namespace, console: Console, output: str, keep: bool) -> int:
    console.print(
        f"[bold]ge2conn demo[/bold]: small SMT+[CLS] (d_model 64, 2 layers) on {args.dataset}, random split "
        f"fold {args.fold}, seed {args.seed}, region-block batches, {args.epochs} CPU epochs at lr "
        f"{args.learning_rate:g} (paper: full size, 110 epochs at 1e-4 on a GPU).",
        soft_wrap=True,
    )
    torch_threads = os.cpu_count() or 1
    run = api.fit_and_test(
        ["configs/smt_cls_small.yaml", "configs/trainer/cpu.yaml"],
        {
            "data.dataset": args.dataset,
            "data.sampler": "blocks",
            "data.fold": args.fold,
            "seed_everything": args.seed,
            "trainer.max_epochs": args.epochs,
            "model.init_args.learning_rate": args.learning_rate,
            "trainer.default_root_dir": output,
            "trainer.enable_model_summary": False,
        },
    )
    results = run.metrics
    elapsed = results["wall_time_s"]
    shown = {f"test/{name}": results[f"test/{name}"] for name in HEADLINE_METRIC_NAMES
             if f"test/{name}" in results}
    print_metric_table(console, shown, "test",
                       title=f"small SMT+[CLS] on {args.dataset}: test edges (best-on-validation weights)")
    console.print(f"train + test wall time: {elapsed:.0f} s on {torch_threads} CPU core(s)", soft_wrap=True)
    if keep:
        console.print(f"TensorBoard: tensorboard --logdir {output}", soft_wrap=True, highlight=False)
    else:
        console.print("logs and checkpoints were temporary (removed); keep them with --output runs/demo",
                      soft_wrap=True, highlight=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
