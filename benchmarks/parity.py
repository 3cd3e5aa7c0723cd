"""Accuracy parity of a training option: paired test-r differences over folds × rounds, with a 95% CI.

Each cell (dataset, model, round, fold) is trained twice with everything equal (split, seed, initial weights,
schedule) except one option, ``--option`` (``sampler``: ``uniform`` vs ``blocks``; ``precision``:
``32-true`` vs ``bf16-mixed``). The difference ``test r(candidate) - test r(reference)`` is paired per cell;
the summary gives its mean, a t-based 95% CI over the cells and the decision rule of issue #15: the candidate
may become the default when the mean difference is within ±0.01, or the CI covers 0 with a mean ≥ -0.01.

Results are appended to a JSON-lines file as they finish, so an interrupted sweep resumes where it stopped
(``--summary`` only prints the table of what is there).

Models: ``mlp`` and ``smt`` are the short epoch schedules of the quick Table 1 (the SMT at paper size);
``mlp-steps`` and ``smt-small`` are the step schedules and the CPU SMT of the public Table 1
(``configs/trainer/steps.yaml``: at most 1,500 steps, validation every 25, early stopping).

Run: ``PYTHONPATH=. python benchmarks/parity.py --option sampler --datasets dk82 --models mlp-steps
--rounds 3``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy import stats  # noqa: E402

OPTIONS = {
    "sampler": ("data.sampler", "uniform", "blocks"),
    "precision": ("trainer.precision", "32-true", "bf16-mixed"),
}
"""option → (override key, reference value, candidate value)."""

STEPS = "configs/trainer/steps.yaml"
"""The step schedule of the public Table 1 (1,500 steps at most, early stopping on validation)."""

MODELS: dict[str, tuple[list[str], int, float, dict[str, Any]]] = {
    # name: (configs, epochs (0: the configs' step schedule), learning rate, settings)
    # The short epoch schedules of configs/experiments/table1_quick.yaml:
    "mlp": (["configs/mlp.yaml"], 25, 3e-4, {}),
    "smt": (["configs/smt.yaml"], 10, 5e-4, {}),
    # The step schedules and sizes of configs/experiments/table1_public_learned.yaml (the CPU SMT):
    "mlp-steps": (["configs/mlp.yaml", STEPS], 0, 3e-4, {}),
    "smt-small": (["configs/smt_cls_small.yaml", STEPS], 0, 3e-4, {"model.init_args.use_cls": False}),
}


def run_cell(dataset: str, model: str, split_round: int, fold: int, override: str, value: str, epochs: int,
             extra: list[str]) -> dict[str, Any]:
    """Fit and test one configuration; return its test Pearson r and wall time."""
    from ge2conn import api  # imported late: keeps --summary fast

    configs, default_epochs, learning_rate, model_settings = MODELS[model]
    settings: dict[str, Any] = {
        "data.dataset": dataset, "data.split_round": split_round, "data.fold": fold, override: value,
        "model.init_args.learning_rate": learning_rate, **model_settings,
        "trainer.logger": False, "trainer.enable_progress_bar": False, "trainer.enable_model_summary": False,
    }
    if epochs or default_epochs:
        settings["trainer.max_epochs"] = epochs or default_epochs
    for item in extra:
        key, _, setting = item.removeprefix("--").partition("=")
        settings[key] = setting
    with tempfile.TemporaryDirectory(prefix="ge2conn-parity-") as root:
        settings["trainer.default_root_dir"] = root
        # The CPU preset goes before the step schedule, which must come last to set max_epochs -1.
        result = api.fit_and_test([configs[0], "configs/trainer/cpu.yaml", *configs[1:]], settings)
    return {"test_r": result.metrics["test/pearson"], "wall_s": result.metrics["wall_time_s"],
            "epochs": result.metrics["epochs"]}


def summarize(records: list[dict[str, Any]], option: str) -> str:
    """Markdown table of paired differences and median wall times per (dataset, model) and over everything."""
    _, reference, candidate = OPTIONS[option]
    cells: dict[tuple[str, ...], dict[str, tuple[float, float]]] = defaultdict(dict)
    for record in records:
        if record["option"] != option:
            continue
        key = (record["dataset"], record["model"], str(record["round"]), str(record["fold"]))
        cells[key][record["value"]] = (record["test_r"], record["wall_s"])
    groups: dict[tuple[str, str], list[tuple[float, float, float, float]]] = defaultdict(list)
    for (dataset, model, _, _), values in sorted(cells.items()):
        if reference in values and candidate in values:
            row = (*values[reference], *values[candidate])
            groups[(dataset, model)].append(row)
            groups[("all", "all")].append(row)
    lines = [f"| dataset | model | cells | test r {reference} | test r {candidate} | mean diff | 95% CI | "
             f"rule | median s per fit {reference} / {candidate} |", "|---|---|---|---|---|---|---|---|---|"]
    for (dataset, model), rows in sorted(groups.items(), key=lambda item: item[0] == ("all", "all")):
        reference_r, reference_s, candidate_r, candidate_s = np.array(rows).T
        difference = candidate_r - reference_r
        mean = float(difference.mean())
        if difference.size > 1:
            spread = difference.std(ddof=1) / np.sqrt(difference.size)
            half = float(stats.t.ppf(0.975, difference.size - 1) * spread)
        else:
            half = float("nan")
        low, high = mean - half, mean + half
        passes = abs(mean) <= 0.01 or (low <= 0 <= high and mean >= -0.01)
        lines.append(f"| {dataset} | {model} | {difference.size} | {reference_r.mean():.4f} | "
                     f"{candidate_r.mean():.4f} | {mean:+.4f} | [{low:+.4f}, {high:+.4f}] | "
                     f"{'pass' if passes else 'fail'} | {np.median(reference_s):.0f} / "
                     f"{np.median(candidate_s):.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the sweep (or print the summary) and return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--option", choices=sorted(OPTIONS), default="sampler")
    parser.add_argument("--datasets", nargs="+", default=["dk82"])
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), default=["mlp"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--first-round", type=int, default=0, help="start at this round (split a sweep over "
                        "processes that share --results: one takes rounds 0-1, another --first-round 2)")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=0, help="epochs (default: the model's short schedule)")
    parser.add_argument("--extra", nargs="*", default=[], help="overrides for both arms, e.g. "
                        "--extra=--data.sampler=blocks")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--results", type=Path, default=Path("runs/parity.jsonl"))
    parser.add_argument("--summary", action="store_true", help="only print the summary of --results")
    args = parser.parse_args(argv)
    records = []
    if args.results.exists():
        records = [json.loads(line) for line in args.results.read_text().splitlines() if line.strip()]
    if not args.summary:
        torch.set_num_threads(args.threads)
        override, reference, candidate = OPTIONS[args.option]
        done = {(r["option"], r["dataset"], r["model"], r["round"], r["fold"], r["value"], r["epochs_asked"],
                 tuple(r["extra"])) for r in records}
        args.results.parent.mkdir(parents=True, exist_ok=True)
        for split_round in range(args.first_round, args.rounds):
            for dataset in args.datasets:
                for model in args.models:
                    for fold in range(args.folds):
                        for value in (reference, candidate):
                            key = (args.option, dataset, model, split_round, fold, value, args.epochs,
                                   tuple(args.extra))
                            if key in done:
                                continue
                            start = time.strftime("%H:%M:%S")
                            result = run_cell(dataset, model, split_round, fold, override, value, args.epochs,
                                              args.extra)
                            record = {"option": args.option, "dataset": dataset, "model": model,
                                      "round": split_round, "fold": fold, "value": value,
                                      "epochs_asked": args.epochs, "extra": list(args.extra),
                                      "threads": args.threads, "started": start, **result}
                            records.append(record)
                            with args.results.open("a") as handle:
                                handle.write(json.dumps(record) + "\n")
                            print(json.dumps(record), flush=True)
    print(summarize(records, args.option))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
